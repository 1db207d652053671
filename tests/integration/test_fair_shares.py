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
