"""Every heuristic about a question's form, in one place: the answer style it gets and the names it asks
about. They go by the question's wording (English); rag.answer and rag.retrieval call them."""

import re

from rag import text
from rag.language import maybe_english

_AUX = r"(?:has|have|had|do|does|did|is|are|was|were|can|could|might|may|would|should|will)"
_OPEN_QUESTION = re.compile(
    # Only forms seen on at least three of the five dev sets (issue 25: thirteen more fired on one or two,
    # mostly docugami's wording, and were dropped). Instructions, and why / how-did questions, also after a leading
    # clause ("In the 2023 report, compare ...")
    r"(?:^|[,;:]\s)\W*(?:why|describe|explain|summari[sz]e|outline|discuss|compare|contrast|elaborate|analy[sz]e|"
    rf"assess|evaluate|examine|list|identify|correlate|combine|align)\b|(?:^|[,;:]\s)\W*how {_AUX}\b"
    # changes, effects and causes, connections
    r"|\b(?:how|in what ways?) (?:\S+ ){0,10}?(?:changed?|evolved?|compared?|compares|relates?|correlates?|"
    r"affect(?:ed|s)?|impact(?:ed|s)?|differ)\b"
    r"|\bwhat (?:\w+ ){0,2}(?:changes|shifts|trends|patterns)\b"
    r"|\b(?:what|which) (?:is|are|was|were|has been|have been) the (?:\w+ )?(?:impact|effects?|implications?|role|"
    r"factors|drivers|reasons|causes|consequences)\b"
    r"|\b(?:what|which) (?:\w+ )?(?:role|factors|drivers|reasons|implications|relationship|insights|details|effects|"
    r"impacts|consequences)\b"
    r"|^\W*what (?:are|were) the (?:main|key|principal|major|primary) \w+s\b"
    # several asks in one question
    r"|,? and (?:what|how|why|which) \w",
    re.IGNORECASE,
)


def answer_style(question: str, style: str = "auto") -> str:
    """short (a phrase) or long (a few sentences); auto picks long for questions a phrase cannot answer: why
    and how-did questions, instructions (describe, compare...), changes, trends, effects and their causes,
    several asks at once. It goes by the question's form only, in English: a question surely in another
    language is answered short unless asked otherwise (style)."""
    if style != "auto":
        return style
    return "long" if _OPEN_QUESTION.search(question) and maybe_english(question) else "short"


def names(question: str) -> list[str]:
    """The names a question asks about, as far as capitals tell (rag.text.names)."""
    return text.names(question.strip())
