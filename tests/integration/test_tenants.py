"""API keys and tenants against the real service (store, embedding model, catalog, worker; the fake LLM, whose
prompts show what each tenant's question reached): one tenant never sees another's documents, by any route."""

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from rag.llm import FakeLLM
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.integration
HANDBOOK = "employee-handbook.md"
QUESTION = "How many vacation days do employees get?"


@pytest.fixture
def fake_llm():
    return FakeLLM()


@pytest.fixture
def services(settings, embedder, fake_llm):
    from service.container import build_services

    return build_services(settings, embedder, fake_llm)


@pytest.fixture
def client(services):
    from service.app import create_app

    with TestClient(create_app(services)) as client:
        yield client


def as_key(key):
    return {"Authorization": f"Bearer {key}"}


def upload(client, key, name, collection=None, content=None):
    data = {"collection": collection} if collection else {}
    body = content if content is not None else (SAMPLES / name).read_bytes()
    response = client.post("/documents", files=[("files", (name, body))], data=data, headers=as_key(key))
    assert response.status_code == 202, response.text
    job = response.json()
    for _ in range(600):
        state = client.get(f"/jobs/{job['job_id']}", headers=as_key(key)).json()
        if state["status"] in ("done", "failed"):
            return job, state
        import time

        time.sleep(0.1)
    raise AssertionError(f"job did not finish: {state}")


def prompts_since(fake_llm, start):
    return "\n".join(m["content"] for messages in fake_llm.history[start:] for m in messages)


def test_auth_is_off_until_a_key_exists(client, services):
    assert client.get("/documents").status_code == 200
    assert "documents" in client.get("/health").json()  # everything, to anyone, with auth off

    _, secret = services.catalog.keys.create("acme")
    response = client.get("/documents")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "Unauthorized" and "API key" in response.json()["detail"]
    assert client.get("/documents", headers=as_key("rag-not-a-key")).status_code == 401
    assert client.get("/documents", headers={"Authorization": secret}).status_code == 401  # no scheme
    assert client.get("/documents", headers=as_key(secret)).status_code == 200
    assert client.post("/v1/chat/completions", json={"model": "rag", "messages": []}).status_code == 401

    health = client.get("/health").json()  # without a key: whether it is up, nothing about anyone's data
    assert set(health) == {"status", "problems"}
    assert {"documents", "chunks"} <= set(client.get("/health", headers=as_key(secret)).json())


def test_auth_on_before_any_key(settings, embedder, fake_llm):
    from service.app import create_app
    from service.container import build_services

    services = build_services(settings.model_copy(update={"auth": "on"}), embedder, fake_llm)
    with TestClient(create_app(services)) as client:
        assert client.get("/collections").status_code == 401


def test_a_tenant_cannot_reach_another_tenants_documents(client, services, fake_llm):
    _, a = services.catalog.keys.create("acme")
    _, b = services.catalog.keys.create("bolt")
    admin_key, admin = services.catalog.keys.create("ops", admin=True)
    assert client.post("/collections", json={"name": "secret"}, headers=as_key(a)).status_code == 201
    a_job, a_state = upload(client, a, HANDBOOK, "secret")
    assert a_state["status"] == "done" and a_state["collection"] == "secret"
    [a_doc] = a_job["documents"]
    b_job, _ = upload(client, b, HANDBOOK)  # the same name in another tenant: another document
    [b_doc] = b_job["documents"]
    assert a_doc["document_id"] != b_doc["document_id"]
    client.delete(f"/documents/{b_doc['document_id']}", headers=as_key(b))
    upload(client, b, "travel-expense-policy.pdf")

    # Listing, reading, jobs, collections: B sees only its own.
    b_docs = client.get("/documents", headers=as_key(b)).json()
    assert [d["name"] for d in b_docs] == ["travel-expense-policy.pdf"] and b_docs[0]["collection"] == "default"
    assert [d["name"] for d in client.get("/documents", headers=as_key(a)).json()] == [HANDBOOK]
    assert client.get(f"/documents/{a_doc['document_id']}", headers=as_key(b)).status_code == 404
    assert client.get(f"/jobs/{a_job['job_id']}", headers=as_key(b)).status_code == 404
    assert client.get("/documents?collection=secret", headers=as_key(b)).status_code == 404
    assert {c["name"] for c in client.get("/collections", headers=as_key(b)).json()} == {"default"}
    assert {c["name"]: c["documents"] for c in client.get("/collections", headers=as_key(a)).json()} == {
        "default": 0, "secret": 1}
    models = {m["id"] for m in client.get("/v1/models", headers=as_key(b)).json()["data"]}
    assert "rag:secret" not in models and "rag:default" in models

    # Chat, by collection, by document id and through /v1: nothing of A's reaches B's prompt.
    start = len(fake_llm.history)
    assert client.post("/chat", json={"question": QUESTION, "collection": "secret"},
                       headers=as_key(b)).status_code == 404
    answer = client.post("/chat", json={"question": QUESTION, "document_ids": [a_doc["document_id"]]},
                         headers=as_key(b)).json()
    assert HANDBOOK not in json.dumps(answer["citations"])
    v1 = client.post("/v1/chat/completions", headers=as_key(b),
                     json={"model": "rag:secret", "messages": [{"role": "user", "content": QUESTION}]})
    assert v1.status_code == 404 and v1.json()["error"]["code"] == "model_not_found"
    assert "vacation" not in prompts_since(fake_llm, start).lower().replace(QUESTION.lower(), "")

    # The answer cache: A's cached answer is A's.
    first = client.post("/chat", json={"question": QUESTION, "collection": "secret"}, headers=as_key(a)).json()
    assert first["answered_by"] == "local" and first["citations"][0]["name"] == HANDBOOK
    again = client.post("/chat", json={"question": QUESTION, "collection": "secret"}, headers=as_key(a)).json()
    assert again["answered_by"] == "cache"
    client.post("/collections", json={"name": "secret"}, headers=as_key(b))
    b_answer = client.post("/chat", json={"question": QUESTION, "collection": "secret"}, headers=as_key(b)).json()
    assert b_answer["answered_by"] != "cache" and b_answer["citations"] == []

    # Deleting: by id and by collection name, B removes nothing of A's.
    assert client.delete(f"/documents/{a_doc['document_id']}", headers=as_key(b)).status_code == 404
    assert client.delete("/collections/secret", headers=as_key(b)).status_code == 204  # B's own, empty one
    assert client.get(f"/documents/{a_doc['document_id']}", headers=as_key(a)).json()["status"] == "ingested"
    assert client.post("/chat", json={"question": QUESTION, "collection": "secret"},
                       headers=as_key(a)).json()["citations"][0]["name"] == HANDBOOK

    # Metrics carry tenants' names: an admin key's only.
    assert client.get("/metrics", headers=as_key(a)).status_code == 403
    metrics = client.get("/metrics", headers=as_key(admin)).text
    assert 'tenant="acme"' in metrics and 'tenant="bolt"' in metrics

    # A revoked key stops at once; the tenant's documents stay.
    assert services.catalog.keys.revoke(admin_key.id)
    assert client.get("/documents", headers=as_key(admin)).status_code == 401
    assert len(client.get("/documents", headers=as_key(a)).json()) == 1


def test_rate_limit_per_key(settings, embedder, fake_llm):
    from service.app import create_app
    from service.container import build_services

    services = build_services(settings.model_copy(update={"rate_limit": "5/minute", "chat_rate_limit": "2/minute"}),
                              embedder, fake_llm)
    _, a = services.catalog.keys.create("acme")
    _, b = services.catalog.keys.create("bolt")
    with TestClient(create_app(services)) as client:
        statuses = [client.get("/collections", headers=as_key(a)).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = client.get("/collections", headers=as_key(a))
        assert limited.json()["error"] == "TooManyRequests" and 1 <= int(limited.headers["Retry-After"]) <= 60
        assert client.get("/collections", headers=as_key(b)).status_code == 200  # another key: its own count
        chats = [client.post("/chat", json={"question": "hi"}, headers=as_key(b)).status_code for _ in range(3)]
        assert chats == [200, 200, 429]


def test_upload_limits_per_request_and_per_tenant(settings, embedder, fake_llm):
    from service.app import create_app
    from service.container import build_services

    services = build_services(settings.model_copy(update={"tenant_max_documents": 2, "max_upload_files": 3}),
                              embedder, fake_llm)
    _, a = services.catalog.keys.create("acme")
    _, b = services.catalog.keys.create("bolt")
    with TestClient(create_app(services)) as client:
        files = [("files", (f"n{i}.txt", b"some words")) for i in range(4)]
        response = client.post("/documents", files=files, headers=as_key(a))
        assert response.status_code == 413 and "RAG_MAX_UPLOAD_FILES" in response.json()["detail"]
        upload(client, a, "one.txt", content=b"the first note")
        upload(client, a, "two.txt", content=b"the second note")
        response = client.post("/documents", files=[("files", ("three.txt", b"a third"))], headers=as_key(a))
        assert response.status_code == 413 and response.json()["error"] == "QuotaExceeded"
        assert [d["name"] for d in client.get("/documents", headers=as_key(a)).json()] == ["one.txt", "two.txt"]
        _, state = upload(client, a, "two.txt", content=b"the second note, revised")  # replacing is not adding
        assert state["status"] == "done"
        upload(client, b, "three.txt", content=b"another tenant's quota")


def test_concurrent_uploads_never_pass_the_quota(settings, embedder, fake_llm):
    """20 uploads at once against 10 documents, 8 of 200 KB at once against 1 MB: the quota holds exactly."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from service.app import create_app
    from service.container import build_services
    from tests.helpers.servers import serve_app

    services = build_services(settings.model_copy(update={"tenant_max_documents": 10, "tenant_max_mb": 1}),
                              embedder, fake_llm)
    _, key = services.catalog.keys.create("acme")
    with serve_app(create_app(services)) as url:
        def send(name, size):
            body = (f"note {name} " * (size // 12 + 1)).encode()[:size]
            return httpx.post(f"{url}/documents", files=[("files", (name, body))], headers=as_key(key),
                              timeout=120).status_code

        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(send, [f"small-{i}.txt" for i in range(20)], [100] * 20))
        assert codes.count(202) == 10 and codes.count(413) == 10, codes
        assert services.catalog.usage("acme")[0] == 10
        acme = services.library.for_tenant("acme")
        for doc in acme.documents():
            acme.delete_document(doc.id)
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(send, [f"big-{i}.txt" for i in range(8)], [200_000] * 8))
        assert codes.count(202) == 5 and codes.count(413) == 3, codes
        assert services.catalog.usage("acme")[1] <= 2**20


def test_keys_commands_while_the_service_runs(client, settings):
    env = {**os.environ, "RAG_DATA_DIR": str(settings.data_dir)}
    rag = [sys.executable, "-m", "service"]

    def run(*args):
        done = subprocess.run([*rag, *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    assert client.get("/documents").status_code == 200
    created = run("keys", "create", "acme")
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("rag-") and len(key) > 40 and "acme" in created.stderr
    assert client.get("/documents").status_code == 401  # the running service noticed
    assert client.get("/documents", headers=as_key(key)).status_code == 200
    [listed] = json.loads(run("keys", "list", "--json").stdout)
    assert listed["tenant"] == "acme" and key.startswith(listed["prefix"]) and key not in json.dumps(listed)
    assert key not in (settings.data_dir / "rag.sqlite3").read_bytes().decode("latin-1")  # only its hash is kept
    run("keys", "revoke", listed["id"])
    assert client.get("/documents", headers=as_key(key)).status_code == 401
    bad = subprocess.run([*rag, "keys", "create", "../x"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "invalid tenant" in bad.stderr


def test_without_a_key_no_body_is_read(tmp_path):
    """An upload without a key is refused before its body is read: nobody can make the service spool
    hundreds of megabytes only to be told 401. The client sends 1 MB of a declared 100 MB and waits."""
    import socket

    from tests.helpers.servers import free_port, start_service

    port = free_port()
    process = start_service(tmp_path / "store", port, open(tmp_path / "serve.log", "w"), RAG_AUTH="on",
                            RAG_MAX_UPLOAD_MB="200")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      b"Content-Length: 104857600\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"files\"; "
                      b"filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 2**20)
            reply = s.recv(65536)  # a timeout here: the service waits for the rest of the body
            while b'"}' not in reply and (more := s.recv(65536)):  # the body may come in a packet of its own
                reply += more
        assert reply.startswith(b"HTTP/1.1 401") and b'"error":"Unauthorized"' in reply
    finally:
        process.terminate()
        process.wait(timeout=30)
