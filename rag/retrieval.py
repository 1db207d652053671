"""Hybrid retrieval: dense (vector store) + lexical (FTS5), fused by reciprocal rank, merged, budgeted."""

import re
from dataclasses import dataclass, replace

from rag.embeddings import threshold
from rag.chunks import Chunk
from rag.packing import pack
from rag.question import names


@dataclass
class Retrieved:
    passages: list[Chunk]  # what goes to the model, best first, within the token budget
    best_similarity: float  # cosine of the best dense hit: how relevant the store is at all


def reciprocal_rank_fusion(rankings: list[list[Chunk]], weights: list[float], k: int = 60) -> list[Chunk]:
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, chunk in enumerate(ranking):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + weight / (k + rank + 1)
            chunks.setdefault(chunk.id, chunk)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [replace(chunks[i], score=scores[i]) for i in order]


def _same_place(a: Chunk, b: Chunk) -> bool:
    return a.document_id == b.document_id and a.page == b.page


def merge_overlapping(chunks: list[Chunk]) -> list[Chunk]:
    """Join chunks of the same page/document whose spans overlap or touch; drop exact repeats."""
    merged: list[Chunk] = []
    seen_text: set[str] = set()
    for chunk in chunks:
        key = re.sub(r"\W+", " ", chunk.text).strip().lower()
        if key in seen_text:
            continue
        seen_text.add(key)
        for i, kept in enumerate(merged):
            if _same_place(kept, chunk) and chunk.start <= kept.end + 1 and kept.start <= chunk.end + 1:
                first, second = (kept, chunk) if kept.start <= chunk.start else (chunk, kept)
                tail = second.text[max(0, first.end - second.start):] if second.end > first.end else ""
                gap = "" if second.start <= first.end else " "
                merged[i] = replace(kept, text=first.text + gap + tail, start=first.start, end=max(first.end, second.end))
                break
        else:
            merged.append(chunk)
    return merged


def fit_budget(chunks: list[Chunk], budget: int, count_tokens) -> list[Chunk]:
    out, used = [], 0
    for chunk in chunks:
        tokens = count_tokens(chunk.text)
        if used + tokens > budget:
            continue
        out.append(chunk)
        used += tokens
    return out or chunks[:1]


class Retriever:
    def __init__(self, embedder, store, lexical, settings):
        self.embedder = embedder
        self.store = store
        self.lexical = lexical
        self.settings = settings
        self.min_relevance = threshold(settings.min_relevance, embedder, "min_relevance")

    def retrieve(
        self, question: str, collection: str, k: int | None = None, document_ids: list[str] | None = None,
        budget: int | None = None, named: bool = False, vector=None,
    ) -> Retrieved:
        """With `named`, a question that names one thing searches only the documents that contain the name,
        when some of those that match it best do: other companies' reports must not fill a long answer about
        one. Questions that name several (comparisons) search them all."""
        s = self.settings
        k = k or s.top_k
        # Rank whole documents too, then search inside the best ones: a chunk of a 10-Q rarely names the
        # company the question asks about, the document does.
        asked = names(question) if named and s.named_documents else []
        depth = max(s.focus_documents, s.named_documents if len(asked) == 1 else 0)
        ranked = self.lexical.search_documents(collection, question, depth) if depth else []
        if len(asked) == 1:
            pool = ranked[: s.named_documents]
            pool = [d for d in pool if d in document_ids] if document_ids else pool
            document_ids = self.lexical.naming(asked, pool) or document_ids
        vector = self.embedder.embed_query([question])[0] if vector is None else vector  # the cache may have it
        dense = self.store.search(collection, vector, max(s.candidates, k), document_ids)
        focus = ranked[: s.focus_documents]
        if document_ids:
            focus = [d for d in focus if d in document_ids]
        focused = self.store.search(collection, vector, max(s.candidates, k), focus) if focus else []
        # Word matches are searched everywhere: kept inside those documents, they missed the answers of
        # collections of many short documents (HotpotQA answer-recall 0.52 against 0.57) and raised no set's recall
        # (issue 25); the vector search inside them is what finds the right one of many similar reports.
        lexical = self.lexical.search(collection, question, max(s.candidates, k), document_ids)
        best = max((c.score for c in dense), default=0.0)
        similarity = {c.id: c.score for c in dense + focused}
        # A chunk the vector search found but rates as unrelated does not get in on rank alone.
        dense = [c for c in dense if c.score >= self.min_relevance]
        focused = [c for c in focused if c.score >= self.min_relevance]
        fused = reciprocal_rank_fusion(
            [dense, lexical, focused], [s.dense_weight, s.lexical_weight, s.focus_weight], s.rrf_k
        )
        top = merge_overlapping(fused[: k * 2])
        if s.context_packing == "sentences":
            passages = pack(vector, top, budget or s.context_tokens, self.embedder)
        else:
            passages = fit_budget(top[:k], budget or s.context_tokens, self.embedder.count_tokens)
        for p in passages:
            p.score = similarity.get(p.id, p.score)
        return Retrieved(passages, best)
