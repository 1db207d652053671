"""Text rules every part shares: sentences, words and citation markers. One definition of each, so that what
the retriever, the answer checks and the evals call a sentence or a word is the same thing."""

import re

from sentencex import segment

MARKER = re.compile(r"\[(\d+)\]")  # a citation in an answer: [1]
WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def sentences(text: str) -> list[str]:
    """A passage's sentences (Wikimedia's sentencex: abbreviations, numbers, decimals and many scripts'
    terminators), with a PDF's line breaks inside a paragraph joined (and words hyphenated across them)."""
    text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)
    text = re.sub(r"[ \t]*(?<!\n)\n(?!\n)[ \t]*", " ", text)
    return [" ".join(s.split()) for part in re.split(r"\n{2,}", text) for s in segment("en", part) if s.strip()]


def spans(text: str) -> list[str]:
    """An answer cut into its sentences, each with the white space after it, so that the pieces join back into
    the text; a line is never joined to the next (a list item is one)."""
    starts: list[int] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        at = 0
        for sentence in segment("en", line):
            sentence = sentence.strip()
            found = line.find(sentence, at) if sentence else -1
            if found >= 0:
                starts.append(offset + found)
                at = found + len(sentence)
        offset += len(line)
    if not starts:
        return [text] if text else []
    bounds = [0, *starts[1:], len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]
