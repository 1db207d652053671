"""Whatever one caller sends, every route answers JSON (a 4xx or success) in bounded time, never a 5xx or a
hang: generated names, text, JSON shapes, content parts and unicode thrown at the real app (real store,
embedder, catalog and queue; the fake LLM)."""

import json
import time
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from rag.llm import FakeLLM

pytestmark = pytest.mark.integration

BOUND_S = 30  # a hang detector, not a speed check: the slowest answer here takes well under a second
EXAMPLES = hyp_settings(max_examples=100, deadline=None, derandomize=True,
                        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Every unicode category, lone surrogates included (JSON can carry them as "\ud800").
texts = st.text(st.characters(codec=None), max_size=300)
names = st.one_of(texts, st.sampled_from(["x\n", "x\r\n", "default\n", "a.b", "..", "%2e", " ", "ä", "-x", "x" * 64,
                                          "rag:x", "../etc", "default"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
parts = st.lists(st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": json_values}),
    st.fixed_dictionaries({"type": texts}, optional={"text": json_values, "image_url": json_values}),
    json_values,
), max_size=4)
# Mostly well-formed conversations ending with the user, so that the parts and text reach the answer path.
v1_messages = st.lists(st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "nobody"])},
    optional={"content": st.one_of(texts, parts, json_values)}), max_size=3).flatmap(
    lambda history: st.fixed_dictionaries({"role": st.just("user"), "content": st.one_of(texts, parts)}).map(
        lambda last: [*history, last]))


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services

    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("any") / "store", rate_limit="",
                        chat_rate_limit="", max_file_mb=1, cache=False)
    with TestClient(create_app(build_services(settings, embedder, FakeLLM())), raise_server_exceptions=False) as c:
        yield c


def check(response, started: float) -> None:
    assert time.monotonic() - started < BOUND_S
    assert response.status_code < 500, response.text[:500]
    assert response.headers["content-type"].startswith(("application/json", "text/event-stream")), response.text[:200]
    if response.status_code >= 400 and response.headers["content-type"].startswith("application/json"):
        assert response.json()


def send(client, method: str, path: str, body=None, **kwargs):
    """`body` sent as JSON the way any client may write it (a lone surrogate escaped as \\ud800)."""
    if body is not None:
        kwargs.update(content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    started = time.monotonic()
    response = client.request(method, path, **kwargs)
    check(response, started)
    return response


@EXAMPLES
@given(body=st.fixed_dictionaries({}, optional={
    "question": st.one_of(texts, json_values), "collection": names, "stream": st.booleans(),
    "messages": st.one_of(v1_messages, json_values), "top_k": json_values, "style": json_values,
    "document_ids": st.one_of(st.lists(texts, max_size=3), json_values)}))
def test_chat(client, body):
    send(client, "POST", "/chat", body=body)


@EXAMPLES
@given(path=st.sampled_from(["/chat", "/v1/chat/completions", "/v1/embeddings", "/collections"]), body=json_values)
def test_any_json_body(client, path, body):
    send(client, "POST", path, body=body)


@EXAMPLES
@given(body=st.fixed_dictionaries(
    {"model": st.sampled_from(["rag", "rag", "rag", "rag:default", "rag:nope", "rag:x\n"]), "messages": v1_messages},
    optional={"stream": st.booleans(), "temperature": json_values}))
def test_chat_completions(client, body):
    send(client, "POST", "/v1/chat/completions", body=body)


@EXAMPLES
@given(body=st.fixed_dictionaries(
    {"model": st.sampled_from(["all-minilm-l6-v2", "x"]),
     "input": st.one_of(texts, st.lists(texts, max_size=5), json_values)},
    optional={"encoding_format": json_values, "dimensions": json_values}))
def test_embeddings(client, body):
    send(client, "POST", "/v1/embeddings", body=body)


@EXAMPLES
@given(name=names, body=json_values)
def test_collections(client, name, body):
    path = "c-" + quote(name, safe="", errors="surrogatepass")
    send(client, "POST", "/collections", body={"name": name})
    send(client, "POST", "/collections", body=body)
    send(client, "DELETE", f"/collections/{path}")


@EXAMPLES
@given(name=names, doc=names, status=names)
def test_documents_and_jobs(client, name, doc, status):
    doc = "id-" + quote(doc, safe="", errors="surrogatepass")
    name, status = (n.encode("utf-8", "surrogatepass") for n in (name, status))
    send(client, "GET", "/documents", params={"collection": name, "status": status})
    send(client, "GET", f"/documents/{doc}")
    send(client, "DELETE", f"/documents/{doc}")
    send(client, "GET", f"/jobs/{doc}")
    send(client, "GET", "/health")


encodable = texts.filter(lambda t: t == t.encode("utf-8", "ignore").decode())  # multipart needs bytes


@EXAMPLES
@given(filename=st.one_of(encodable, st.builds(lambda a, b: f"{a}.{b}", encodable, encodable)),
       content=st.binary(max_size=2000), collection=st.one_of(st.none(), encodable))
def test_uploads(client, filename, content, collection):
    data = {"collection": collection} if collection is not None else {}
    send(client, "POST", "/documents", files=[("files", (filename, content))], data=data)


@pytest.mark.parametrize("content", [
    [{"type": "text", "text": 5}], [{"type": "text", "text": None}], [{"type": "text", "text": ["a"]}],
    [{"type": "text", "text": {"a": 1}}], [{"type": "text"}], "hi \ud800", [{"type": "text", "text": "hi \udfff"}],
])
def test_content_the_answer_path_cannot_read_is_a_400(client, content):
    body = {"model": "rag", "messages": [{"role": "user", "content": content}]}
    response = send(client, "POST", "/v1/chat/completions", body=body)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_parts_of_other_types_are_left_out(client):
    content = [{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "What is the policy?"}]
    response = send(client, "POST", "/v1/chat/completions", body={"model": "rag", "messages": [
        {"role": "user", "content": content}]})
    assert response.status_code == 200


def test_a_trailing_newline_is_no_collection_and_health_stays_ok(client):
    assert send(client, "POST", "/collections", body={"name": "x\n"}).status_code == 400
    assert send(client, "POST", "/chat", body={"question": "hi", "collection": "x\n"}).status_code == 400
    assert send(client, "GET", "/health").status_code == 200
