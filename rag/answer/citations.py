"""Which sources an answer drew on, and the sentence of each that supports it."""

import re
from dataclasses import dataclass
from pathlib import Path

from rag.chunks import Chunk

MARKER = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"\w+")


@dataclass
class Citation:
    number: int
    document_id: str
    source: str
    name: str
    page: int | None
    headings: str
    excerpt: str


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def supporting_excerpt(answer: str, passage: Chunk, limit: int = 300) -> str:
    """The sentence of the passage that shares the most words with the answer."""
    said = words(answer)
    best = max(sentences(passage.text) or [passage.text], key=lambda s: len(said & words(s)))
    return best[:limit]


def cite(answer: str, passages: list[Chunk]) -> list[Citation]:
    numbers = [int(n) for n in MARKER.findall(answer) if 1 <= int(n) <= len(passages)]
    if not numbers and passages:  # the model answered without a marker: credit the passage it drew on
        said = words(answer)
        overlap = [len(said & words(p.text)) for p in passages]
        numbers = [overlap.index(max(overlap)) + 1]
    citations = []
    for n in dict.fromkeys(numbers):
        p = passages[n - 1]
        citations.append(Citation(n, p.document_id, p.source, Path(p.source).name, p.page, p.headings,
                                  supporting_excerpt(answer, p)))
    return citations


def with_markers(text: str, citations: list[Citation]) -> str:
    """The answer with its sources' markers at the end when the model wrote none."""
    if not citations or MARKER.search(text):
        return text
    return f"{text} " + " ".join(f"[{c.number}]" for c in citations)
