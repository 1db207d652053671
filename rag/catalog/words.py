"""How a question becomes a word query: the same words for FTS5 and PostgreSQL."""

import re

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how i in is it its of on or that the"
    " this to was were what when where which who whom whose why will with".split()
)


def query_words(query: str) -> list[str]:
    """The query's words but the most common ones, once each, in order."""
    return list(dict.fromkeys(w for w in _WORD.findall(query.lower()) if w not in STOPWORDS))


def phrase_words(phrase: str) -> list[str]:
    return _WORD.findall(phrase.lower())
