"""The cascade with real parts: the app with SmolLM2 in process, llama-cpp-python's server as the large
model, the budget in the real Redis, the answer cache, /metrics."""

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SAMPLES
from tests.helpers.servers import llama_server, smollm2_path
from tests.integration.test_api import upload, wait_for

pytestmark = pytest.mark.integration
HANDBOOK = ("employee-handbook.md", (SAMPLES / "employee-handbook.md").read_bytes())


@pytest.fixture(scope="module")
def large_url():
    with llama_server("large") as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def smollm2():
    from rag.llm import LlamaCppLLM

    return LlamaCppLLM(smollm2_path(), n_ctx=2048)


@pytest.fixture
def app_for(tmp_path, embedder, smollm2, large_url):
    """An app over its own store with the given settings; the large model is the server above."""
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services

    def make(store="store", **overrides):
        values = {"large_url": large_url, "large_model": "large", "escalation": "when_needed", **overrides}
        settings = Settings(_env_file=None, data_dir=tmp_path / store, **values)
        return TestClient(create_app(build_services(settings, embedder, smollm2)))

    return make


def ask(client, question):
    response = client.post("/chat", json={"question": question})
    assert response.status_code == 200
    return response.json()


def metric(client, name: str) -> float:
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(name)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_a_refused_local_answer_is_escalated_and_metrics_move(app_for):
    with app_for(verify_threshold=1.0) as client:  # no local answer is supported enough
        assert wait_for(client, upload(client, HANDBOOK).json()["job_id"])["status"] == "done"
        answer = ask(client, "How many days of paid vacation does an employee get?")
        assert answer["answered_by"] == "large" and answer["answered_by_reason"] in ("unsupported", "local_refused")
        assert answer["model"] == "large" and answer["large_tokens"] > 0
        assert metric(client, "rag_large_requests_total") == 1
        assert metric(client, 'rag_answers_total{answered_by="large"') == 1
        assert metric(client, "rag_large_tokens_spent_total") == answer["large_tokens"]
        assert metric(client, 'rag_http_requests_total{method="POST",route="/chat",status="200",tenant="default"}') == 1


def test_a_good_local_answer_is_not_escalated(app_for):
    with app_for(verify_threshold=0.0) as client:  # every local answer passes
        assert wait_for(client, upload(client, HANDBOOK).json()["job_id"])["status"] == "done"
        answer = ask(client, "How many days of paid vacation does an employee get?")
        assert answer["answered_by"] == "local", answer
        assert answer["answered_by_reason"] == "verified" and answer["saved_tokens"] > 0
        assert 0 <= answer["support"] <= 1  # SmolLM2's own judgement, read from its probabilities
        assert metric(client, "rag_large_requests_total") == 0
        assert metric(client, "rag_large_tokens_saved_total") == answer["saved_tokens"]


def test_a_spent_budget_answers_locally_marked(app_for):
    with app_for(verify_threshold=1.0, large_rpd=1, large_model=f"large-{uuid.uuid4().hex}") as client:
        assert wait_for(client, upload(client, HANDBOOK).json()["job_id"])["status"] == "done"
        assert ask(client, "How many days of paid vacation does an employee get?")["answered_by"] == "large"
        second = ask(client, "Who approves expense reports?")
        assert (second["answered_by"], second["answered_by_reason"]) == ("local", "budget_spent")
        assert "budget is spent" in second["answered_by_detail"] and second["refused"]
        assert metric(client, "rag_limiter_deferrals_total") == 1


def test_two_instances_share_one_budget_through_redis(app_for):
    shared = {"verify_threshold": 1.0, "large_rpm": 1, "redis_url": "redis://127.0.0.1:6379/0",
              "large_model": f"large-{uuid.uuid4().hex}"}  # a budget key no other run has used
    with app_for("a", **shared) as first, app_for("b", **shared) as second:
        for client in (first, second):
            assert wait_for(client, upload(client, HANDBOOK).json()["job_id"])["status"] == "done"
        assert ask(first, "How many days of paid vacation does an employee get?")["answered_by"] == "large"
        other = ask(second, "How many days of paid vacation does an employee get?")
        assert (other["answered_by"], other["answered_by_reason"]) == ("local", "budget_spent")


def test_a_paraphrase_hits_the_cache_until_an_upload_or_a_delete(app_for):
    with app_for(escalation="never") as client:
        handbook = upload(client, HANDBOOK).json()
        assert wait_for(client, handbook["job_id"])["status"] == "done"
        first = ask(client, "How many days of paid vacation does an employee get?")
        hit = ask(client, "how many paid vacation days does an employee get")
        assert (first["answered_by"], hit["answered_by"], hit["answer"]) == ("local", "cache", first["answer"])
        assert hit["citations"] == first["citations"] and metric(client, "rag_cache_hits_total") == 1
        assert ask(client, "How many days of unpaid vacation does an employee get?")["answered_by"] == "local"
        notes = ("release-notes.txt", (SAMPLES / "release-notes.txt").read_bytes())
        assert wait_for(client, upload(client, notes).json()["job_id"])["status"] == "done"
        assert ask(client, "How many days of paid vacation does an employee get?")["answered_by"] == "local"
        assert ask(client, "How many days of paid vacation does an employee get?")["answered_by"] == "cache"
        assert client.delete(f"/documents/{handbook['documents'][0]['document_id']}").status_code == 204
        after = ask(client, "How many days of paid vacation does an employee get?")
        assert after["answered_by"] == "local" and "employee-handbook.md" not in {c["name"] for c in after["citations"]}


def test_streamed_text_equals_the_final_answer_when_escalated(app_for):
    import json

    with app_for(verify_threshold=1.0) as client:
        assert wait_for(client, upload(client, HANDBOOK).json()["job_id"])["status"] == "done"
        with client.stream("POST", "/chat", json={"question": "Who approves expense reports?", "stream": True}) as r:
            blocks = [b.split("\n", 1) for b in r.read().decode().strip().split("\n\n")]
        events = [(kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))) for kind, data in blocks]
        done = events[-1][1]
        assert events[0][0] == "sources" and done["answered_by"] == "large"
        assert "".join(data["text"] for kind, data in events if kind == "token") == done["answer"]
