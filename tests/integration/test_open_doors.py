"""Safe by default without auth: another site's page cannot change anything through a visitor's browser, and
a service reachable from other machines does not start open unless told to (RAG_AUTH=off)."""

import os
import subprocess
import sys

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.llm import FakeLLM
from tests.conftest import ROOT
from tests.helpers.servers import free_port, wait_until_up

pytestmark = pytest.mark.integration
EVIL = {"Origin": "http://evil.example"}


def client_for(tmp_path, embedder, **values):
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services

    settings = Settings(_env_file=None, data_dir=tmp_path / "store", **values)
    return TestClient(create_app(build_services(settings, embedder, FakeLLM())))


def test_another_origin_cannot_change_anything(tmp_path, embedder):
    with client_for(tmp_path, embedder) as client:
        refused = client.post("/documents", files=[("files", ("a.txt", b"replaced by a stranger"))], headers=EVIL)
        assert refused.status_code == 403 and "RAG_CORS_ORIGINS" in refused.json()["detail"]
        assert client.get("/documents").json() == []
        assert client.post("/collections", json={"name": "x"}, headers=EVIL).status_code == 403
        assert client.post("/collections", json={"name": "x"}, headers={"Origin": "null"}).status_code == 403
        assert client.delete("/collections/default", headers=EVIL).status_code == 403
        assert client.get("/collections", headers=EVIL).status_code == 200  # reading: the browser's CORS rules
        # The page itself (its own origin), and clients that are not browsers (no Origin), may.
        assert client.post("/collections", json={"name": "x"}, headers={"Origin": "http://testserver"}).status_code == 201
        assert client.post("/collections", json={"name": "y"}).status_code == 201


def test_an_allowed_origin_may(tmp_path, embedder):
    with client_for(tmp_path, embedder, cors_origins=["https://intranet.example"]) as client:
        ok = client.post("/collections", json={"name": "x"}, headers={"Origin": "https://intranet.example"})
        assert ok.status_code == 201 and ok.headers["access-control-allow-origin"] == "https://intranet.example"
        assert client.post("/collections", json={"name": "y"}, headers=EVIL).status_code == 403


def serve(tmp_path, *args, **env):
    environment = {**os.environ, "RAG_LLM_BACKEND": "fake", "RAG_DATA_DIR": str(tmp_path / "store"), **env}
    return subprocess.Popen([sys.executable, "-m", "service", "serve", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_open_to_other_machines_only_when_told(tmp_path):
    port = free_port()
    refused = serve(tmp_path, "--host", "0.0.0.0", "--port", str(port))
    _, err = refused.communicate(timeout=120)
    assert refused.returncode == 2 and "RAG_AUTH=off" in err and "rag keys create" in err

    made = subprocess.run([sys.executable, "-m", "service", "keys", "create", "default", "--admin", "--unless-any"],
                          cwd=ROOT, env={**os.environ, "RAG_DATA_DIR": str(tmp_path / "store")}, capture_output=True,
                          text=True, timeout=120)
    key = made.stdout.strip().splitlines()[-1]
    again = subprocess.run([sys.executable, "-m", "service", "keys", "create", "default", "--unless-any"], cwd=ROOT,
                           env={**os.environ, "RAG_DATA_DIR": str(tmp_path / "store")}, capture_output=True,
                           text=True, timeout=120)
    assert made.returncode == again.returncode == 0 and again.stdout == ""
    process = serve(tmp_path, "--host", "0.0.0.0", "--port", str(port))
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}/health", "rag serve")
        assert httpx.get(f"http://127.0.0.1:{port}/documents", timeout=10).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/documents", headers={"Authorization": f"Bearer {key}"},
                         timeout=10).status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)
