"""Which sources an answer drew on, and the sentence of each that supports it."""

from dataclasses import dataclass
from pathlib import Path

from rag.answer.grounding import check, holds
from rag.chunks import Chunk
from rag.text import MARKER, sentences, words


@dataclass
class Citation:
    number: int
    document_id: str
    source: str
    name: str
    page: int | None
    headings: str
    excerpt: str


def supporting_excerpt(answer: str, passage: Chunk, limit: int = 300) -> str:
    """The sentence of the passage that shares the most words with the answer, whole: one longer than
    `limit` is cut at a word and marked so, as is one the passage starts in the middle of."""
    said = words(answer)
    found = sentences(passage.text) or [passage.text.strip()]
    best = max(found, key=lambda s: len(said & words(s)))
    if best is found[0] and best[:1].islower():  # the chunk began inside this sentence
        best = "… " + best
    if len(best) > limit:
        best = best[: best.rfind(" ", 0, limit - 1)].rstrip(",;:") + " …"
    return best


def passage_opening(passage: Chunk, limit: int = 200) -> str:
    """The passage's first whole sentences within `limit` characters (what a stream's sources event shows)."""
    shown = ""
    for sentence in sentences(passage.text) or [passage.text.strip()]:
        if shown and len(shown) + 1 + len(sentence) > limit:
            break
        shown = f"{shown} {sentence}".strip()
    return shown if len(shown) <= limit else shown[: shown.rfind(" ", 0, limit - 1)].rstrip(",;:") + " …"


def cite(answer: str, passages: list[Chunk]) -> list[Citation]:
    """The passages the answer marks, or the one it shares most words with; then, for each figure or name
    of the answer those lack, the first passage that holds it: small models mark one source and take
    figures from three (on docugami, 29 of 37 long answers stated a figure their marked passages lack; 8
    one the whole context lacks)."""
    numbers = [int(n) for n in MARKER.findall(answer) if 1 <= int(n) <= len(passages)]
    if not numbers and passages:  # the model answered without a marker: credit the passage it drew on
        said = words(answer)
        overlap = [len(said & words(p.text)) for p in passages]
        numbers = [overlap.index(max(overlap)) + 1]
    numbers += _holding(answer, passages, numbers)
    citations = []
    for n in dict.fromkeys(numbers):
        p = passages[n - 1]
        citations.append(Citation(n, p.document_id, p.source, Path(p.source).name, p.page, p.headings,
                                  supporting_excerpt(answer, p)))
    return citations


def _holding(answer: str, passages: list[Chunk], numbers: list[int]) -> list[int]:
    """Numbers of further passages that hold the answer's figures and names the cited ones lack."""
    missing = check(answer, [passages[n - 1] for n in numbers]).unsupported if numbers else []
    more: list[int] = []
    for fact in missing:
        holder = next((n for n, p in enumerate(passages, start=1) if holds(p, fact)), None)
        if holder is not None and holder not in numbers and holder not in more:
            more.append(holder)
    return more


def with_markers(text: str, citations: list[Citation]) -> str:
    """The answer with the markers of the sources it cites but does not mark, at the end."""
    marked = {int(n) for n in MARKER.findall(text)}
    unmarked = [c.number for c in citations if c.number not in marked]
    return f"{text} " + " ".join(f"[{n}]" for n in unmarked) if unmarked else text
