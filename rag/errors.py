"""Domain errors; the CLI and the HTTP API map them to exit codes and status codes at the edge (service/errors.py)."""


class RagError(Exception):
    """Base class for errors the service reports to users (HTTP 400 unless service/errors.py says otherwise)."""

    def __init__(self, message: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after  # seconds: sent as Retry-After (429, 503)


class UnsupportedFile(RagError):
    """A file we cannot read: wrong type, corrupt, encrypted, empty or too large."""


class FileTooLarge(UnsupportedFile):
    """Larger than a limit allows (a file, an upload, a request body)."""


class StoreBusy(RagError):
    """Another process holds the embedded store."""


class DocumentNotFound(RagError):
    """No such document (or job) for this caller: another tenant's is as absent as a missing one."""


class CollectionNotFound(DocumentNotFound):
    """A request names a collection nobody created: 404, never a new empty collection."""


class Conflict(RagError):
    """What the request would make exists already."""


class EmbedderMismatch(Conflict):
    """A collection embedded with another model than this service's: its vectors cannot be compared."""


class BackendUnavailable(RagError):
    """A backend (vector store server, LLM, model file) is missing or cannot be reached."""


class RateLimited(BackendUnavailable):
    """A provider (or our own limiter) refuses more requests for now."""


class ServiceBusy(BackendUnavailable):
    """More questions wait for the model than the service queues: come back after `retry_after` seconds."""


class QuotaExceeded(RagError):
    """An upload would take the tenant past its documents or bytes limit."""


class ContextTooLong(RagError):
    """The question, its history and its sources are more than the model can read at once."""


class StorageFull(RagError):
    """The server's disk is full: nothing was stored."""
