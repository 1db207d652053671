"""Start real servers on free local ports for integration tests."""

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(process: subprocess.Popen, url: str, what: str, timeout: float = 90) -> None:
    """Poll `url` until it answers 200; fail the test (and stop the process) if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"{what} did not start")


def start_chroma(path, port) -> subprocess.Popen:
    """A real `chroma run` server keeping its data under path."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_until_up(process, f"http://127.0.0.1:{port}/api/v2/heartbeat", "chroma run")
    return process


def start_s3(port: int) -> subprocess.Popen:
    """A real S3-compatible server (moto's server mode), empty, keeping everything in memory."""
    process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(process, f"http://127.0.0.1:{port}/moto-api/", "moto_server")
    return process


def start_redis(port: int, folder) -> subprocess.Popen:
    """A Redis of this test's own (the machine's is shared): it can be stopped and started again."""
    process = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            redis.Redis(port=port, socket_timeout=1).ping()
            return process
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("redis-server did not start")


def start_service(data_dir, port: int, log, **env) -> subprocess.Popen:
    """`rag serve` as a process (the fake LLM unless env says otherwise), up and answering /health."""
    import os

    from tests.conftest import ROOT

    environment = {**os.environ, "RAG_LLM_BACKEND": "fake", "RAG_DATA_DIR": str(data_dir), **env}
    process = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT,
                               env=environment, stdout=log, stderr=log)
    wait_until_up(process, f"http://127.0.0.1:{port}/health", "rag serve", timeout=120)
    return process


def smollm2_path():
    from rag.models import BUNDLED, locate

    path = locate(BUNDLED["smollm2-135m"], "models")
    if path is None:
        pytest.fail("SmolLM2 is not installed: run scripts/setup.sh smollm2-135m")
    return path


@contextlib.contextmanager
def llama_server(alias: str = "smollm2"):
    """llama-cpp-python's own OpenAI-compatible server with SmolLM2 on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--model_alias", alias,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--logits_all", "true"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(process, f"{url}/v1/models", "llama.cpp server")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def serve_app(app):
    """The app on a free port over real HTTP (uvicorn in a thread); yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        pytest.fail("the app did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
