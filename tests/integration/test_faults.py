"""Faults against the real service as a process: the API killed (SIGKILL) while uploads arrive, the Chroma
server going away and coming back, and Redis (the scaled topology's queue) going away and coming back. Afterwards every acknowledged document is ingested, none is left
in a non-final state, and the catalog, the vector store and the lexical index hold exactly the same chunks."""

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from rag.catalog import open_catalog
from rag.settings import Settings
from tests.conftest import ROOT
from tests.helpers.servers import free_port, start_chroma, start_redis, start_service

pytestmark = pytest.mark.integration
FAST = {"RAG_JOB_LEASE_S": "3", "RAG_JOB_RETRY_DELAY_S": "1", "RAG_JOB_RETRIES": "6", "RAG_RATE_LIMIT": "",
        "RAG_CHAT_RATE_LIMIT": ""}


def serve(data_dir, port, log, **env) -> subprocess.Popen:
    return start_service(data_dir, port, log, **FAST, **env)


def document(i: int) -> bytes:
    facts = " ".join(f"Crate {i}-{j} holds {j * 3} spare valves of type V{j % 11}." for j in range(300))
    return f"Depot {i} inventory. The keeper of depot {i} is Keeper{i}.\n\n{facts}\n".encode()


def settle(url: str, jobs: list[str], timeout: float = 180) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        states = {j: httpx.get(f"{url}/jobs/{j}", timeout=10).json() for j in jobs}
        if all(s["status"] in ("done", "failed") for s in states.values()):
            return states
        time.sleep(0.5)
    raise AssertionError(f"jobs never finished: {[s for s in states.values() if s['status'] not in ('done', 'failed')]}")


def consistent(settings: Settings, chroma) -> int:
    """Chunks in the vector store == chunks in the lexical index == the documents' chunk counts; returns it."""
    catalog = open_catalog(settings)
    lexical = [c.id for c in catalog.lexical.chunks("default")]
    vectors = chroma()
    recorded = sum(d.chunks for d in catalog.list("default"))
    catalog.close()
    assert len(vectors) == len(set(vectors)) == len(lexical) == len(set(lexical)) == recorded
    assert set(vectors) == set(lexical)
    return recorded


def test_api_killed_during_uploads_loses_no_acknowledged_document(tmp_path):
    data_dir, port = tmp_path / "store", free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.log", "w")
    process = serve(data_dir, port, log)
    acknowledged: dict[str, str] = {}  # document id -> job id
    stop = threading.Event()

    def upload_until_killed():
        for i in range(200):
            if stop.is_set():
                return
            try:
                r = httpx.post(f"{url}/documents", files=[("files", (f"depot-{i:03d}.txt", document(i)))], timeout=30)
            except httpx.HTTPError:
                return  # the server is gone: this one was not acknowledged
            if r.status_code == 202:
                acknowledged[r.json()["documents"][0]["document_id"]] = r.json()["job_id"]

    uploader = threading.Thread(target=upload_until_killed)
    uploader.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # in the middle of uploads, and of the jobs ingesting them
    process.wait()
    stop.set()
    uploader.join()
    assert len(acknowledged) >= 6

    process = serve(data_dir, port, log)  # the same data directory, as a restart would
    try:
        states = settle(url, sorted(set(acknowledged.values())))
        assert {s["status"] for s in states.values()} == {"done"}, states
        time.sleep(4)  # one sweep past a lease: an upload cut before its job was queued is removed
        documents = {d["id"]: d for d in httpx.get(f"{url}/documents").json()}
        assert set(acknowledged) <= set(documents)
        assert {d["status"] for d in documents.values()} == {"ingested"}, documents
    finally:
        process.terminate()
        process.wait(timeout=30)

    import chromadb

    settings = Settings(_env_file=None, data_dir=data_dir)
    store = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    chunks = consistent(settings, lambda: store.get_collection("rag_default").get(include=[])["ids"])
    assert chunks >= len(acknowledged)


def test_chroma_server_away_then_back(tmp_path):
    chroma_port, port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = start_chroma(tmp_path / "chroma", chroma_port)
    log = open(tmp_path / "serve.log", "w")
    process = serve(tmp_path / "store", port, log, RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(chroma_port))
    try:
        first = httpx.post(f"{url}/documents", files=[("files", ("depot-1.txt", document(1)))], timeout=30).json()
        settle(url, [first["job_id"]])

        chroma.send_signal(signal.SIGKILL)
        chroma.wait()
        asked = httpx.post(f"{url}/chat", json={"question": "Who is the keeper of depot 1?"}, timeout=60)
        assert asked.status_code == 503 and asked.json()["error"] == "BackendUnavailable"
        assert "Chroma" in asked.json()["detail"]
        health = httpx.get(f"{url}/health", timeout=30)
        assert health.status_code == 503 and "the vector store cannot be reached" in health.json()["problems"]
        second = httpx.post(f"{url}/documents", files=[("files", ("depot-2.txt", document(2)))], timeout=30)
        assert second.status_code == 202  # kept, and its job retries until the store is back
        time.sleep(2)
        assert httpx.get(f"{url}/jobs/{second.json()['job_id']}").json()["status"] in ("queued", "running")

        chroma = start_chroma(tmp_path / "chroma", chroma_port)  # back, with its data: no manual step
        state = settle(url, [second.json()["job_id"]], timeout=120)[second.json()["job_id"]]
        assert state["status"] == "done" and state["attempts"] >= 2, state
        answer = httpx.post(f"{url}/chat", json={"question": "Who is the keeper of depot 2?"}, timeout=60)
        assert answer.status_code == 200 and answer.json()["citations"][0]["name"] == "depot-2.txt"
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        chroma.terminate()
        chroma.wait(timeout=30)

    import chromadb

    settings = Settings(_env_file=None, data_dir=tmp_path / "store")
    chroma = start_chroma(tmp_path / "chroma", chroma_port)
    try:
        client = chromadb.HttpClient(host="127.0.0.1", port=chroma_port)
        consistent(settings, lambda: client.get_collection("rag_default").get(include=[])["ids"])
    finally:
        chroma.terminate()
        chroma.wait(timeout=30)


def test_redis_away_then_back(tmp_path):
    """The scaled topology's queue: with Redis gone an upload is a 503 that leaves nothing pending; with Redis
    back, the API and the worker carry on without a restart."""
    chroma_port, redis_port, port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = start_chroma(tmp_path / "chroma", chroma_port)
    redis_server = start_redis(redis_port, tmp_path)
    shared = {**FAST, "RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(chroma_port),
              "RAG_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "RAG_CATALOG_URL": f"sqlite:///{tmp_path}/cat.db"}
    log = open(tmp_path / "logs.txt", "w")
    api = start_service(tmp_path / "api", port, log, **shared)
    worker = subprocess.Popen([sys.executable, "-m", "ingest", "worker"], cwd=ROOT, stdout=log, stderr=log,
                              env={**os.environ, **shared, "RAG_LLM_BACKEND": "fake", "RAG_DATA_DIR": str(tmp_path / "w")})
    try:
        first = httpx.post(f"{url}/documents", files=[("files", ("depot-1.txt", document(1)))], timeout=30)
        assert first.status_code == 202, first.text
        settle(url, [first.json()["job_id"]])

        redis_server.terminate()
        redis_server.wait()
        refused = httpx.post(f"{url}/documents", files=[("files", ("depot-2.txt", document(2)))], timeout=60)
        assert refused.status_code == 503 and "the job queue is unreachable" in refused.json()["detail"]
        assert "the job queue cannot be reached" in httpx.get(f"{url}/health", timeout=30).json()["problems"]
        assert [d["name"] for d in httpx.get(f"{url}/documents").json()] == ["depot-1.txt"]  # nothing pending

        redis_server = start_redis(redis_port, tmp_path)  # back (empty: it keeps nothing on disk)
        again = httpx.post(f"{url}/documents", files=[("files", ("depot-2.txt", document(2)))], timeout=30)
        assert again.status_code == 202, again.text
        assert settle(url, [again.json()["job_id"]])[again.json()["job_id"]]["status"] == "done"
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
    finally:
        for process in (worker, api, chroma, redis_server):
            process.terminate()
            process.wait(timeout=30)
