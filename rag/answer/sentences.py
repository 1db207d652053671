"""An answer cut into its sentences, each with the white space after it: the pieces join back into the text."""

from sentencex import segment


def spans(text: str) -> list[str]:
    """Sentences (Wikimedia's sentencex, which knows abbreviations and decimals); a line is never joined to the
    next (a list item is one)."""
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
