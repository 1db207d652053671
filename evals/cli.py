"""Wire a dataset to a throw-away store and the real pipeline, once per model configuration."""

import tempfile
from pathlib import Path

from tqdm import tqdm

from evals.datasets import load_dataset, sample
from evals.runner import evaluate, eval_store_dir, ingest_dataset


def run_eval(settings, dataset_name, limit, k, models, docs, retrieval_only, progress=False) -> list:
    from ingest.pipeline import Ingestor
    from rag.answer import AnswerService
    from rag.db import connect
    from rag.embeddings import get_embedder
    from rag.lexical import LexicalIndex
    from rag.llm import get_llm
    from rag.retrieval import Retriever
    from rag.store import open_store

    base = settings.data_dir / "eval"
    dataset = load_dataset(dataset_name, docs, workdir=Path(tempfile.gettempdir()))
    store_dir = eval_store_dir(base, dataset, settings)
    eval_settings = settings.model_copy(update={"data_dir": store_dir, "chroma_host": None})
    embedder = get_embedder(eval_settings)
    store = open_store(eval_settings)
    ingestor = Ingestor(eval_settings, embedder, store, connect(eval_settings.db_path))
    ingest_summary = ingest_dataset(ingestor, dataset)
    retriever = Retriever(embedder, store, LexicalIndex(ingestor.conn), eval_settings)
    questions = sample(dataset.questions, limit)
    results = []
    for model in models:
        answers = None
        name = None
        if not retrieval_only:
            model_settings = eval_settings.model_copy(update={"llm_model": model or settings.llm_model})
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
    return results
