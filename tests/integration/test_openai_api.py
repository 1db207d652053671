"""/v1 over real HTTP with real clients: the official `openai` package and LangChain's ChatOpenAI, against
the app with SmolLM2 in process and the sample documents."""

import numpy as np
import openai
import pytest

from tests.conftest import SAMPLES
from tests.helpers.servers import serve_app
from tests.integration.test_api import upload, wait_for

pytestmark = pytest.mark.integration
QUESTION = "How many days of paid vacation does an employee get?"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, embedder):
    from fastapi.testclient import TestClient

    from rag.llm import LlamaCppLLM
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services
    from tests.helpers.servers import smollm2_path

    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("v1") / "store")
    services = build_services(settings, embedder, LlamaCppLLM(smollm2_path(), n_ctx=2048))
    app = create_app(services)
    with serve_app(app) as url:
        with TestClient(app) as client:
            assert client.post("/collections", json={"name": "firmware"}).status_code == 201
            for name, collection in (("employee-handbook.md", "default"), ("release-notes.txt", "firmware")):
                job = upload(client, (name, (SAMPLES / name).read_bytes()), collection=collection).json()["job_id"]
                assert wait_for(client, job)["status"] == "done"
        yield url


@pytest.fixture
def client(base_url):
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)


def test_models_name_the_collections(client):
    assert {m.id for m in client.models.list()} >= {"rag", "rag:default", "rag:firmware", "all-minilm-l6-v2"}


def test_chat_completion_with_our_extra_fields(client):
    response = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    answer = response.choices[0].message.content
    extra = response.model_extra
    assert answer and response.choices[0].finish_reason == "stop" and response.usage.total_tokens > 0
    assert extra["answered_by"] in ("local", "cache") and extra["answered_by_reason"]
    if not extra["refused"]:
        assert extra["citations"][0]["name"] == "employee-handbook.md" and "[" in answer


def test_streamed_text_equals_the_answer(client):
    question = "Which VPN client should I install?"
    chunks = list(client.chat.completions.create(
        model="rag", messages=[{"role": "user", "content": question}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["answered_by"] == "local"
    assert "sources" in chunks[0].model_extra and chunks[-1].usage.completion_tokens > 0
    again = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": question}])
    assert again.model_extra["answered_by"] == "cache" and again.choices[0].message.content == text


def test_a_collection_by_model_name(client):
    response = client.chat.completions.create(
        model="rag:firmware", messages=[{"role": "user", "content": "What does the firmware release add?"}])
    extra = response.model_extra
    assert extra["refused"] or {c["name"] for c in extra["citations"]} == {"release-notes.txt"}


@pytest.mark.parametrize(
    "model,messages,error,code",
    [
        ("rag:nowhere", [{"role": "user", "content": "Q?"}], openai.NotFoundError, "model_not_found"),
        ("gpt-4o", [{"role": "user", "content": "Q?"}], openai.NotFoundError, "model_not_found"),
        ("rag", [], openai.BadRequestError, "ValidationError"),
        ("rag", [{"role": "assistant", "content": "Hello"}], openai.BadRequestError, "RagError"),
        ("rag", [{"role": "user", "content": "x" * 5000}], openai.BadRequestError, "RagError"),
    ],
)
def test_errors_come_in_openais_shape(client, model, messages, error, code):
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=model, messages=messages)
    assert caught.value.code == code and caught.value.body["message"] and caught.value.body["type"]


def test_embeddings_are_the_services_own(client, embedder):
    texts = ["How many vacation days?", "VPN client"]
    response = client.embeddings.create(model="all-minilm-l6-v2", input=texts)  # the SDK asks for base64
    vectors = np.array([d.embedding for d in response.data])
    assert vectors.shape == (2, 384) and np.allclose(vectors, embedder.embed(texts), atol=1e-5)
    floats = client.embeddings.create(model="all-minilm-l6-v2", input="VPN client", encoding_format="float")
    assert np.allclose(floats.data[0].embedding, vectors[1], atol=1e-5)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_langchain_chat_openai(base_url):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=f"{base_url}/v1", api_key="unused", model="rag", max_retries=0)
    reply = chat.invoke("Which VPN client should I install?")
    assert reply.content and reply.response_metadata["finish_reason"] == "stop"
    streamed = "".join(chunk.content for chunk in chat.stream("Which VPN client should I install?"))
    assert streamed == reply.content
