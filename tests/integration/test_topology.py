"""The scaled topology as local processes: 2 APIs and 2 ingest workers, each with a data directory of its
own, sharing a real `chroma run`, the real Redis (queue) and the real PostgreSQL (catalog). One worker is
killed with SIGKILL in the middle of a job; every upload still ends ingested, exactly once."""

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from rag.catalog import open_catalog
from rag.settings import Settings
from tests.conftest import ROOT
from tests.helpers.databases import postgres_database, redis_url
from tests.helpers.servers import free_port, start_chroma, start_s3, wait_until_up

pytestmark = [pytest.mark.integration, pytest.mark.topology]
FILES = 20


@pytest.fixture(scope="module")
def postgres_url():
    yield from postgres_database()


@pytest.fixture
def topology(tmp_path, postgres_url):
    chroma_port, s3_port = free_port(), free_port()
    processes = [start_chroma(tmp_path / "chroma", chroma_port), start_s3(s3_port)]
    shared = {**os.environ, "RAG_CATALOG_URL": postgres_url, "RAG_REDIS_URL": redis_url(),
              "RAG_S3_BUCKET": "uploads", "RAG_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
              "RAG_S3_ACCESS_KEY": "test", "RAG_S3_SECRET_KEY": "test",
              "RAG_QUEUE_NAME": f"topology-{uuid.uuid4().hex[:8]}", "RAG_CHROMA_HOST": "127.0.0.1",
              "RAG_CHROMA_PORT": str(chroma_port), "RAG_JOB_LEASE_S": "4", "RAG_LLM_MODEL": "smollm2-135m",
              "RAG_VERIFY_THRESHOLD": "0", "RAG_MIN_QUESTION_LOGPROB": "-inf", "RAG_CACHE": "false",
              "RAG_RATE_LIMIT": ""}  # the test polls its 20 jobs faster than one client may

    def start(name: str, *command: str) -> subprocess.Popen:
        env = {**shared, "RAG_DATA_DIR": str(tmp_path / name)}  # no disk shared between them
        log = open(tmp_path / f"{name}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, stdout=log, stderr=log)
        processes.append(process)
        return process

    try:
        apis = []
        for name in ("api1", "api2"):
            port = free_port()
            apis.append((start(name, "service", "serve", "--port", str(port)), f"http://127.0.0.1:{port}"))
        workers = [start(name, "ingest", "worker") for name in ("worker1", "worker2")]
        for process, url in apis:
            wait_until_up(process, f"{url}/health", "rag serve", timeout=180)
        yield [url for _, url in apis], workers, shared
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def document(i: int) -> bytes:
    facts = " ".join(f"Ledger {i} entry {j} records shipment {i * 1000 + j} of part P{j % 17}." for j in range(400))
    return f"Warehouse {i} report. The manager of warehouse {i} is Person{i}.\n\n{facts}\n".encode()


def test_two_apis_two_workers_one_killed_mid_job(topology):
    urls, workers, shared = topology
    jobs = {}
    for i in range(FILES):
        url = urls[i % 2]
        response = httpx.post(f"{url}/documents", files=[("files", (f"warehouse-{i:02d}.txt", document(i)))],
                              timeout=60)
        assert response.status_code == 202, response.text
        jobs[response.json()["job_id"]] = url

    victim = workers[0]
    killed_job = None
    deadline = time.monotonic() + 120
    while killed_job is None and time.monotonic() < deadline:
        for job_id, url in jobs.items():
            job = httpx.get(f"{url}/jobs/{job_id}").json()
            if job["status"] == "running" and f":{victim.pid}:" in (job["worker"] or ""):
                killed_job = job_id
                break
        time.sleep(0.05)
    assert killed_job, "the first worker never ran a job"
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    deadline = time.monotonic() + 300
    pending = set(jobs)
    while pending and time.monotonic() < deadline:
        pending = {j for j in pending if httpx.get(f"{urls[0]}/jobs/{j}").json()["status"] not in ("done", "failed")}
        time.sleep(0.5)
    assert not pending, f"{len(pending)} jobs never finished"
    taken_over = httpx.get(f"{urls[1]}/jobs/{killed_job}").json()
    assert taken_over["status"] == "done" and taken_over["attempts"] >= 2, taken_over
    assert f":{workers[1].pid}:" in taken_over["worker"]

    for url in urls:  # the same truth from either replica
        documents = httpx.get(f"{url}/documents").json()
        assert sorted(d["source"] for d in documents if d["status"] == "ingested") == [
            f"warehouse-{i:02d}.txt" for i in range(FILES)]
    for i, url in ((3, urls[0]), (4, urls[1])):  # uploaded through the other API
        answer = httpx.post(f"{url}/chat", json={"question": f"Who is the manager of warehouse {i}?"}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.json()["citations"][0]["name"] == f"warehouse-{i:02d}.txt", answer.json()

    import chromadb

    chroma = chromadb.HttpClient(host="127.0.0.1", port=int(shared["RAG_CHROMA_PORT"]))
    vector_ids = chroma.get_collection("rag_default").get(include=[])["ids"]
    catalog = open_catalog(Settings(_env_file=None, catalog_url=shared["RAG_CATALOG_URL"],
                                    **{k[4:].lower(): v for k, v in shared.items() if k.startswith("RAG_S3_")}))
    uploaded = catalog.blobs.client.list_objects_v2(Bucket="uploads").get("Contents", [])
    assert len(uploaded) == FILES  # the files' bytes in the object store, where every worker read them
    lexical_ids = [c.id for c in catalog.lexical.chunks("default")]
    recorded = sum(d.chunks for d in catalog.list("default"))
    assert len(vector_ids) == len(set(vector_ids)) == len(lexical_ids) == recorded > FILES
    assert set(vector_ids) == set(lexical_ids)
    catalog.close()
