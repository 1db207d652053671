"""The one table from errors to responses: status codes and headers for every error, as a response and as a
streamed error event; ours are {error, detail}, under /v1 OpenAI's shape. The errors only the edge raises
(who may call) live here too."""

from fastapi.responses import JSONResponse

from rag.errors import (
    BackendUnavailable, Conflict, DocumentNotFound, FileTooLarge, QuotaExceeded, RagError, RateLimited, ServiceBusy,
    StorageFull, StoreBusy, UnsupportedFile,
)
from service.openai_api import error_body


class Unauthorized(RagError):
    """No API key, or not a valid one, where auth is on."""


class Forbidden(RagError):
    """A valid key that may not do this (e.g. a tenant's key reading every tenant's metrics)."""


class TooManyRequests(RagError):
    """This key (or client) sent more requests than RAG_RATE_LIMIT allows: wait `retry_after` seconds."""


# Looked up along the error's classes, most specific first: an error not named takes its parent's status.
STATUS: dict[type[RagError], int] = {
    RagError: 400, Unauthorized: 401, Forbidden: 403, DocumentNotFound: 404, Conflict: 409,
    FileTooLarge: 413, QuotaExceeded: 413, UnsupportedFile: 415, TooManyRequests: 429, RateLimited: 429,
    BackendUnavailable: 503, ServiceBusy: 503, StoreBusy: 503, StorageFull: 507,
}
HEADERS: dict[type[RagError], dict[str, str]] = {Unauthorized: {"WWW-Authenticate": "Bearer"}}


def status_of(exc: RagError) -> int:
    return next(STATUS[c] for c in type(exc).__mro__ if c in STATUS)


def _headers_of(exc: RagError) -> dict[str, str] | None:
    headers = next((dict(HEADERS[c]) for c in type(exc).__mro__ if c in HEADERS), {})
    if exc.retry_after:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return headers or None


def _name_of(exc: RagError) -> str:
    return getattr(exc, "code", type(exc).__name__)


def error_response(path: str, status: int, name: str, detail, headers: dict | None = None,
                   param: str | None = None) -> JSONResponse:
    if path.startswith("/v1/"):
        return _openai_error(path, status, name, detail, headers, param)
    return JSONResponse({"error": name, "detail": detail}, status_code=status, headers=headers)


def _openai_error(path: str, status: int, name: str, detail, headers, param) -> JSONResponse:
    """OpenAI's shape and words: a malformed request is a 400 naming its parameter, an unknown path unknown_url."""
    if isinstance(detail, list):
        first = detail[0] if detail else {}
        param = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        name = "missing" if first.get("type") == "missing" else "invalid_value"
        detail = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)
    if status == 404 and name == "HTTPError":
        name = "unknown_url"
    status = 400 if status == 422 else status  # OpenAI says 400 for a malformed request
    return JSONResponse(error_body(status, str(detail), name, param), status_code=status, headers=headers)


def rag_error_response(path: str, exc: RagError) -> JSONResponse:
    return error_response(path, status_of(exc), _name_of(exc), str(exc), _headers_of(exc), getattr(exc, "param", None))


def stream_error(path: str, exc: RagError) -> dict:
    """The body of an error event in a stream already under way (its status was sent with the first byte)."""
    if path.startswith("/v1/"):
        return error_body(status_of(exc), str(exc), _name_of(exc), getattr(exc, "param", None))
    return {"error": _name_of(exc), "detail": str(exc)}
