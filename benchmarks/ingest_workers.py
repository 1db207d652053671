"""Ingest throughput of the scaled topology: 1, 2, 4 `ingest worker` processes behind the Redis queue,
writing to a Chroma server and PostgreSQL, against the embedded default (`ingest PATH`, one process).

    .venv/bin/python benchmarks/ingest_workers.py [FOLDER] [--workers 1 2 4]

FOLDER defaults to the docugami 10-Q PDFs in ../shared/eval. Every run starts from empty stores (a new
PostgreSQL database, a new `chroma run`, a new queue name in Redis). Prints files/s and chunks/s per run;
the time counts from the first job queued to the last one done, model loading excluded (workers start
first and wait for jobs).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared/eval/docugami_sec10q/sec-10-q/data/v1/docs"
REDIS = "redis://127.0.0.1:6379/0"


def embedded(folder: Path, data_dir: Path) -> dict:
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ingest", str(folder), "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    import json

    summary = json.loads(done.stdout)
    return {"seconds": time.perf_counter() - started, "files": summary["ingested"], "chunks": summary["chunks_added"],
            "note": "model loading included"}


@contextmanager
def services(scratch: Path):
    """An empty PostgreSQL database and a new `chroma run`: (catalog URL, Chroma port)."""
    from tests.helpers.databases import postgres_database
    from tests.helpers.servers import free_port, start_chroma

    port = free_port()
    chroma = start_chroma(scratch / f"chroma-{uuid.uuid4().hex[:6]}", port)
    try:
        with contextmanager(postgres_database)() as url:
            yield url, port
    finally:
        chroma.terminate()
        chroma.wait(timeout=30)


def scaled(folder: Path, workers: int, scratch: Path) -> dict:
    with services(scratch) as (url, port):
        return _scaled(folder, workers, scratch, url, port)


def _scaled(folder: Path, workers: int, scratch: Path, url: str, port: int) -> dict:
    from rag.catalog import open_catalog
    from rag.settings import Settings

    env = {**os.environ, "RAG_CATALOG_URL": url, "RAG_REDIS_URL": REDIS, "RAG_QUEUE_NAME": f"bench-{uuid.uuid4().hex}",
           "RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(port)}
    processes = []
    try:
        logs = []
        for i in range(workers):
            worker_env = {**env, "RAG_DATA_DIR": str(scratch / f"worker-{workers}-{i}")}
            logs.append(scratch / f"worker-{workers}-{i}.log")
            processes.append(subprocess.Popen([sys.executable, "-m", "ingest", "worker"], cwd=ROOT, env=worker_env,
                                              stdout=subprocess.DEVNULL, stderr=open(logs[-1], "w")))
        while not all("ingest worker" in log.read_text() for log in logs):  # said once its model is loaded
            time.sleep(0.2)
        catalog = open_catalog(Settings(_env_file=None, catalog_url=env["RAG_CATALOG_URL"]))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ingest", str(folder), "--enqueue", "--json"], cwd=ROOT,
                       env={**env, "RAG_DATA_DIR": str(scratch / "producer")}, check=True, capture_output=True)
        while catalog.job_depth():
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        documents = catalog.list(status="ingested")
        result = {"seconds": seconds, "files": len(documents), "chunks": sum(d.chunks for d in documents),
                  "note": "enqueue included"}
        catalog.close()
        return result
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=60)


def shared_capacity(scratch: Path, clients: int, docs: int = 24, chunks_per_doc: int = 200) -> dict:
    """Chunks/s the shared services take when the encoder costs nothing: `clients` threads writing
    documents of random vectors to the Chroma server and their chunks to PostgreSQL, as workers do."""
    with services(scratch) as (url, port):
        return _capacity(scratch, clients, docs, chunks_per_doc, url, port)


def _capacity(scratch: Path, clients: int, docs: int, chunks_per_doc: int, url: str, port: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from rag.catalog import open_catalog
    from rag.chunks import Chunk
    from rag.settings import Settings
    from rag.store import open_store

    settings = Settings(_env_file=None, data_dir=scratch, chroma_host="127.0.0.1", chroma_port=port, catalog_url=url)
    store, catalog = open_store(settings), open_catalog(settings)
    rng = np.random.default_rng(0)
    sentence = "The quarterly report lists revenue, costs and the outlook for the next period in detail. "
    times = {"chroma": 0.0, "catalog": 0.0}

    def write(d: int) -> None:
        chunks = [Chunk(f"d{d}-{i}", f"d{d}", "bench", f"doc{d}.txt", sentence * 3, i, i * 300, i * 300 + 270)
                  for i in range(chunks_per_doc)]
        vectors = rng.normal(size=(chunks_per_doc, 384)).astype(np.float32)
        started = time.perf_counter()
        store.delete_document("bench", f"d{d}")
        store.add(chunks, vectors)
        middle = time.perf_counter()
        catalog.record_ingested({"id": f"d{d}", "collection": "bench", "source": f"doc{d}.txt", "sha256": str(d),
                                 "size": 1, "type": "text", "chunking": "x"}, chunks, [""] * len(chunks), "doc")
        times["chroma"] += middle - started
        times["catalog"] += time.perf_counter() - middle

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(write, range(docs)))
        seconds = time.perf_counter() - started
        total = docs * chunks_per_doc
        return {"chunks_s": total / seconds, "chroma_chunks_s": total / times["chroma"] * clients,
                "catalog_chunks_s": total / times["catalog"] * clients}
    finally:
        catalog.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--capacity-only", action="store_true", help="only the shared services' capacity")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        print(f"{'shared services, writers':28} {'chunks/s':>9} {'Chroma alone':>13} {'catalog alone':>14}")
        for clients in (1, 4):
            c = shared_capacity(Path(scratch), clients)
            print(f"{clients:<28d} {c['chunks_s']:9.0f} {c['chroma_chunks_s']:13.0f} {c['catalog_chunks_s']:14.0f}")
    if args.capacity_only:
        return
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        rows = [("embedded (ingest PATH)", embedded(args.folder, scratch / "embedded"))]
        for n in args.workers:
            rows.append((f"{n} worker{'s' if n > 1 else ''} (Redis, Chroma server, PostgreSQL)",
                         scaled(args.folder, n, scratch)))
    print(f"{'setup':48} {'files':>6} {'chunks':>7} {'seconds':>8} {'files/s':>8} {'chunks/s':>9}")
    for name, r in rows:
        print(f"{name:48} {r['files']:6d} {r['chunks']:7d} {r['seconds']:8.1f} {r['files'] / r['seconds']:8.2f} "
              f"{r['chunks'] / r['seconds']:9.1f}  ({r['note']})")


if __name__ == "__main__":
    main()
