"""Wire a dataset to a throw-away store and the real pipeline, once per model configuration."""

import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from evals.datasets import load_dataset, sample
from evals.runner import eval_settings, evaluate, open_pipeline


def run_eval(settings, dataset_name, limit, k, models, docs, retrieval_only, progress=None, catalog=None,
             sets=None, **options) -> list:
    """progress: "bar" (a terminal), "lines" (a line per tenth of the questions, for logs) or None."""
    from rag.answer import AnswerService
    from rag.llm import get_llm

    dataset = load_dataset(dataset_name, docs, workdir=Path(tempfile.gettempdir()), sets=sets, **options)
    retriever, ingest_summary = open_pipeline(eval_settings(settings, dataset, catalog), dataset)
    questions = sample(dataset.questions, limit)
    results = []
    for model in models:
        answers = None
        name = None
        if not retrieval_only:
            model_settings = retriever.settings.model_copy(update={"llm_model": model or settings.llm_model})
            llm = get_llm(model_settings)
            answers = AnswerService(retriever, llm, model_settings)
            name = model_settings.llm_model
        desc = f"{dataset.name} {name or 'retrieval'}"
        with tqdm(total=len(questions), desc=desc, disable=progress != "bar") as bar:
            result = evaluate(dataset, questions, retriever, answers, k,
                              {"model": name, "k": k or settings.top_k, "context_tokens": settings.context_tokens,
                               "answer_style": settings.answer_style},
                              on_row=_lines(desc, len(questions)) if progress == "lines" else lambda row: bar.update(1))
        result.ingest = ingest_summary
        results.append(result)
        if result.interrupted:
            break
    return results


def _lines(desc: str, total: int):
    started, done = time.perf_counter(), 0
    step = max(1, -(-total // 10))  # at most ten lines

    def on_row(row) -> None:
        nonlocal done
        done += 1
        if done % step == 0 or done == total:
            elapsed = time.perf_counter() - started
            left = elapsed / done * (total - done)
            tqdm.write(f"{desc}: {done}/{total} questions in {elapsed:.0f} s, about {left:.0f} s left", sys.stderr)

    return on_row
