"""The HTTP server's own bounds, before any route or key is looked at: a request's head (request line and
headers) at most 64 KB and 100 headers, read within RAG_HEADER_TIMEOUT_S of its first byte or of the
connection; idle keep-alive connections closed after 5 s; at most RAG_MAX_CONNECTIONS at once (503 past it).
Four clients once sent 256 MB of headers without a key, and 300 slowloris connections stayed open."""

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_TARGET_BYTES = 8 * 1024


class BoundedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head; h11 itself bounds its size."""

    header_timeout_s = 10.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._awaiting_head():  # the next request on a kept-alive connection
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)
        super().data_received(data)
        if self._head_timer is not None and not self._awaiting_head():
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._awaiting_head() and not self.transport.is_closing():
            self.logger.info("closed a connection that sent no whole request head in %g s", self.header_timeout_s)
            self.transport.close()


class RequestHead:
    """Pure ASGI middleware: too many headers (431) or too long a target (414), refused before anything else."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            status = (431 if len(scope["headers"]) > MAX_HEADERS else
                      414 if len(scope.get("raw_path") or b"") + len(scope["query_string"]) > MAX_TARGET_BYTES else 0)
            if status:
                from fastapi.responses import JSONResponse

                detail = (f"more than {MAX_HEADERS} headers" if status == 431 else
                          f"a request target over {MAX_TARGET_BYTES // 1024} KB")
                reply = JSONResponse({"error": "RequestHeadTooLarge", "detail": detail}, status_code=status,
                                     headers={"connection": "close"})
                return await reply(scope, receive, send)
        await self.app(scope, receive, send)


def server_config(app, host: str, port: int, settings, **options) -> uvicorn.Config:
    protocol = type("Bounded", (BoundedH11,), {"header_timeout_s": settings.header_timeout_s})
    return uvicorn.Config(app, host=host, port=port, http=protocol, h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                          timeout_keep_alive=5, limit_concurrency=settings.max_connections,
                          timeout_graceful_shutdown=30, **options)  # SIGTERM stops it, requests in flight or not


def run(app, host: str, port: int, settings) -> None:
    uvicorn.Server(server_config(app, host, port, settings, log_level="info")).run()
