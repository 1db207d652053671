"""`rag serve` as a real process; `ingest` and `rag ask` started beside it behave as a user expects."""

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ROOT, SAMPLES
from tests.helpers.servers import free_port, wait_until_up

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(tmp_path / "store"), "RAG_LLM_BACKEND": "fake",
           "RAG_SERVICE_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(process, f"{url}/health", "rag serve")
    yield url, env
    process.terminate()
    process.wait(timeout=20)


def test_cli_beside_a_running_service(server):
    url, env = server
    files = [("files", (n, (SAMPLES / n).read_bytes())) for n in ("travel-expense-policy.pdf",)]
    job = httpx.post(f"{url}/documents", files=files).json()["job_id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/jobs/{job}").json()["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert httpx.get(f"{url}/health").json()["llm_loaded"] is True

    ask = subprocess.run([sys.executable, "-m", "service", "ask", "What is the hotel limit in London?", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["citations"][0]["name"] == "travel-expense-policy.pdf"

    ingest = subprocess.run([sys.executable, "-m", "ingest", str(SAMPLES)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert ingest.returncode == 2 and "rag serve at" in ingest.stderr and "--enqueue" in ingest.stderr

    # Queued instead, the running service's own worker ingests them.
    queued = subprocess.run([sys.executable, "-m", "ingest", str(SAMPLES), "--enqueue", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert queued.returncode == 0, queued.stderr
    jobs = [q["job_id"] for q in json.loads(queued.stdout)["queued"]]
    assert len(jobs) == 5
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(
            httpx.get(f"{url}/jobs/{j}").json()["status"] not in ("done", "failed") for j in jobs):
        time.sleep(0.3)
    status = {d["source"]: d["status"] for d in httpx.get(f"{url}/documents").json()}
    assert status["samples/employee-handbook.md"] == "ingested"
    assert status["samples/travel-expense-policy.pdf"] == "duplicate"  # the same bytes as the upload above
