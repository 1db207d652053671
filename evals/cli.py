"""Wire a dataset to a throw-away store and the real pipeline, once per model configuration."""

import tempfile
from pathlib import Path

from tqdm import tqdm

from evals.datasets import load_dataset, sample
from evals.runner import eval_settings, evaluate, open_pipeline


def run_eval(settings, dataset_name, limit, k, models, docs, retrieval_only, progress=False) -> list:
    from rag.answer import AnswerService
    from rag.llm import get_llm

    dataset = load_dataset(dataset_name, docs, workdir=Path(tempfile.gettempdir()))
    retriever, ingest_summary = open_pipeline(eval_settings(settings, dataset), dataset)
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
        with tqdm(total=len(questions), desc=f"{dataset.name} {name or 'retrieval'}", disable=not progress) as bar:
            result = evaluate(dataset, questions, retriever, answers, k,
                              {"model": name, "k": k or settings.top_k, "context_tokens": settings.context_tokens,
                               "answer_style": settings.answer_style},
                              on_row=lambda row: bar.update(1))
        result.ingest = ingest_summary
        results.append(result)
        if result.interrupted:
            break
    return results
