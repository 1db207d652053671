"""Domain errors; the CLI and the HTTP API map them to exit codes and status codes at the edge."""


class RagError(Exception):
    """Base class for errors the service reports to users (HTTP 400 unless a subclass says otherwise)."""

    status_code = 400

    def __init__(self, message: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after  # seconds: sent as Retry-After (429, 503)


class UnsupportedFile(RagError):
    """A file we cannot read: wrong type, corrupt, encrypted, empty or too large."""

    status_code = 415


class FileTooLarge(UnsupportedFile):
    status_code = 413


class StoreBusy(RagError):
    """Another process holds the embedded store."""

    status_code = 503


class DocumentNotFound(RagError):
    status_code = 404


class CollectionNotFound(DocumentNotFound):
    """A request names a collection nobody created: 404, never a new empty collection."""


class Conflict(RagError):
    status_code = 409


class BackendUnavailable(RagError):
    """A backend (vector store server, LLM, model file) is missing or cannot be reached."""

    status_code = 503


class RateLimited(BackendUnavailable):
    """A provider (or our own limiter) refuses more requests for now."""

    status_code = 429


class ServiceBusy(BackendUnavailable):
    """More questions wait for the model than the service queues: come back after `retry_after` seconds."""

    status_code = 503


class Unauthorized(RagError):
    """No API key, or not a valid one, where auth is on."""

    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(RagError):
    """A valid key that may not do this (e.g. a tenant's key reading every tenant's metrics)."""

    status_code = 403


class TooManyRequests(RagError):
    """This key (or client) sent more requests than RAG_RATE_LIMIT allows: wait `retry_after` seconds."""

    status_code = 429


class QuotaExceeded(RagError):
    """An upload would take the tenant past its documents or bytes limit."""

    status_code = 413


class ContextTooLong(RagError):
    """The question, its history and its sources are more than the model can read at once."""


class StorageFull(RagError):
    """The server's disk is full: nothing was stored."""

    status_code = 507
