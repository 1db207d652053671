"""Every shared dependency can go away mid-traffic and come back: private instances this test starts and
stops (Redis, PostgreSQL, the large model's endpoint; Chroma's server and Redis as the queue are in
test_faults.py). Each loss answers with its reason (a 503 naming it, or a local answer marked why), /health
says which, and the service recovers without a restart."""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.llm import FakeLLM
from tests.helpers.flaky_provider import flaky_provider
from tests.helpers.servers import free_port, serve_app, start_redis

pytestmark = pytest.mark.integration
QUESTION = "How many days of paid vacation does an employee get?"


def app(tmp_path, embedder, llm=None, **values):
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services

    settings = Settings(_env_file=None, data_dir=tmp_path / "store", cache=False, rate_limit="",
                        chat_rate_limit="", **values)
    return TestClient(create_app(build_services(settings, embedder, llm or FakeLLM())))


def ask(client) -> dict:
    response = client.post("/chat", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_budgets_redis_and_the_large_model_away_then_back(tmp_path, embedder):
    """With Redis (the budget) gone, an answer that wants the large model is answered locally, marked
    large_unavailable and naming the budget: no call is made that the budget cannot count. So with the
    provider gone. /health names Redis; both come back without a restart."""
    port = free_port()
    redis_server = start_redis(port, tmp_path)
    local = FakeLLM(refusal_chance=0.9, support=0.9)  # hesitates on everything: every answer wants the large model
    provider = serve_app(flaky_provider(rate_limited=0, hangs=0, reply="Twenty-five days [1]"))
    large = provider.__enter__()
    try:
        with app(tmp_path, embedder, local, escalation="when_needed", large_url=f"{large}/v1",
                 large_model="big", large_rpm=100, large_tpm=1_000_000,
                 redis_url=f"redis://127.0.0.1:{port}/0") as client:
            job = client.post("/documents", files=[("files", ("handbook.md", b"Employees get 25 days of paid "
                                                                             b"vacation a year."))]).json()
            deadline = time.monotonic() + 60
            while client.get(f"/jobs/{job['job_id']}").json()["status"] not in ("done", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert ask(client)["answered_by"] == "large"
            assert client.get("/health").json()["redis"] == "ok"

            redis_server.terminate()
            redis_server.wait()
            answer = ask(client)
            assert (answer["answered_by"], answer["answered_by_reason"]) == ("local", "large_unavailable")
            assert "budget" in answer["answered_by_detail"] and "Redis" in answer["answered_by_detail"]
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["redis"].startswith("unreachable")
            assert any("Redis" in p for p in health.json()["problems"])

            redis_server = start_redis(port, tmp_path)
            assert ask(client)["answered_by"] == "large"
            assert client.get("/health").status_code == 200

            provider.__exit__(None, None, None)  # the provider's endpoint goes away
            provider = None
            answer = ask(client)
            assert (answer["answered_by"], answer["answered_by_reason"]) == ("local", "large_unavailable")
    finally:
        if provider is not None:
            provider.__exit__(None, None, None)
        redis_server.terminate()
        redis_server.wait()


def postgres_binaries() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's server binaries and root (a private cluster runs as user postgres)")
    return os.path.dirname(found[-1])


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own on a free port (the machine's is shared): stopped and started."""

    def __init__(self):
        self.bin = postgres_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="smallrag-pg-"))  # pytest's tmp_path is closed to other users
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        self.data.mkdir()
        shutil.chown(self.data, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin}/{tool}", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def test_postgresql_away_then_back(tmp_path, embedder):
    pg = PrivatePostgres()
    pg.start()
    try:
        with app(tmp_path, embedder, catalog_url=pg.url) as client:
            assert client.get("/health").status_code == 200
            assert client.post("/collections", json={"name": "legal"}).status_code == 201

            pg.stop()
            for method, path, body in [("GET", "/documents", None), ("POST", "/collections", {"name": "hr"}),
                                       ("POST", "/chat", {"question": QUESTION})]:
                response = client.request(method, path, json=body)
                assert response.status_code == 503, (path, response.text)
                assert response.json()["error"] == "BackendUnavailable" and "catalog" in response.json()["detail"]
            health = client.get("/health")
            assert health.status_code == 503 and "the catalog database cannot be reached" in health.json()["problems"]

            pg.start()
            assert client.get("/health").status_code == 200
            assert [c["name"] for c in client.get("/collections").json()] == ["default", "legal"]
            assert client.post("/collections", json={"name": "hr"}).status_code == 201
    finally:
        pg.remove()
