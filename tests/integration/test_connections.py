"""`rag serve`'s own bounds on clients, over real sockets: an oversized or overlong head is refused, a slow
client (slowloris) and an idle connection are closed, and the service keeps serving the others."""

import socket
import time

import httpx
import pytest

from tests.helpers.servers import free_port, start_service

pytestmark = pytest.mark.integration
TIMEOUT_S = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conn")
    port = free_port()
    log = open(folder / "serve.log", "w")
    process = start_service(folder / "store", port, log, RAG_HEADER_TIMEOUT_S=str(TIMEOUT_S), RAG_RATE_LIMIT="")
    yield port
    process.terminate()
    process.wait(timeout=30)


def connect(port) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before closing; fails if it is still open after `seconds`."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pytest.fail(f"the connection was still open after {seconds} s")
    except ConnectionResetError:
        pass
    return received


def healthy(port) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200


def test_a_slow_client_is_cut_off_and_others_are_served(server):
    slow = [connect(server) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    for _ in range(TIMEOUT_S * 2):  # a header byte a second: each keeps it open, but the head's deadline holds
        assert healthy(server)
        for sock in slow:
            try:
                sock.sendall(b"X")
            except OSError:
                pass
        time.sleep(1)
    for sock in slow:
        closed_within(sock, TIMEOUT_S + 5)
    assert time.monotonic() - started < TIMEOUT_S * 2 + 30


def test_an_idle_connection_is_closed(server):
    closed_within(connect(server), TIMEOUT_S + 5)


def test_an_oversized_head_is_refused_without_being_kept(server):
    sock = connect(server)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    try:
        for _ in range(64):  # 4 MB of one header: h11 stops at 64 KB
            sock.sendall(b"X-Big: " + b"a" * 65536 + b"\r\n")
    except OSError:
        pass  # closed under us: refused
    reply = closed_within(sock, 10)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert healthy(server)


def test_too_many_headers_or_too_long_a_target_is_a_4xx(server):
    many = {f"x-h{i}": "1" for i in range(150)}
    response = httpx.get(f"http://127.0.0.1:{server}/health", headers=many, timeout=10)
    assert response.status_code == 431 and response.json()["error"] == "RequestHeadTooLarge"
    response = httpx.get(f"http://127.0.0.1:{server}/documents?x=" + "a" * 10_000, timeout=10)
    assert response.status_code == 414
    assert healthy(server)
