"""Cross-site requests that change state are refused unless RAG_CORS_ORIGINS allows their origin: with auth
off, a page on any other site could otherwise upload, replace or delete documents through its visitor's
browser (a form post needs no CORS preflight). Clients that are not browsers send no Origin and pass."""

from urllib.parse import urlsplit

SAFE = {"GET", "HEAD", "OPTIONS"}


def _host_of(scope) -> str | None:
    return dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower() or None


class SameOrigin:
    """Pure ASGI middleware: an unsafe method with an Origin that is neither this service's nor allowed is a 403."""

    def __init__(self, app, allowed: list[str]):
        self.app = app
        self.allowed = {a.rstrip("/") for a in allowed}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in SAFE:
            origin = dict(scope["headers"]).get(b"origin", b"").decode("latin-1") or None
            if origin is not None and not self._allowed(origin, scope):
                from fastapi.responses import JSONResponse

                reply = JSONResponse({"error": "Forbidden", "detail": f"requests from {origin} may not change "
                                      "anything here: add it to RAG_CORS_ORIGINS to allow it"}, status_code=403)
                return await reply(scope, receive, send)
        await self.app(scope, receive, send)

    def _allowed(self, origin: str, scope) -> bool:
        if origin in self.allowed or "*" in self.allowed:
            return True
        # The host alone: behind a proxy that ends TLS the page is https and this service sees http.
        own = _host_of(scope)
        return own is not None and origin != "null" and urlsplit(origin).netloc.lower() == own
