"""Ingest throughput: our pipeline vs the raw encoder on the same chunks vs LangChain's recipe.

    .venv/bin/python benchmarks/ingest_speed.py [FOLDER] [--skip-peer]

FOLDER defaults to the docugami 10-Q PDFs in ../shared/eval. Prints chunks/s, the ratio of end-to-end
ingest to raw encode throughput (target >= 0.85), the truncated-chunk count, and the peer's figures.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared/eval/docugami_sec10q/sec-10-q/data/v1/docs"


def ours(folder: Path, data_dir: Path):
    from ingest.cli import open_ingestor
    from ingest.files import collect_files
    from rag.settings import Settings

    settings = Settings(_env_file=None, data_dir=data_dir)
    ingestor = open_ingestor(settings)
    ingestor.embedder.embed(["warm up"])
    files, skipped = collect_files([folder])
    summary = ingestor.ingest(files, "bench", skipped=skipped)
    # What the encoder read: the chunk text led by its title when RAG_EMBED_TITLES is on.
    texts = [ingestor.embedding_text(c) for c in ingestor.catalog.lexical.chunks("bench")]
    return ingestor.embedder, summary, texts


def raw_encode(embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    for at in range(0, len(texts), 128):
        embedder.embed(texts[at : at + 128])
    return time.perf_counter() - started


def peer(folder: Path, data_dir: Path, model_path: str):
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    docs, lost = [], []
    for path in sorted(folder.glob("*.pdf")):
        try:
            docs.extend(PyPDFLoader(str(path)).load())
        except Exception as e:  # the recipe has no answer for these: the file is lost
            lost.append(f"{path.name} ({type(e).__name__})")
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    embeddings = HuggingFaceEmbeddings(model_name=model_path)
    Chroma.from_documents(splits, embeddings, persist_directory=str(data_dir))
    return time.perf_counter() - started, len(splits), lost


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--peer-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.peer_only:
            from rag.embeddings import bundled_model_path

            peer_seconds, peer_chunks, lost = peer(args.folder, Path(tmp) / "peer", str(bundled_model_path()))
            print(f"langchain recipe: {peer_chunks} chunks in {peer_seconds:.1f} s = {peer_chunks / peer_seconds:.1f} chunks/s; lost {len(lost)} files: {', '.join(lost)}")
            return
        embedder, summary, texts = ours(args.folder, Path(tmp) / "ours")
        ours_rate = summary.chunks_added / summary.seconds
        raw_seconds = raw_encode(embedder, texts)
        raw_rate = len(texts) / raw_seconds
        truncated = sum(1 for t in texts if embedder.count_tokens(t) > embedder.max_tokens)
        tokens = sum(embedder.count_tokens(t) for t in texts) / max(len(texts), 1)
        print(f"files: {len(summary.files)}  ingested: {summary.count('ingested')}  failed: {summary.count('failed')}")
        print(f"ours: {summary.chunks_added} chunks (mean {tokens:.0f} tokens) in {summary.seconds:.1f} s = {ours_rate:.1f} chunks/s")
        print(f"raw encode of the same encoder inputs: {raw_seconds:.1f} s = {raw_rate:.1f} chunks/s")
        print(f"end-to-end / raw encode: {ours_rate / raw_rate:.2f}  (target >= 0.85)")
        print(f"truncated chunks (> {embedder.max_tokens} tokens): {truncated}")
        if not args.skip_peer:
            peer_seconds, peer_chunks, lost = peer(args.folder, Path(tmp) / "peer", str(embedder.model_path))
            print(f"langchain recipe: {peer_chunks} chunks in {peer_seconds:.1f} s = {peer_chunks / peer_seconds:.1f} chunks/s; lost {len(lost)} files: {', '.join(lost)}")
            print(f"ingest time ours / recipe: {summary.seconds / peer_seconds:.2f}")


if __name__ == "__main__":
    main()
