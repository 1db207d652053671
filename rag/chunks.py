"""The unit both sides share: a chunk of a document with where it came from."""

import hashlib
import re
from dataclasses import dataclass, field

from rag.errors import RagError

# Matched against the whole string (fullmatch): `$` alone admits a trailing newline ("x\n").
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def check_collection(name: str) -> str:
    """The one check of every name a request, the CLI or the catalog gives a collection or a tenant."""
    if not isinstance(name, str) or not _COLLECTION_NAME.fullmatch(name):
        raise RagError(
            f"invalid collection name {name!r}: use 1-63 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def short_hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


@dataclass
class Chunk:
    id: str
    document_id: str
    collection: str
    source: str
    text: str
    index: int
    start: int
    end: int
    page: int | None = None
    headings: str = ""
    score: float = field(default=0.0, compare=False)

    def metadata(self) -> dict:
        meta = {
            "document_id": self.document_id,
            "collection": self.collection,
            "source": self.source,
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "headings": self.headings,
        }
        if self.page is not None:
            meta["page"] = self.page
        return meta

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict, score: float = 0.0) -> "Chunk":
        return cls(
            id=chunk_id,
            text=text,
            document_id=meta["document_id"],
            collection=meta["collection"],
            source=meta["source"],
            index=int(meta.get("index", 0)),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            page=meta.get("page"),
            headings=meta.get("headings") or "",
            score=score,
        )
