"""Is an answer supported by the passages it cites? A check on the answer's own text against the sources,
with no English word list: figures and capitalised names must occur in the cited passages (or the
question), and most of its words must too.

Why these two: a small model that misreads its sources mostly invents a figure or a name, or writes a
phrase of its own; an extractive answer copies the source. Capitals opening a sentence are not names,
and answers of one or two words are not held to the share of words: on CMU the first version of this
check failed seven correct "Yes"/"No" answers (docs/BENCHMARKS.md). The check cannot see a wrong span copied from
the right passage; the model's hesitation (rag.answer.refusal) is the signal for that.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from rag.chunks import Chunk
from rag.text import FIGURE as _FIGURE
from rag.text import MARKER, WORD, names

_LIST_ITEM = re.compile(r"^\s*(?:[-*•]\s*)?\d{1,2}[.)]\s+", re.MULTILINE)


@dataclass
class Grounding:
    unsupported: list[str]  # figures and names of the answer the sources do not contain
    support: float  # share of the answer's words (3+ letters or any figure) found in the cited passages

    def ok(self, min_support: float) -> bool:
        return not self.unsupported and self.support >= min_support

    def detail(self) -> str:
        missing = f"not in its sources: {', '.join(self.unsupported[:5])}; " if self.unsupported else ""
        return f"{missing}{self.support:.0%} of its words are in its sources"


def _figure(text: str) -> str:
    return text.replace(",", "").rstrip(".").lstrip("0") or "0"


def _as_shown(p: Chunk) -> str:
    """A passage as the prompt shows it (rag.answer.prompt): "Document:" and its name, page and headings are
    the model's to cite ("(Document 2023 Q1 AMZN)" is no invented name)."""
    return " ".join(filter(None, [f"Document: {Path(p.source).stem}", f"page {p.page}" if p.page else "",
                                  p.headings, p.text]))


def holds(passage: Chunk, fact: str) -> bool:
    """Whether the passage, as the prompt shows it, has this figure or name (one `check` reported)."""
    shown = _FIGURE.sub(lambda m: _figure(m.group()), _as_shown(passage))
    if _FIGURE.fullmatch(fact):
        return fact in set(_FIGURE.findall(shown))
    return set(WORD.findall(fact.lower())) <= set(WORD.findall(shown.lower()))


def check(answer: str, passages: list[Chunk], question: str = "") -> Grounding:
    """`passages` are those the answer cites (all of the context when it cites none)."""
    answer = _LIST_ITEM.sub("", MARKER.sub(" ", answer))  # "1. ", "2) ": the answer's own numbering
    answer = _FIGURE.sub(lambda m: _figure(m.group()), answer)
    source = _FIGURE.sub(lambda m: _figure(m.group()), " ".join(map(_as_shown, passages)) + " " + question)
    lowered = source.lower()
    known_words = set(WORD.findall(lowered))
    known_figures = set(_FIGURE.findall(source))
    unsupported = [f for f in dict.fromkeys(_FIGURE.findall(answer)) if f not in known_figures]
    for name in names(answer):
        parts = WORD.findall(name.lower())
        if parts and not all(p in known_words for p in parts):
            unsupported.append(name)
    said = [w for w in WORD.findall(answer.lower()) if len(w) >= 3 or w.isdigit()]
    # A word or two ("Yes", "No", a date) is not extractive text whose share of source words means anything.
    support = sum(w in known_words for w in said) / len(said) if len(said) >= 3 else 1.0
    return Grounding(unsupported, support)
