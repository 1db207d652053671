"""Table figures in the context, across all the filings and within the question's own (as a user who picks the
document searches): docugami's questions whose answer is a table figure (`rag eval docugami-tables`), with
tables off (pdfium's text) and as rows (RAG_TABLES=rows), in the eval stores `rag eval` keeps.

    .venv/bin/python benchmarks/tables.py
"""

import fnmatch
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.datasets import load_dataset  # noqa: E402
from evals.runner import COLLECTION, eval_settings, open_pipeline  # noqa: E402


def _held(answers: list[str], passages) -> bool:
    def digits(text):
        return re.sub(r"\W", "", text)

    return any(digits(a) in digits(p.text) for p in passages for a in answers)


def measure(tables: str) -> dict:
    from rag.catalog import open_catalog
    from rag.settings import Settings

    dataset = load_dataset("docugami-tables")
    settings = eval_settings(Settings().model_copy(update={"tables": tables}), dataset)
    retriever, _ = open_pipeline(settings, dataset)
    filings = {d.source: d.id for d in open_catalog(settings).list(COLLECTION)}
    everywhere = within = 0
    for q in dataset.questions:
        own = [i for source, i in filings.items() if any(fnmatch.fnmatch(Path(source).name, g) for g in q.documents)]
        everywhere += _held(q.answers, retriever.retrieve(q.question, COLLECTION).passages)
        within += _held(q.answers, retriever.retrieve(q.question, COLLECTION, document_ids=own).passages)
    n = len(dataset.questions)
    return {"tables": tables, "questions": n, "answer_recall": round(everywhere / n, 3),
            "answer_recall_within_own_filing": round(within / n, 3)}


if __name__ == "__main__":
    for mode in ("off", "rows"):
        print(json.dumps(measure(mode)), flush=True)
