"""The running service: the HTTP API and the `rag` command, composed from rag/ (read) and ingest/ (write)."""
