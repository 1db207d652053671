"""Uploaded files: their records in the catalog, their bytes in the blob store (rag.blobs) or, with none, in the
catalog's own rows (a part of SqlCatalog).

Bytes are written before the transaction that records them (an object store is slow to hold a lock over) and
removed again when it fails; the bytes a replacement or a delete leaves behind are removed after it commits."""

from __future__ import annotations

import contextlib

from sqlalchemy import delete, func, insert, select, text

from rag.catalog import tables as t
from rag.catalog.base import NewUpload
from rag.catalog.tables import now
from rag.errors import RagError


def blob_key(document_id: str, sha256: str) -> str:
    return f"{document_id}/{sha256}"


class SqlUploads:
    """Mixed into SqlCatalog, whose `_read`, `_write`, `_usage` and `blobs` it uses."""

    blobs = None

    def put_uploads(self, uploads: list[NewUpload], tenant: str, check) -> None:
        fresh = self._keep_bytes([(u.document_id, u.sha256, u.read) for u in uploads])
        try:
            with self._write() as conn:  # SQLite: BEGIN IMMEDIATE, one writer at a time
                if self.engine.dialect.name == "postgresql":  # the tenant's uploads one at a time, to their commit
                    conn.execute(text("SELECT pg_advisory_xact_lock(7244, hashtext(:tenant))"), {"tenant": tenant})
                count, size = self._usage(conn, tenant)
                d = t.documents.c
                replaced = conn.execute(select(func.count(), func.coalesce(func.sum(d.size), 0)).where(
                    d.id.in_([u.document_id for u in uploads]), d.status != "failed")).one()
                check(count - replaced[0] + len(uploads), size - replaced[1] + sum(u.size for u in uploads))
                gone = [self._put_upload(conn, u.document_id, u.collection, u.name, u.name, u.sha256, u.size,
                                         None if self.blobs else u.read()) for u in uploads]
        except BaseException:
            self._forget(fresh)
            raise
        self._forget([key for key in gone if key])

    def put_upload(self, document_id: str, collection: str, source: str, name: str, sha256: str, data: bytes) -> None:
        fresh = self._keep_bytes([(document_id, sha256, lambda: data)])
        try:
            with self._write() as conn:
                gone = self._put_upload(conn, document_id, collection, source, name, sha256, len(data),
                                        None if self.blobs else data)
        except BaseException:
            self._forget(fresh)
            raise
        self._forget([gone] if gone else [])

    def _keep_bytes(self, files) -> list[str]:
        """Each file's bytes into the blob store; the keys that were not there before."""
        if self.blobs is None:
            return []
        fresh = []
        try:
            for document_id, sha256, read in files:
                key = blob_key(document_id, sha256)
                if not self.blobs.exists(key):
                    self.blobs.put(key, read())
                    fresh.append(key)
        except BaseException:
            self._forget(fresh)
            raise
        return fresh

    def _put_upload(self, conn, document_id: str, collection: str, source: str, name: str, sha256: str, size: int,
                    data: bytes | None) -> str | None:
        """The upload's record (and its bytes, without a blob store); the key of bytes it replaced, if other."""
        old = conn.execute(select(t.uploads.c.sha256).where(t.uploads.c.document_id == document_id)).scalar()
        conn.execute(delete(t.uploads).where(t.uploads.c.document_id == document_id))
        conn.execute(insert(t.uploads).values(document_id=document_id, name=name, sha256=sha256, data=data or b"",
                                              created_at=now()))
        known = conn.execute(select(t.documents.c.id).where(t.documents.c.id == document_id)).first()
        if known is None:  # listed (and deletable) from now on; its job makes it ingested or failed
            stamp = now()
            conn.execute(insert(t.documents).values(
                id=document_id, collection=collection, source=source, sha256=sha256, size=size,
                status="pending", chunks=0, created_at=stamp, updated_at=stamp))
        return blob_key(document_id, old) if old and old != sha256 else None

    def upload(self, document_id: str) -> bytes | None:
        with self._read() as c:
            row = c.execute(select(t.uploads.c.sha256, t.uploads.c.data)
                            .where(t.uploads.c.document_id == document_id)).first()
        if row is None:
            return None
        if row.data or self.blobs is None:  # kept in the row (no blob store, or stored before there was one)
            return row.data
        return self.blobs.get(blob_key(document_id, row.sha256))

    def _upload_keys(self, conn, document_ids) -> list[str]:
        """The blob keys of these documents' uploads (a list of ids or a select of them)."""
        rows = conn.execute(select(t.uploads.c.document_id, t.uploads.c.sha256)
                            .where(t.uploads.c.document_id.in_(document_ids)))
        return [blob_key(r.document_id, r.sha256) for r in rows]

    def _forget(self, keys: list[str]) -> None:
        """Bytes no record points to any more. One that cannot be removed now is only disk spent."""
        if self.blobs is None:
            return
        for key in keys:
            with contextlib.suppress(RagError, OSError):
                self.blobs.delete(key)
