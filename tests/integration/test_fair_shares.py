"""One caller cannot take the service from the others: embeddings count against the caller's own limit,
ingest jobs are taken fairly across tenants, and an answer waiting for the large model's budget leaves the
local model to the others."""

import pytest
from fastapi.testclient import TestClient

from rag.llm import FakeLLM

pytestmark = pytest.mark.integration


def make_client(tmp_path, embedder, llm=None, **values):
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services

    settings = Settings(_env_file=None, data_dir=tmp_path / "store", **values)
    services = build_services(settings, embedder, llm or FakeLLM())
    return services, TestClient(create_app(services))


def test_embedded_tokens_count_against_each_keys_limit(tmp_path, embedder):
    texts = ["some words to embed " * 3] * 3
    cost = sum(embedder.count_tokens(t) for t in texts)
    services, client = make_client(tmp_path, embedder, embed_rate_limit=f"{cost * 5 // 2}/minute")
    _, a = services.catalog.keys.create("acme")
    _, b = services.catalog.keys.create("bolt")
    body = {"model": "all-minilm-l6-v2", "input": texts}
    with client:
        codes = [client.post("/v1/embeddings", json=body, headers={"Authorization": f"Bearer {a}"}).status_code
                 for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[-1] == 429
        limited = client.post("/v1/embeddings", json=body, headers={"Authorization": f"Bearer {a}"})
        assert limited.json()["error"]["type"] == "rate_limit_error" and "Retry-After" in limited.headers
        assert client.post("/v1/embeddings", json=body, headers={"Authorization": f"Bearer {b}"}).status_code == 200
        huge = {"model": "all-minilm-l6-v2", "input": ["many words " * 100]}  # over the whole limit: only into
        assert client.post("/v1/embeddings", json=huge, headers={"Authorization": f"Bearer {b}"}).status_code == 429  # an empty window


def test_a_small_job_never_waits_behind_another_tenants_big_one(settings):
    """Two lanes: a tenant's slow job holds one; another tenant's small job takes the other at once, and the
    slow tenant's next job waits its turn in its collection."""
    import threading
    import time

    from ingest.queue import open_queue
    from ingest.worker import Jobs
    from rag.catalog import open_catalog

    release, finished = threading.Event(), []

    class SlowForAcme:
        """Stands in for the ingest of a file that takes minutes (a 200,000-paragraph .docx) for acme."""

        def ingest_stored(self, files, collection, on_progress=None):
            if collection == "acme.docs" and not finished:
                assert release.wait(60)
            finished.append(files[0]["name"])

    settings = settings.model_copy(update={"queue": "sqlite", "ingest_workers": 2})
    catalog = open_catalog(settings)
    jobs = Jobs(settings, catalog, open_queue(settings), SlowForAcme())
    jobs.start()
    try:
        big = jobs.submit("acme.docs", [{"name": "big.docx", "source": "big.docx", "document_id": "a"}])
        after = jobs.submit("acme.docs", [{"name": "next.txt", "source": "next.txt", "document_id": "b"}])
        small = jobs.submit("bolt.docs", [{"name": "small.txt", "source": "small.txt", "document_id": "c"}])
        deadline = time.monotonic() + 30
        while jobs.get(small)["status"] != "done":
            assert time.monotonic() < deadline, jobs.get(small)
            time.sleep(0.05)
        assert (jobs.get(big)["status"], jobs.get(after)["status"]) == ("running", "queued")
        release.set()
        while jobs.get(after)["status"] != "done":
            assert time.monotonic() < deadline, jobs.get(after)
            time.sleep(0.05)
        assert finished == ["small.txt", "big.docx", "next.txt"]
    finally:
        release.set()
        jobs.stop()
