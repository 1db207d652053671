"""Domain errors; the CLI and the HTTP API map them to exit codes and status codes at the edge."""


class RagError(Exception):
    """Base class for errors the service reports to users."""


class UnsupportedFile(RagError):
    """A file we cannot read: wrong type, corrupt, encrypted, empty or too large."""


class StoreBusy(RagError):
    """Another process holds the embedded store."""


class DocumentNotFound(RagError):
    pass


class BackendUnavailable(RagError):
    """A backend (vector store server, LLM server) cannot be reached."""
