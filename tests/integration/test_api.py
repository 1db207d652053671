"""The HTTP API with the real store, embedding model and ingest worker; the LLM is the fake here."""

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.llm import FakeLLM
from tests.conftest import SAMPLES
from tests.helpers.pdfgen import encrypt_pdf, make_pdf

pytestmark = pytest.mark.integration


@pytest.fixture
def fake_llm():
    return FakeLLM()


@pytest.fixture
def client(settings, embedder, fake_llm):
    from service.app import create_app
    from service.container import build_services

    settings.max_file_mb = 1
    services = build_services(settings, embedder, fake_llm)
    with TestClient(create_app(services)) as client:
        yield client


def upload(client, *files, collection=None):
    data = {"collection": collection} if collection else {}
    return client.post("/documents", files=[("files", f) for f in files], data=data)


def wait_for(client, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def sample(name):
    return (name, (SAMPLES / name).read_bytes())


def test_upload_ingest_chat_cite_delete(client, fake_llm):
    response = upload(client, sample("employee-handbook.md"), sample("travel-expense-policy.pdf"))
    assert response.status_code == 202
    body = response.json()
    assert [d["name"] for d in body["documents"]] == ["employee-handbook.md", "travel-expense-policy.pdf"]
    job = wait_for(client, body["job_id"])
    assert job["status"] == "done" and job["done"] == 2
    assert {f["outcome"] for f in job["files"]} == {"ingested"}

    pdf_id = body["documents"][1]["document_id"]
    doc = client.get(f"/documents/{pdf_id}").json()
    assert doc["status"] == "ingested" and doc["chunks"] >= 2 and doc["type"] == "pdf" and doc["pages"] == 2
    assert len(client.get("/documents").json()) == 2

    fake_llm.enqueue("45 euros for domestic trips [1]")
    answer = client.post("/chat", json={"question": "What is the daily meal allowance for domestic trips?"}).json()
    assert answer["answer"] == "45 euros for domestic trips [1]" and not answer["refused"]
    [citation] = answer["citations"]
    assert citation["document_id"] == pdf_id and citation["page"] == 2
    assert citation["name"] == "travel-expense-policy.pdf" and "45 euros" in citation["excerpt"]
    assert "meal allowance is 45 euros" in fake_llm.history[-1][-1]["content"]  # the passage reached the model
    assert set(answer["timings"]) >= {"retrieval_s", "first_token_s", "total_s"}

    assert client.delete(f"/documents/{pdf_id}").status_code == 204
    assert client.get(f"/documents/{pdf_id}").status_code == 404
    fake_llm.enqueue("no idea")
    client.post("/chat", json={"question": "What is the daily meal allowance for domestic trips?"})
    assert "meal allowance is 45 euros" not in fake_llm.history[-1][-1]["content"]
    assert client.delete(f"/documents/{pdf_id}").status_code == 404


def test_unrelated_question_is_refused_without_calling_the_model(client, fake_llm):
    wait_for(client, upload(client, sample("release-notes.txt")).json()["job_id"])
    calls = len(fake_llm.history)
    answer = client.post("/chat", json={"question": "Who painted the Mona Lisa?"}).json()
    assert answer["refused"] and answer["citations"] == []
    assert len(fake_llm.history) == calls


def test_model_saying_not_found_is_a_refusal(client, fake_llm):
    wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
    fake_llm.enqueue("NOT FOUND")
    answer = client.post("/chat", json={"question": "How many vacation days do interns get in Japan?"}).json()
    assert answer["refused"] and answer["answer"] == "The documents do not contain an answer to this question."


def test_answer_style_can_be_asked_for(client, fake_llm):
    from rag.answer import SYSTEM_LONG

    wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
    fake_llm.enqueue("Every employee has 28 days of paid vacation per calendar year [1]. Up to 5 unused days carry over [1].",
                    "28 days [1]")
    answer = client.post("/chat", json={"question": "How many vacation days do I get?", "style": "long"}).json()
    assert answer["style"] == "long" and not answer["refused"] and fake_llm.history[-1][0]["content"] == SYSTEM_LONG
    answer = client.post("/chat", json={"question": "How many vacation days do I get?"}).json()
    assert answer["style"] == "short" and fake_llm.history[-1][0]["content"] != SYSTEM_LONG


def test_follow_up_question_is_rewritten_before_retrieval(client, fake_llm):
    wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
    fake_llm.enqueue("How long is parental leave?", "16 weeks [1]")
    messages = [
        {"role": "user", "content": "Tell me about parental leave."},
        {"role": "assistant", "content": "Parents get paid leave [1]."},
        {"role": "user", "content": "How long is it?"},
    ]
    answer = client.post("/chat", json={"messages": messages}).json()
    assert answer["question"] == "How long is parental leave?"
    assert "How long is it?" in fake_llm.history[-2][-1]["content"]
    assert "16 weeks of fully paid parental leave" in fake_llm.history[-1][-1]["content"]


def test_streaming_sends_tokens_then_done(client, fake_llm):
    wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
    fake_llm.enqueue("28 days [1]")
    with client.stream("POST", "/chat", json={"question": "How many vacation days?", "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = [block.split("\n", 1) for block in raw.strip().split("\n\n")]
    kinds = [e[0].removeprefix("event: ") for e in events]
    payloads = [json.loads(e[1].removeprefix("data: ")) for e in events]
    # the passages first (a client shows them while the model reads), then the answer's text, then done
    assert kinds[0] == "sources" and kinds[-1] == "done" and set(kinds[1:-1]) == {"token"}
    assert payloads[0]["sources"][0]["name"] == "employee-handbook.md" and payloads[0]["sources"][0]["excerpt"]
    assert "".join(p["text"] for p in payloads[1:-1]) == payloads[-1]["answer"] == "28 days [1]"
    assert payloads[-1]["citations"][0]["name"] == "employee-handbook.md"


def test_collections_and_document_filters(client, fake_llm):
    assert client.post("/collections", json={"name": "firmware"}).json() == {"name": "firmware", "documents": 0}
    wait_for(client, upload(client, sample("release-notes.txt"), collection="firmware").json()["job_id"])
    handbook = upload(client, sample("employee-handbook.md")).json()
    wait_for(client, handbook["job_id"])
    fake_llm.enqueue("x")
    client.post("/chat", json={"question": "firmware release over-the-air updates", "collection": "firmware"})
    assert "over-the-air" in fake_llm.history[-1][-1]["content"]
    assert [d["name"] for d in client.get("/documents", params={"collection": "firmware"}).json()] == ["release-notes.txt"]
    fake_llm.enqueue("x")
    client.post("/chat", json={"question": "vacation days", "document_ids": [handbook["documents"][0]["document_id"]]})
    assert "28 days of paid vacation" in fake_llm.history[-1][-1]["content"]


def test_an_unknown_collection_is_a_404_never_a_new_one(client):
    for response in (client.post("/chat", json={"question": "anything", "collection": "typo"}),
                     upload(client, sample("release-notes.txt"), collection="typo"),
                     client.get("/documents", params={"collection": "typo"}),
                     client.delete("/collections/typo")):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "CollectionNotFound" and "'typo'" in response.json()["detail"]
    assert [c["name"] for c in client.get("/collections").json()] == ["default"]
    assert client.post("/collections", json={"name": "default"}).status_code == 409
    assert client.post("/collections", json={"name": "bad name!"}).status_code == 400


def test_deleting_a_collection_takes_its_documents_and_the_default_stays(client):
    client.post("/collections", json={"name": "legal"})
    wait_for(client, upload(client, sample("release-notes.txt"), collection="legal").json()["job_id"])
    wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
    assert {c["name"]: c["documents"] for c in client.get("/collections").json()} == {"default": 1, "legal": 1}
    assert client.delete("/collections/legal").status_code == 204
    assert [d["collection"] for d in client.get("/documents").json()] == ["default"]
    assert client.post("/chat", json={"question": "firmware", "collection": "legal"}).status_code == 404
    assert client.delete("/collections/default").status_code == 204
    assert client.get("/collections").json() == [{"name": "default", "documents": 0}]
    assert client.get("/health").json()["chunks"] == 0


@pytest.mark.parametrize(
    "files,status,reason",
    [
        ([("virus.exe", b"MZ\x90\x00")], 415, "unsupported file type"),
        ([("photo.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 32)], 415, "image/png"),
        ([("empty.txt", b"")], 400, "empty file"),
        ([("big.txt", b"a" * (1024 * 1024 + 1))], 413, "upload limit"),
        ([("ok.txt", b"fine"), ("bad.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 32)], 415, "bad.pdf"),
        ([("../../etc/passwd.txt", b"x"), ("passwd.txt", b"y")], 400, "same name"),
    ],
)
def test_bad_uploads_are_rejected_and_nothing_is_stored(client, settings, files, status, reason):
    response = upload(client, *files)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "detail"} and reason in body["detail"]
    assert client.get("/documents").json() == []
    uploads = settings.data_dir / "uploads"
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]


def test_bad_files_that_pass_the_upload_check_fail_in_the_job(client):
    files = [("locked.pdf", encrypt_pdf(make_pdf(["secret"]), "pw")), ("scan.pdf", make_pdf([""])), sample("release-notes.txt")]
    job = wait_for(client, upload(client, *files).json()["job_id"])
    outcomes = {f["source"].rsplit("/", 1)[-1]: (f["outcome"], f["reason"]) for f in job["files"]}
    assert outcomes["locked.pdf"] == ("failed", "the PDF is password-protected")
    assert outcomes["scan.pdf"][0] == "failed" and "nor found by OCR" in outcomes["scan.pdf"][1]  # a blank page
    assert outcomes["release-notes.txt"][0] == "ingested"
    assert job["status"] == "done" and job["error"] == "2 of 3 files failed"


@pytest.mark.parametrize(
    "method,path,body,status",
    [
        ("post", "/chat", {}, 422),
        ("post", "/chat", {"question": ""}, 422),
        ("post", "/chat", {"question": "hi", "top_k": 0}, 422),
        ("post", "/chat", {"question": "hi", "style": "essay"}, 422),
        ("post", "/chat", {"messages": [{"role": "assistant", "content": "hi"}]}, 422),
        ("post", "/chat", {"question": "hi", "collection": "no such/collection"}, 400),
        ("post", "/chat", {"question": "hi", "document_ids": [f"d{i}" for i in range(40_000)]}, 422),
        ("post", "/chat", {"messages": [{"role": "user", "content": "hi"}] * 101}, 422),
        ("post", "/chat", {"messages": [{"role": "user", "content": "x" * 5000}]}, 422),
        ("get", "/documents/nope", None, 404),
        ("delete", "/documents/nope", None, 404),
        ("get", "/jobs/nope", None, 404),
        ("get", "/nowhere", None, 404),
    ],
)
def test_error_responses_are_json(client, method, path, body, status):
    response = getattr(client, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == status
    assert set(response.json()) == {"error", "detail"}


def test_health_and_openapi(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["store"] == "ok" and health["queue_depth"] == 0
    assert "/chat" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_need_no_internet(client, page):
    import re

    html = client.get(page).text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
    urls = [a or b for a, b in assets]
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_llm_server_down_is_503(settings, embedder):
    from service.app import create_app
    from service.container import build_services

    settings.llm_backend, settings.llm_url = "openai", "http://127.0.0.1:9"
    services = build_services(settings, embedder)
    with TestClient(create_app(services, warm_up=True)) as client:  # the service starts all the same
        wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
        response = client.post("/chat", json={"question": "How many vacation days?"})
    assert response.status_code == 503
    assert "cannot reach the LLM server" in response.json()["detail"]


def test_backend_failing_mid_stream_ends_with_an_error_event(settings, embedder):
    from rag.errors import BackendUnavailable
    from service.app import create_app
    from service.container import build_services

    class DropsOut(FakeLLM):
        def stream(self, messages, max_tokens, stop=None, avoid_start=None):
            yield "Partial "
            raise BackendUnavailable("the LLM server went away")

    with TestClient(create_app(build_services(settings, embedder, DropsOut()))) as client:
        wait_for(client, upload(client, sample("employee-handbook.md")).json()["job_id"])
        with client.stream("POST", "/chat", json={"question": "How many vacation days?", "stream": True}) as r:
            assert r.status_code == 200
            raw = r.read().decode()
    events = [block.split("\n", 1) for block in raw.strip().split("\n\n")]
    assert [e[0] for e in events] == ["event: sources", "event: error"]  # a short answer is held whole
    assert json.loads(events[-1][1].removeprefix("data: ")) == {
        "error": "BackendUnavailable", "detail": "the LLM server went away"}


def test_a_docx_upload_is_ingested(client):
    """Its type check opened the client's bare file name in the server's working directory: 500."""
    body = upload(client, sample("onboarding-checklist.docx"))
    assert body.status_code == 202, body.text
    job = wait_for(client, body.json()["job_id"])
    assert job["status"] == "done" and job["files"][0]["outcome"] == "ingested"


def test_uploads_leave_no_file_descriptor_open(client):
    """mkstemp's descriptor was never closed: uploads failed after ~1,000 files under the usual limit."""
    import os

    def open_files():
        return len(os.listdir("/proc/self/fd"))

    wait_for(client, upload(client, ("warm.txt", b"warm up")).json()["job_id"])
    before = open_files()
    body = upload(client, *[(f"note-{i}.txt", f"note {i}".encode()) for i in range(100)])
    assert body.status_code == 202
    wait_for(client, body.json()["job_id"])
    assert open_files() - before < 30  # a descriptor per file would be 100


@pytest.mark.parametrize("name", ["a" * 1000 + ".txt", "отчёт-" * 60 + ".md", "報告" * 120 + ".txt"])
def test_file_names_longer_than_a_file_system_allows_are_shortened(client, name):
    """A name over 255 bytes was a 500 (the file system refused it)."""
    body = upload(client, (name, b"The garage opens at 6am."))
    assert body.status_code == 202, body.text
    stored = body.json()["documents"][0]["name"]
    assert len(stored.encode()) <= 200 and stored.endswith(Path(name).suffix) and stored[:3] == name[:3]
    assert wait_for(client, body.json()["job_id"])["status"] == "done"


def test_an_oversized_body_is_refused_before_it_is_read(settings, embedder):
    """A 2 GB upload was read whole before its 413."""
    import socket

    import httpx

    from service.app import create_app
    from service.container import build_services
    from tests.helpers.servers import serve_app

    small = settings.model_copy(update={"max_upload_mb": 1, "max_body_mb": 0.5})
    with serve_app(create_app(build_services(small, embedder, FakeLLM()))) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:  # declares 3 GB, sends nothing
            raw.sendall(b"POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                        b"Content-Length: 3000000000\r\n\r\n")
            reply = raw.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 413") and "at most 1 MB" in reply

        def chunks(size):  # no Content-Length: counted as it comes
            for _ in range(size // 65536):
                yield b"x" * 65536

        response = httpx.post(f"{url}/chat", content=chunks(2 * 2**20), headers={"content-type": "application/json"})
        assert response.status_code == 413 and response.json()["error"] == "FileTooLarge"
        parts = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
        response = httpx.post(f"{url}/documents", content=iter([parts, *chunks(3 * 2**20)]),
                              headers={"content-type": "multipart/form-data; boundary=b"})
        assert response.status_code == 413
        ok = httpx.post(f"{url}/documents", files=[("files", ("fine.txt", b"The garage opens at 6am."))])
        assert ok.status_code == 202  # and the service goes on


def test_health_counts_documents_and_chunks_apart(client):
    wait_for(client, upload(client, sample("employee-handbook.md"), sample("release-notes.txt")).json()["job_id"])
    health = client.get("/health").json()
    assert health["documents"] == 2 and health["chunks"] > 2 and health["problems"] == []


def test_health_is_degraded_when_the_disk_is_nearly_full(client, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 50 * 2**20, 50 * 2**20))
    response = client.get("/health")
    assert response.status_code == 503 and response.json()["status"] == "degraded"
    assert "50 MB free" in response.json()["problems"][0]


def test_health_is_degraded_while_one_answer_holds_the_model_too_long(settings, embedder):
    """/health said ok while every /chat waited behind a wedged one."""
    from service.app import create_app
    from service.container import build_services

    class Stuck(FakeLLM):
        def busy_for(self):
            return 1000.0

    with TestClient(create_app(build_services(settings, embedder, Stuck()))) as client:
        client.post("/chat", json={"question": "hi"})  # loads the model
        response = client.get("/health")
    assert response.status_code == 503 and "held by one answer for 1000 s" in response.json()["problems"][0]


@pytest.mark.parametrize("code", ["ENOSPC", "EROFS"])
def test_a_full_or_read_only_disk_is_a_clear_error_and_stores_nothing(client, settings, monkeypatch, code):
    import errno

    from ingest import uploads

    real = uploads._copy_limited
    calls = []

    def fails_on_the_second(stream, target, *args):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(getattr(errno, code), "No space left on device")
        return real(stream, target, *args)

    monkeypatch.setattr(uploads, "_copy_limited", fails_on_the_second)
    response = upload(client, ("a.txt", b"first"), ("b.txt", b"second"))
    assert response.status_code == 507 and response.json()["error"] == "StorageFull"
    assert client.get("/documents").json() == []
    assert not [p for p in (settings.data_dir / "uploads").rglob("*") if p.is_file()]  # nothing half-written


def test_an_oversized_body_under_v1_is_refused_in_openais_shape(settings, embedder):
    from service.app import create_app
    from service.container import build_services

    small = settings.model_copy(update={"max_body_mb": 0.1})
    with TestClient(create_app(build_services(small, embedder, FakeLLM()))) as client:
        body = {"model": "rag", "messages": [{"role": "user", "content": "x" * 4000}] * 40}
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


def test_health_is_degraded_when_the_catalog_database_goes_away(settings, embedder, fake_llm):
    from contextlib import contextmanager

    from sqlalchemy import create_engine, text

    from service.app import create_app
    from service.container import build_services
    from tests.helpers.databases import POSTGRES, postgres_database

    with contextmanager(postgres_database)() as url:
        services = build_services(settings.model_copy(update={"catalog_url": url}), embedder, fake_llm)
        with TestClient(create_app(services)) as client:
            assert client.get("/health").json()["catalog"] == "ok"
            admin = create_engine(f"{POSTGRES}/postgres".replace("postgresql://", "postgresql+psycopg://"),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as c:  # the database's connections are cut, as when its server restarts
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                          {"d": url.rsplit("/", 1)[1]})
                c.execute(text(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" WITH ALLOW_CONNECTIONS false'))
            response = client.get("/health")
            assert response.status_code == 503, response.json()
            assert "the catalog database cannot be reached" in response.json()["problems"]
            documents = client.get("/documents")
            assert documents.status_code == 503 and documents.json()["error"] == "BackendUnavailable"
            assert "the catalog at postgresql+psycopg://postgres@127.0.0.1:5432/" in documents.json()["detail"]
            with admin.connect() as c:
                c.execute(text(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" WITH ALLOW_CONNECTIONS true'))
            assert client.get("/health").json()["catalog"] == "ok"  # and back when it is


def test_answers_wait_in_line_for_the_model_and_past_the_line_get_503(settings, embedder):
    import threading

    from service.app import create_app
    from service.container import build_services

    gate = threading.Event()

    class HeldLLM(FakeLLM):
        """Writes once the test lets it: the first answer holds the model as long as the test wants."""

        def stream(self, *args, **kwargs):
            gate.wait(30)
            yield from super().stream(*args, **kwargs)

    settings = settings.model_copy(update={"max_waiting_answers": 1, "cache": False})
    services = build_services(settings, embedder, HeldLLM())
    question = {"question": "What is the daily meal allowance abroad?"}
    with TestClient(create_app(services)) as client:
        wait_for(client, upload(client, sample("travel-expense-policy.pdf")).json()["job_id"])
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(client.post("/chat", json=question)))
                   for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.3)
        assert services.answers.turns.waiting() == 1  # one answering, one in line
        busy = client.post("/chat", json=question)
        assert busy.status_code == 503 and busy.json()["error"] == "ServiceBusy"
        assert int(busy.headers["Retry-After"]) >= 1
        gate.set()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [200, 200]
        queued = sorted(a.json()["timings"]["queued_s"] for a in answers)
        assert queued[0] < 0.1 and queued[1] > 0.2  # the second waited for the first, and says so
        metrics = client.get("/metrics").text
        assert "rag_answer_queued_seconds_count 2.0" in metrics and "rag_answers_waiting 0.0" in metrics


def test_cors_is_off_unless_origins_are_set(settings, embedder, fake_llm):
    from service.app import create_app
    from service.container import build_services

    preflight = {"Origin": "https://intranet.example", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(build_services(settings, embedder, fake_llm))) as client:
        assert "access-control-allow-origin" not in client.options("/chat", headers=preflight).headers
    allowed = settings.model_copy(update={"cors_origins": ["https://intranet.example"]})
    with TestClient(create_app(build_services(allowed, embedder, fake_llm))) as client:
        response = client.options("/chat", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://intranet.example"
        other = client.options("/chat", headers={**preflight, "Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_an_upload_while_the_queue_is_away_is_a_503_and_nothing_half_done(settings, embedder, fake_llm):
    from service.app import create_app
    from service.container import build_services
    from tests.helpers.servers import free_port

    away = settings.model_copy(update={"queue": "redis", "redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    services = build_services(away, embedder, fake_llm)
    with TestClient(create_app(services)) as client:
        response = upload(client, sample("release-notes.txt"))
        assert response.status_code == 503 and response.json()["error"] == "BackendUnavailable"
        assert "the job queue is unreachable" in response.json()["detail"]
        health = client.get("/health").json()
        assert health["problems"][0] == "the job queue cannot be reached" and health["redis"].startswith("unreachable")
    assert services.catalog.job_depth() == 0  # its job is recorded as failed, not left queued forever
    assert services.catalog.list() == []  # and its document is not left pending
