"""One record per document: where it came from, its content hash and what became of it."""

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

from rag.chunks import short_hash


def document_id(collection: str, source: str) -> str:
    return short_hash("document", collection, source)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Document:
    id: str
    collection: str
    source: str
    sha256: str | None
    size: int | None
    type: str | None
    status: str  # pending | ingested | failed | duplicate
    error: str | None
    chunks: int
    duplicate_of: str | None
    created_at: str
    updated_at: str
    chunking: str | None = None


class Registry:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def get(self, doc_id: str) -> Document | None:
        row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return Document(**dict(row)) if row else None

    def list(self, collection: str | None = None, status: str | None = None) -> list[Document]:
        query, args = "SELECT * FROM documents WHERE 1=1", []
        if collection:
            query += " AND collection = ?"
            args.append(collection)
        if status:
            query += " AND status = ?"
            args.append(status)
        rows = self.conn.execute(query + " ORDER BY collection, source", args).fetchall()
        return [Document(**dict(r)) for r in rows]

    def find_ingested_copy(self, collection: str, sha256: str, exclude_id: str) -> Document | None:
        row = self.conn.execute(
            "SELECT * FROM documents WHERE collection = ? AND sha256 = ? AND status = 'ingested' AND id != ?"
            " ORDER BY created_at LIMIT 1",
            (collection, sha256, exclude_id),
        ).fetchone()
        return Document(**dict(row)) if row else None

    def upsert(self, doc_id: str, collection: str, source: str, **fields) -> None:
        now = _now()
        fields.setdefault("status", "pending")
        existing = self.get(doc_id)
        if existing is None:
            cols = ["id", "collection", "source", "created_at", "updated_at", *fields]
            values = [doc_id, collection, source, now, now, *fields.values()]
            self.conn.execute(
                f"INSERT INTO documents ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
            )
        else:
            sets = ", ".join(f"{k} = ?" for k in fields)
            self.conn.execute(
                f"UPDATE documents SET {sets}, updated_at = ? WHERE id = ?", [*fields.values(), now, doc_id]
            )

    def delete(self, doc_id: str) -> None:
        self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def bump_version(self, collection: str) -> None:
        """A collection's content changed: answers cached for it before are stale."""
        self.conn.execute(
            "INSERT INTO collection_versions (collection, version) VALUES (?, 1)"
            " ON CONFLICT (collection) DO UPDATE SET version = version + 1", (collection,),
        )

    def collections(self) -> "list[str]":
        return [r[0] for r in self.conn.execute("SELECT DISTINCT collection FROM documents ORDER BY collection")]
