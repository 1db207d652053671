"""Text rules every part shares: sentences, words, names, figures, negations and citation markers. One
definition of each, so that what the retriever, the answer checks, the cache and the evals call a sentence, a
word or a name is the same thing. None is an English word list but the negations (the cache's guard)."""

import re
from functools import lru_cache

from sentencex import segment

from rag.language import maybe_english

MARKER = re.compile(r"\[(\d+)\]")  # a citation in an answer: [1]
WORD = re.compile(r"\w+", re.UNICODE)
FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_CANDIDATE = re.compile(r"(?<![\w&'’-])[^\W\d_][\w&'’-]*", re.UNICODE)  # a word that starts with a letter
_OPENERS = "\"'“‘(["
NEGATIONS = frozenset("not no never none nothing nobody neither nor without cannot n't".split())


# The word index's terms (FTS5 and PostgreSQL alike): letters and digits, the commonest question words left out.
_TERM = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how i in is it its of on or that the"
    " this to was were what when where which who whom whose why will with".split()
)


# Chinese and Japanese are written without spaces: the word index reads their runs as overlapping pairs of
# characters (most of their words are one or two), the same on the text indexed and on the question.
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _pairs(run: str) -> str:
    return run if len(run) < 2 else " ".join(run[i:i + 2] for i in range(len(run) - 1))


# Only English text is stemmed in the index (Snowball's English stemmer: "companies" and "company" are one
# word), and only text that may be English (rag.language): German or Russian words cut by English suffix rules
# would run together. The stems are words of their own, marked (STEM + stem), after the text's words as written:
# only an English question's stems match them. Unmarked, the German article "die" found every English passage
# that says "died" (its stem): XQuAD's German questions over English articles lost 7 points of answer-recall.
STEM = "0"  # no word of the text starts so: the index's tokens are letters and digits, and a stem is letters
_SAMPLE = 2000  # the characters a text's language is told by


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _with_stems(words: list[str], sample: str) -> list[str]:
    """The words, then the marked English stems of those that are letters only, when `sample` may be English."""
    if not words or not maybe_english(sample[:_SAMPLE]):
        return words
    letters = [w for w in words if w.isalpha()]
    return words + [STEM + stem for stem in _stemmer().stemWords(letters)]


def _words(text: str) -> list[str]:
    paired = _CJK_RUN.sub(lambda m: f" {_pairs(m.group())} ", text) if _CJK_RUN.search(text) else text
    return _TERM.findall(paired.lower())


def index_terms(text: str) -> str:
    """What the word index reads of a text: its words, lower-cased, then their English stems where it may be
    English (after the words: a name's words stay next to each other, for phrase searches); CJK runs as pairs
    of characters."""
    return " ".join(_with_stems(_words(text), text))


def query_words(query: str) -> list[str]:
    """A question's terms for the word index but the commonest, once each, in order, then their English stems
    where it may be English."""
    return list(dict.fromkeys(_with_stems([w for w in _words(query) if w not in STOPWORDS], query)))


def phrase_words(phrase: str) -> list[str]:
    """A name's words as the index holds them, unstemmed: every text keeps its words as written."""
    return _words(phrase)


def opens_sentence(text: str, at: int) -> bool:
    """Whether the word at `at` is the first of its sentence (or line, or of a quotation opening one)."""
    before = text[:at].rstrip(" \t").rstrip(_OPENERS).rstrip(" \t")
    return not before or before[-1] in ".!?:;\n"


def names(text: str) -> list[str]:
    """Words capitalised where a sentence does not make them so: inside a sentence, not opening it. A
    possessive is dropped (Apple's: Apple); a word holding a digit is a figure (Q3, 10-Qs), a single letter
    is no name."""
    found = []
    for match in _CANDIDATE.finditer(text):
        word = re.sub(r"['’]s$", "", match.group()).rstrip("'’-&")
        if (len(word) > 1 and word[0].isupper() and not any(c.isdigit() for c in word)
                and not opens_sentence(text, match.start())):
            found.append(word)
    return list(dict.fromkeys(found))


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


TABLE_ROW = " | "  # what a table's row holds between its cells (ingest.tables): a row is a sentence of its own


def sentences(text: str) -> list[str]:
    """A passage's sentences (Wikimedia's sentencex: abbreviations, numbers, decimals and many scripts'
    terminators), with a PDF's line breaks inside a paragraph joined (and words hyphenated across them); each
    table row is one."""
    text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)
    found = []
    for part in re.split(r"\n{2,}", text):
        for block in _rows_apart(part):
            found += [" ".join(s.split()) for s in segment("en", block) if s.strip()]
    return found


def _rows_apart(paragraph: str) -> list[str]:
    """The paragraph's runs of lines, joined, with each table row alone."""
    blocks, run = [], []
    for line in paragraph.split("\n"):
        if TABLE_ROW in line:
            blocks += [" ".join(run), line] if run else [line]
            run = []
        else:
            run.append(line.strip())
    return [b for b in blocks + [" ".join(run)] if b.strip()]


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
