"""The relevance gate per embedding model (RAG_MIN_RELEVANCE unset: the model's own): the best vector
similarity of each question's passages, answerable against unanswerable, on SQuAD (half unanswerable) and, for
questions across languages, XQuAD's German questions over the English articles. A model's threshold is set where
it refuses as few answerable questions as MiniLM does at its 0.2 (the quantile of its answerable questions'
best similarities), and the share of unanswerable ones it then refuses says what it catches.

    .venv/bin/python benchmarks/relevance.py --limit 300
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.datasets import load_dataset, sample  # noqa: E402
from evals.runner import COLLECTION, eval_settings, open_pipeline  # noqa: E402

MINILM_THRESHOLD = 0.2


def best_similarities(model: str, name: str, limit: int, **options) -> tuple[np.ndarray, np.ndarray]:
    from rag.settings import Settings

    dataset = load_dataset(name, workdir=Path("/tmp"), **options)
    settings = Settings().model_copy(update={"embedding_model": model})
    retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
    questions = sample(dataset.questions, limit)
    best = []
    for q in questions:
        hits = retriever.store.search(COLLECTION, retriever.embedder.embed_query([q.question])[0], 1)
        best.append(hits[0].score if hits else 0.0)
    return np.array(best), np.array([q.unanswerable for q in questions])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    out, answerable = {}, {}
    for model in ("minilm", "e5-small"):
        best, unanswerable = best_similarities(model, "squad", args.limit)
        across, _ = best_similarities(model, "xquad", args.limit, lang="de", docs_lang="en")  # all answerable
        answerable[model] = np.concatenate([best[~unanswerable], across])
        out[model] = {"squad": (best, unanswerable), "across": across}
    share = float((answerable["minilm"] < MINILM_THRESHOLD).mean())  # answerable questions MiniLM refuses
    summary = {}
    for model, got in out.items():
        best, unanswerable = got["squad"]
        threshold = MINILM_THRESHOLD if model == "minilm" else float(np.quantile(answerable[model], share))
        summary[model] = {
            "threshold": round(threshold, 3),
            "squad_answerable_refused": round(float((best[~unanswerable] < threshold).mean()), 3),
            "squad_unanswerable_refused": round(float((best[unanswerable] < threshold).mean()), 3),
            "de_over_en_refused": round(float((got["across"] < threshold).mean()), 3),
            "medians": [round(float(np.median(x)), 3) for x in (best[~unanswerable], best[unanswerable], got["across"])],
        }
        print(model, summary[model], file=sys.stderr)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
