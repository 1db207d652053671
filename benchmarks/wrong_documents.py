"""Long-form questions asked where they have no answer: each docugami question about one company, against
only the other companies' filings (the company is the ticker in the gold file names, e.g. "2023 Q1 AAPL.pdf").
Every answer should be a refusal; the share that is, is the refusal accuracy of long answers.

    .venv/bin/python benchmarks/wrong_documents.py [--limit 30] [--out rows.jsonl]

It uses `rag eval docugami`'s store (and builds it, about 7 minutes, if that has not run).

The support (rag.answer.verify) is recorded for every question the model reads, so other thresholds can be
replayed: run it with RAG_VERIFY_THRESHOLD=0 to see every answer the model would give.
"""

import argparse
import json
import re
import statistics
import tempfile
from pathlib import Path

from evals.datasets import load_dataset, sample
from evals.runner import COLLECTION, eval_settings, open_pipeline
from rag.answer import AnswerService, answer_style
from rag.llm import get_llm
from rag.settings import get_settings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=30, help="long-form questions, from the first 60 sampled")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    dataset = load_dataset("docugami", workdir=Path(tempfile.gettempdir()))
    settings = eval_settings(get_settings(), dataset)
    retriever, _ = open_pipeline(settings, dataset)
    from rag.catalog import open_catalog

    documents = open_catalog(settings).list(COLLECTION)
    service = AnswerService(retriever, get_llm(settings), settings)
    service.warm_up()
    questions = [q for q in sample(dataset.questions, 60) if answer_style(q.question) == "long"][: args.limit]
    rows = []
    for q in questions:
        companies = {t for name in q.documents for t in re.findall(r"\b[A-Z]{3,5}\b", name)}
        others = [d.id for d in documents if not any(t in Path(d.source).name for t in companies)]
        answer = service.ask([{"role": "user", "content": q.question}], COLLECTION, document_ids=others)
        rows.append({"question": q.question, "without": sorted(companies), "refused": answer.refused,
                     "refusal_probability": answer.refusal_probability, "support": answer.support,
                     "reason": answer.answered_by_reason, "answer": answer.answer,
                     "answer_s": answer.timings.get("total_s")})
        print(f"{'refused ' if answer.refused else 'ANSWERED'} without {','.join(sorted(companies))}: {q.question}")
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    refused = sum(r["refused"] for r in rows)
    print(f"refusal accuracy {refused / len(rows):.2f} ({refused} of {len(rows)}), "
          f"answer p50 {statistics.median(r['answer_s'] for r in rows):.2f} s")


if __name__ == "__main__":
    main()
