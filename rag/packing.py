"""Context packing: the sentences of the best passages that bear on the question, within the token budget.

Whole chunks spend the model's few hundred tokens of context on sentences beside the one that answers;
choosing sentences from twice as many passages puts more of the places an answer may stand into the same
budget (docs/BENCHMARKS.md, issue 25). Sentences are scored by the encoder (cosine to the question, each
read after its document's name and headings, as chunks are), nudged by their passage's rank.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.chunks import Chunk
from rag.text import sentences

RANK_WEIGHT = 0.05  # a sentence of the first passage outranks one of the fifth as ~0.04 of cosine does


def _title(chunk: Chunk) -> str:
    return " ".join(filter(None, [Path(chunk.source).stem, chunk.headings]))


def pack(question_vector, chunks: list[Chunk], budget: int, embedder, keep_first: bool = True) -> list[Chunk]:
    """The chunks, best first, each cut down to its chosen sentences (in their order, a gap marked "…");
    those with none chosen are left out. The first chunk is kept whole when `keep_first`."""
    items = [(n, s) for n, c in enumerate(chunks) for s in (sentences(c.text) or [c.text.strip()])]
    if not items:
        return chunks
    vectors = embedder.embed([f"{_title(chunks[n])}\n{s}" for n, s in items])
    scores = np.asarray(vectors) @ np.asarray(question_vector)
    scores = scores - RANK_WEIGHT * np.log1p([n for n, _ in items])
    count = embedder.count_tokens
    chosen: set[int] = set()
    used = 0
    if keep_first:
        first = [i for i, (n, _) in enumerate(items) if n == 0]
        used = count(chunks[0].text)
        chosen.update(first)
    for i in np.argsort(-scores, kind="stable"):
        if i in chosen:
            continue
        tokens = count(items[i][1])
        if used + tokens <= budget:
            chosen.add(int(i))
            used += tokens
    out = []
    for n, chunk in enumerate(chunks):
        picked = [i for i, (m, _) in enumerate(items) if m == n]
        kept = [i for i in picked if i in chosen]
        if not kept:
            continue
        if len(kept) == len(picked):
            out.append(chunk)
            continue
        parts, last = [], None
        for i in kept:
            if last is not None and i != last + 1:
                parts.append("…")
            parts.append(items[i][1])
            last = i
        if kept[0] != picked[0]:
            parts.insert(0, "…")
        out.append(replace(chunk, text=" ".join(parts)))
    return out
