"""What an ingest run reports: each file's outcome, and the run's summary."""

from concurrent.futures import TimeoutError
from dataclasses import asdict, dataclass, field

from pebble import ProcessExpired

from rag.errors import UnsupportedFile


@dataclass
class FileReport:
    source: str
    outcome: str  # ingested | replaced | unchanged | duplicate | failed | skipped
    document_id: str | None = None
    type: str | None = None
    chunks: int = 0
    reason: str = ""
    note: str = ""


@dataclass
class Summary:
    collection: str
    files: list[FileReport] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)

    @property
    def chunks_added(self) -> int:
        return sum(f.chunks for f in self.files if f.outcome in ("ingested", "replaced"))

    def to_dict(self) -> dict:
        outcomes = ("ingested", "replaced", "unchanged", "duplicate", "failed", "skipped")
        return {
            "collection": self.collection,
            **{outcome: self.count(outcome) for outcome in outcomes},
            "chunks_added": self.chunks_added,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 2),
            "interrupted": self.interrupted,
            "failures": [{"source": f.source, "reason": f.reason} for f in self.files if f.outcome == "failed"],
            "files": [asdict(f) for f in self.files],
        }


def failure_reason(error: BaseException, settings) -> str:
    if isinstance(error, UnsupportedFile):
        return str(error)
    if isinstance(error, TimeoutError):
        return (f"parsing took longer than its bound: 20 s and {settings.parse_seconds_per_mb:g} s per MB of the file, "
                f"at most {settings.parse_timeout_s:g} s (RAG_PARSE_SECONDS_PER_MB, RAG_PARSE_TIMEOUT_S)")
    if isinstance(error, MemoryError):
        return f"parsing needed more than {settings.parse_memory_mb} MB of memory (RAG_PARSE_MEMORY_MB)"
    if isinstance(error, ProcessExpired):
        return (
            f"the parser crashed (exit code {error.exitcode}): the file is corrupt or needs more than "
            f"{settings.parse_memory_mb} MB (RAG_PARSE_MEMORY_MB)"
        )
    return f"could not read the file: {type(error).__name__}: {error}"
