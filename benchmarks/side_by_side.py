"""Our pipeline and LangChain's canonical RAG recipe, in one process, on the same questions.

    .venv/bin/python benchmarks/side_by_side.py squad --limit 300 [--generate 40] [--model qwen2.5-0.5b] [--recipe-only]

The recipe: PyPDFLoader / BSHTMLLoader / TextLoader -> RecursiveCharacterTextSplitter(1000, 200) ->
HuggingFaceEmbeddings(all-MiniLM-L6-v2) -> Chroma -> similarity top-4 -> the RAG tutorial's prompt ->
ChatLlamaCpp with the same GGUF. Retrieval metrics use all sampled questions; generation metrics use the
first --generate of them (generation is slow on 2 cores). Needs the `bench` extra.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.datasets import load_dataset, sample  # noqa: E402
from evals.metrics import answer_in, exact_match, f1, mean, percentile  # noqa: E402
from rag.answer import is_refusal  # noqa: E402

TUTORIAL_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to "
    "answer the question. If you don't know the answer, just say that you don't know. Use three sentences "
    "maximum and keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:"
)


class Recipe:
    def __init__(self, dataset, workdir: Path, model_path: Path | None, threads: int = 2):
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from rag.embeddings import bundled_model_path

        started = time.perf_counter()
        docs, self.lost = [], []
        for path in dataset.documents:
            try:
                docs.extend(self._load(path))
            except Exception as e:  # noqa: BLE001 - the recipe has no fallback: the file is lost
                self.lost.append(f"{path.name} ({type(e).__name__})")
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        embeddings = HuggingFaceEmbeddings(model_name=str(bundled_model_path()))
        self.store = Chroma.from_documents(splits, embeddings, persist_directory=str(workdir / "recipe"))
        self.ingest_s = time.perf_counter() - started
        self.chunks = len(splits)
        self.llm = None
        if model_path:
            from langchain_community.chat_models import ChatLlamaCpp

            self.llm = ChatLlamaCpp(model_path=str(model_path), temperature=0, n_threads=threads, n_ctx=4096,
                                    max_tokens=256, verbose=False)

    @staticmethod
    def _load(path: Path):
        from langchain_community.document_loaders import BSHTMLLoader, PyPDFLoader, TextLoader

        if path.suffix.lower() == ".pdf":
            return PyPDFLoader(str(path)).load()
        if path.suffix.lower() in (".htm", ".html"):
            return BSHTMLLoader(str(path), open_encoding="latin-1").load()
        return TextLoader(str(path), autodetect_encoding=True).load()

    def retrieve(self, question):
        return self.store.similarity_search(question, k=4)

    def answer(self, question, docs) -> str:
        context = "\n\n".join(d.page_content for d in docs)
        return self.llm.invoke(TUTORIAL_PROMPT.format(question=question, context=context)).content


def score(dataset, questions, retrieve, answer, generate: int):
    rows = []
    for i, q in enumerate(questions):
        started = time.perf_counter()
        texts, sources = retrieve(q)
        row = {"retrieval_s": time.perf_counter() - started, "unanswerable": q.unanswerable,
               "context_chars": sum(map(len, texts))}
        if not q.unanswerable:
            if dataset.answer_kind == "short":
                row["answer_hit"] = answer_in(texts, q.answers)
            if q.documents:
                row["doc_hit"] = any(dataset.is_gold(q, s) for s in sources)
        if i < generate and answer:
            started = time.perf_counter()
            text, refused = answer(q, texts)
            row["answer_s"] = time.perf_counter() - started
            row["refused"] = refused
            if not q.unanswerable:
                row["f1"] = 0.0 if refused else f1(text, q.answers)
                row["em"] = 0.0 if refused else exact_match(text, q.answers)
        rows.append(row)
    answerable = [r for r in rows if not r["unanswerable"]]
    unanswerable = [r for r in rows if r["unanswerable"]]
    share = lambda key, rs: round(mean(bool(r[key]) for r in rs if key in r), 4) if any(key in r for r in rs) else None  # noqa: E731
    generated = [r for r in rows if "answer_s" in r]
    retrieved_answerable = [r for r in answerable if "refused" in r and r.get("answer_hit", r.get("doc_hit"))]
    return {
        "answer_recall": share("answer_hit", answerable), "doc_recall": share("doc_hit", answerable),
        "context_chars_max": max(r["context_chars"] for r in rows),
        "retrieval_p50_s": round(percentile([r["retrieval_s"] for r in rows], 50), 3),
        "f1": round(mean(r["f1"] for r in answerable if "f1" in r), 4) if generated else None,
        "em": round(mean(r["em"] for r in answerable if "em" in r), 4) if generated else None,
        "refusal_accuracy": share("refused", unanswerable) if generated else None,
        "answered_when_retrieved": round(mean(not r["refused"] for r in retrieved_answerable), 4) if retrieved_answerable else None,
        "answer_p50_s": round(percentile([r["answer_s"] for r in generated], 50), 2) if generated else None,
        "answer_p95_s": round(percentile([r["answer_s"] for r in generated], 95), 2) if generated else None,
        "generated": len(generated),
    }


def run_ours(settings, dataset, questions, generate: int) -> dict:
    from evals.runner import COLLECTION, open_pipeline, strip_citations
    from rag.answer import AnswerService, answer_style, context_size
    from rag.llm import get_llm

    started = time.perf_counter()
    retriever, _ = open_pipeline(settings, dataset)
    ingest_s = time.perf_counter() - started
    service = AnswerService(retriever, get_llm(settings), settings) if generate else None

    def retrieve(q):
        style = answer_style(q.question, settings.answer_style)
        k, budget = context_size(settings, style)
        passages = retriever.retrieve(q.question, COLLECTION, k, budget=budget, named=style == "long").passages
        return [p.text for p in passages], [p.source for p in passages]

    def answer(q, _texts):
        a = service.ask([{"role": "user", "content": q.question}], COLLECTION)
        return strip_citations(a.answer), a.refused

    ours = score(dataset, questions, retrieve, answer if service else None, generate)
    ours["ingest_s"] = round(ingest_s, 1)
    return ours  # the model is freed on return, before the recipe loads its own copy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", choices=["squad", "docugami", "cmu", "hotpotqa", "aragog"])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--generate", type=int, default=0, help="questions to answer with the model")
    parser.add_argument("--model", default=None, help="bundled model name (default: RAG_LLM_MODEL)")
    parser.add_argument("--recipe-only", action="store_true", help="skip our pipeline (rag eval measures it)")
    args = parser.parse_args()

    from rag.models import resolve_model_path
    from rag.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dataset = load_dataset(args.dataset, workdir=tmp)
        questions = sample(dataset.questions, args.limit)
        settings = Settings(data_dir=tmp / "ours", chroma_host=None, **({"llm_model": args.model} if args.model else {}))
        model_path = resolve_model_path(settings.llm_model, settings.models_dir) if args.generate else None

        ours = {} if args.recipe_only else run_ours(settings, dataset, questions, args.generate)
        recipe = Recipe(dataset, tmp, model_path)

        def recipe_retrieve(q):
            docs = recipe.retrieve(q.question)
            return [d.page_content for d in docs], [d.metadata.get("source", "") for d in docs]

        def recipe_answer(q, texts):
            from langchain_core.documents import Document

            text = recipe.answer(q.question, [Document(t) for t in texts])
            return text, is_refusal(text)

        theirs = score(dataset, questions, recipe_retrieve, recipe_answer if recipe.llm else None, args.generate)
        theirs["ingest_s"] = round(recipe.ingest_s, 1)
        theirs["lost_files"] = recipe.lost

    print(f"{args.dataset}: {len(questions)} questions sampled, generation on the first {args.generate}, "
          f"model {settings.llm_model if args.generate else '-'}")
    print(f"{'metric':<26}{'ours':>10}{'recipe':>10}{'ratio':>8}")
    for key in theirs:
        if key in ("generated", "lost_files"):
            continue
        a, b = ours.get(key), theirs.get(key)
        ratio = f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
        print(f"{key:<26}{'' if a is None else a!s:>10}{'' if b is None else b!s:>10}{ratio:>8}")
    print("recipe lost:", theirs["lost_files"] or "nothing")
    print(json.dumps({"dataset": args.dataset, "ours": ours, "recipe": theirs}))


if __name__ == "__main__":
    main()
