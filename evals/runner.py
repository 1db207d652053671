"""Run a dataset through our pipeline: ingest into a throw-away store, retrieve, answer, score."""

import time
from dataclasses import dataclass, field

from evals.datasets import Dataset
from evals.grounded import groundedness
from evals.metrics import answer_in, auc, exact_match, f1, first_hit_rank, mean, percentile
from rag.answer import AnswerService, steps
from rag.retrieval import Retriever

COLLECTION = "eval"


@dataclass
class Row:
    question: str
    unanswerable: bool
    style: str = "short"
    answer_hit: bool | None = None
    doc_hit: bool | None = None
    all_docs_hit: bool | None = None  # every gold document in the context (questions with several, e.g. HotpotQA)
    reciprocal_rank: float = 0.0
    retrieval_s: float = 0.0
    context_chars: int = 0
    answer: str | None = None
    refused: bool | None = None
    refusal_probability: float | None = None
    question_logprob: float | None = None
    support: float | None = None  # the verifier's P(yes) for the answer
    answered_by_reason: str | None = None
    em: float | None = None
    f1: float | None = None
    answer_s: float | None = None
    first_token_s: float | None = None
    verify_s: float | None = None  # of answer_s, the verifier's reading
    unsupported_facts: list[str] | None = None  # evals/grounded.py; None when refused or not generated
    sentences: int = 0
    unsupported_sentences: int = 0

    @property
    def retrieved(self) -> bool:
        """The answer was in the context; for long answers, which never occur verbatim, its document was."""
        return bool(self.doc_hit if self.answer_hit is None else self.answer_hit)


@dataclass
class Result:
    dataset: str
    config: dict
    rows: list[Row] = field(default_factory=list)
    ingest: dict = field(default_factory=dict)
    planned: int = 0  # questions asked for; fewer rows when interrupted
    interrupted: bool = False

    def summary(self) -> dict:
        answerable = [r for r in self.rows if not r.unanswerable]
        unanswerable = [r for r in self.rows if r.unanswerable]
        generated = [r for r in answerable if r.refused is not None]
        retrieved = [r for r in generated if r.retrieved]
        out = {
            "dataset": self.dataset, **self.config,
            "questions": len(self.rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "interrupted": self.interrupted,
            "answer_recall": _share(r.answer_hit for r in answerable if r.answer_hit is not None),
            "doc_recall": _share(r.doc_hit for r in answerable if r.doc_hit is not None),
            "all_docs_recall": _share(r.all_docs_hit for r in answerable if r.all_docs_hit is not None),
            "long_answers": _share(r.style == "long" for r in self.rows),
            "mrr": round(mean(r.reciprocal_rank for r in answerable), 4) if answerable else None,
            "context_chars_mean": round(mean(r.context_chars for r in self.rows)),
            "context_chars_max": max((r.context_chars for r in self.rows), default=0),
            "retrieval_p50_s": round(percentile([r.retrieval_s for r in self.rows], 50), 3),
            "retrieval_p95_s": round(percentile([r.retrieval_s for r in self.rows], 95), 3),
        }
        if generated or any(r.refused is not None for r in unanswerable):
            answered = [r for r in self.rows if r.answer_s is not None]
            out.update({
                "em": round(mean(r.em for r in generated), 4) if generated else None,
                "f1": round(mean(r.f1 for r in generated), 4) if generated else None,
                "refusal_accuracy": _share(r.refused for r in unanswerable if r.refused is not None),
                "answered_when_retrieved": _share(not r.refused for r in retrieved),
                "false_refusals": _share(r.refused for r in retrieved),  # issue 25's name for 1 - the above
                "answer_p50_s": round(percentile([r.answer_s for r in answered], 50), 3),
                "answer_p95_s": round(percentile([r.answer_s for r in answered], 95), 3),
                "first_token_p50_s": round(percentile([r.first_token_s for r in answered if r.first_token_s], 50), 3),
                # the verifier's share of the answer time (its reading of the cited passages)
                "verify_share": round(sum(r.verify_s or 0 for r in answered) / sum(r.answer_s for r in answered), 4)
                if answered else None,
                # how well the verifier's P(yes) ranks answerable questions in the context above unanswerable ones
                "support_auc": auc([r.support for r in retrieved if r.support is not None],
                                    [r.support for r in unanswerable if r.support is not None]),
                "unsupported_facts": _share(bool(r.unsupported_facts) for r in self.rows
                                            if r.unsupported_facts is not None),
                "unsupported_sentences": round(sum(r.unsupported_sentences for r in self.rows) /
                                               judged, 4) if (judged := sum(r.sentences for r in self.rows)) else None,
            })
        return out


def _share(flags) -> float | None:
    flags = list(flags)
    return round(sum(map(bool, flags)) / len(flags), 4) if flags else None


def open_pipeline(settings, dataset: Dataset) -> tuple[Retriever, dict]:
    """Our read path over the store under settings.data_dir, with the dataset ingested (again: only what
    changed) into the eval collection; and the ingest summary."""
    from ingest.pipeline import Ingestor
    from rag.catalog import open_catalog
    from rag.embeddings import get_embedder
    from rag.store import open_store

    embedder = get_embedder(settings)
    store = open_store(settings)
    catalog = open_catalog(settings)
    ingestor = Ingestor(settings, embedder, store, catalog)
    names = {path: dataset.document_name(str(path)) for path in dataset.documents}
    summary = ingestor.ingest(dataset.documents, COLLECTION, names=names).to_dict()
    if summary["interrupted"]:  # figures on part of the documents would mislead; a re-run resumes
        raise KeyboardInterrupt
    summary = {k: v for k, v in summary.items() if k not in ("files", "pruned", "collection")}
    return Retriever(embedder, store, catalog.lexical, settings), summary


def evaluate(
    dataset: Dataset, questions, retriever: Retriever, answers: AnswerService | None, k: int | None, config: dict,
    on_row=None,
) -> Result:
    """Every question's row; on Ctrl-C, the rows done so far, marked interrupted."""
    result = Result(dataset.name, config, planned=len(questions))
    for q in questions:
        try:
            row = score(dataset, q, retriever, answers, k)
        except KeyboardInterrupt:
            result.interrupted = True
            break
        result.rows.append(row)
        if on_row:
            on_row(row)
    return result


def score(dataset: Dataset, q, retriever: Retriever, answers: AnswerService | None, k: int | None) -> Row:
    """One question: its retrieval figures from the passages the answer read (retrieved here only when there
    is no model), then the answer's."""
    answer = None
    if answers is not None:
        started = time.perf_counter()
        answer = answers.ask([{"role": "user", "content": q.question}], COLLECTION, k)
        passages = answer.passages
        row = Row(q.question, q.unanswerable, answer.style, answer_s=time.perf_counter() - started)
        row.retrieval_s = answer.timings.get("retrieval_s", 0.0)
    else:  # the context the answer would read, by the answers' own steps
        plan = steps.plan(q.question, retriever.settings, top_k=k)
        row = Row(q.question, q.unanswerable, plan.style)
        started = time.perf_counter()
        passages = steps.gather(retriever, plan, COLLECTION).passages
        row.retrieval_s = time.perf_counter() - started
    _retrieval(dataset, q, passages, row)
    if answer is not None:
        _answered(q, answer, passages, row)
    return row


def _retrieval(dataset: Dataset, q, passages, row: Row) -> None:
    short = dataset.answer_kind == "short"
    row.context_chars = sum(len(p.text) for p in passages)
    if q.unanswerable:
        return
    texts = [p.text for p in passages]
    if short and q.answers:
        row.answer_hit = answer_in(texts, q.answers)
    if q.documents:
        found = dataset.gold_in(q, [p.source for p in passages])
        row.doc_hit = bool(found)
        if len(q.documents) > 1 and not any("*" in d for d in q.documents):
            row.all_docs_hit = len(found) == len(q.documents)
    hits = ([dataset.is_gold(q, p.source) for p in passages] if q.documents and not short
            else [answer_in([t], q.answers) for t in texts])
    row.reciprocal_rank = first_hit_rank(hits)


def _answered(q, answer, passages, row: Row) -> None:
    row.first_token_s = answer.timings.get("first_token_s")
    row.verify_s = answer.timings.get("verify_s", 0.0)
    row.refused = answer.refused
    row.refusal_probability = answer.refusal_probability
    row.question_logprob = answer.question_logprob
    row.support = answer.support
    row.answered_by_reason = answer.answered_by_reason
    row.answer = answer.answer
    if not answer.refused:
        cited = [passages[c.number - 1] for c in answer.citations if c.number <= len(passages)] or passages
        grounded = groundedness(answer.answer, cited, q.question, long=answer.style == "long")
        row.unsupported_facts = grounded.unsupported_facts
        row.sentences, row.unsupported_sentences = grounded.sentences, grounded.unsupported_sentences
    if not q.unanswerable:
        text = "" if answer.refused else strip_citations(answer.answer)
        row.em, row.f1 = exact_match(text, q.answers), f1(text, q.answers)


def strip_citations(text: str) -> str:
    import re

    return re.sub(r"\s*\[\d+\]", "", text).strip()


def eval_settings(settings, dataset: Dataset, catalog_url: str | None = None):
    """The settings with the store moved to one of its own per dataset and write-side settings, under
    data_dir/eval: re-runs reuse it (ingest is idempotent); the user's store is never touched. Its catalog
    is SQLite in it, unless `catalog_url` names another (an empty database, to measure its word search)."""
    from ingest.chunking import chunking_key

    kind = "" if catalog_url is None else "-" + catalog_url.split(":", 1)[0].split("+")[0]
    store = settings.data_dir / "eval" / f"{dataset.key}-{chunking_key(settings)[:8]}{kind}"
    return settings.model_copy(update={"data_dir": store, "chroma_host": None, "catalog_url": catalog_url})
