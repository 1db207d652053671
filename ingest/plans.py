"""What an ingest run plans for each file before it parses any."""

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Job:
    path: Path
    source: str
    location: str | None
    document_id: str
    sha256: str
    size: int
    replacing: bool
    note: str = ""


@dataclass
class Copy:
    """A file with the same content as one this run is about to ingest: settled by that one's outcome."""
    source: str
    document_id: str
    sha256: str
    size: int
    original: Job
    location: str | None = None
