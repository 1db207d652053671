"""The catalog on SQLAlchemy Core: one implementation for SQLite and PostgreSQL; only the lexical index
differs (FTS5 or tsvector), in fts5.py and pgfts.py."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import delete, exc, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from rag.catalog import tables as t
from rag.catalog.tables import now
from rag.catalog.base import CachedAnswer, Document
from rag.catalog.conversations import SqlConversations
from rag.catalog.keys import ApiKeys
from rag.catalog.sql_jobs import SqlJobs
from rag.catalog.sql_uploads import SqlUploads
from rag.chunks import Chunk
from rag.errors import BackendUnavailable
from rag.tenants import DEFAULT, SEPARATOR


@contextmanager
def unreachable_as_unavailable(where: str):
    """A database that cannot be reached is BackendUnavailable (HTTP 503; a job retries), not a crash."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as e:
        raise BackendUnavailable(f"the catalog at {where} cannot be reached: {str(e.orig or e).splitlines()[0]}") from e


class SqlCatalog(SqlJobs, SqlUploads):
    def __init__(self, engine: Engine, lexical, reader: Engine | None = None, blobs=None):
        self.engine = engine  # writes: one transaction each
        self.blobs = blobs  # uploads' bytes (rag.blobs); None: in the uploads table's rows
        self.reader = reader or engine  # reads (SQLite: an autocommit engine, so readers never wait for a writer)
        self.lexical = lexical
        self.keys = ApiKeys(self)
        self.conversations = SqlConversations(self)
        self.url = engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _write(self):
        with unreachable_as_unavailable(self.url), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self):
        with unreachable_as_unavailable(self.url), self.reader.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    # -- documents -------------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        with self._read() as c:
            row = c.execute(select(t.documents).where(t.documents.c.id == doc_id)).mappings().first()
        return Document(**row) if row else None

    def list(self, collection: str | None = None, status: str | None = None) -> list[Document]:
        query = select(t.documents).order_by(t.documents.c.collection, t.documents.c.source)
        if collection:
            query = query.where(t.documents.c.collection == collection)
        if status:
            query = query.where(t.documents.c.status == status)
        with self._read() as c:
            return [Document(**r) for r in c.execute(query).mappings()]

    def usage(self, tenant: str) -> tuple[int, int]:
        with self._read() as c:
            return self._usage(c, tenant)

    def _usage(self, conn, tenant: str) -> tuple[int, int]:
        d = t.documents.c
        owned = (~d.collection.contains(SEPARATOR, autoescape=True) if tenant == DEFAULT
                 else d.collection.startswith(tenant + SEPARATOR, autoescape=True))
        query = select(func.count(), func.coalesce(func.sum(d.size), 0)).where(owned, d.status != "failed")
        count, size = conn.execute(query).one()
        return int(count), int(size)

    def collections(self) -> list[str]:
        with self._read() as c:
            return list(c.execute(select(t.collections.c.name).order_by(t.collections.c.name)).scalars())

    def has_collection(self, name: str) -> bool:
        with self._read() as c:
            return c.execute(select(t.collections.c.name).where(t.collections.c.name == name)).first() is not None

    def create_collection(self, name: str) -> bool:
        """False if it existed already."""
        with self._write() as conn:
            return conn.execute(self._insert(t.collections).values(name=name, created_at=now())
                                .on_conflict_do_nothing(index_elements=["name"])
                                .returning(t.collections.c.name)).first() is not None

    def embedder_of(self, collection: str) -> str | None:
        with self._read() as c:
            return c.execute(select(t.collections.c.embedder).where(t.collections.c.name == collection)).scalar()

    def record_embedder(self, collection: str, embedder: str) -> None:
        with self._write() as conn:
            conn.execute(update(t.collections).where(t.collections.c.name == collection).values(embedder=embedder))
            self._bump(conn, collection)  # answers cached by the other model's question vectors are stale

    def adopt_collections(self) -> None:
        """Stores made before collections were recorded: every collection with documents exists."""
        with self._write() as conn:
            named = select(t.documents.c.collection, func.min(t.documents.c.created_at)).group_by(t.documents.c.collection)
            conn.execute(self._insert(t.collections).from_select(["name", "created_at"], named)
                         .on_conflict_do_nothing(index_elements=["name"]))

    def find_ingested_copy(self, collection: str, sha256: str, exclude_id: str) -> Document | None:
        d = t.documents.c
        query = (select(t.documents).where(d.collection == collection, d.sha256 == sha256, d.status == "ingested",
                                           d.id != exclude_id).order_by(d.created_at).limit(1))
        with self._read() as c:
            row = c.execute(query).mappings().first()
        return Document(**row) if row else None

    def _insert(self, table):
        """INSERT ... ON CONFLICT in this engine's dialect: two workers may write the same row at once."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _upsert(self, conn, doc: dict) -> None:
        stamp = now()
        fields = {k: v for k, v in doc.items() if k != "id"}
        conn.execute(self._insert(t.documents).values(**doc, created_at=stamp, updated_at=stamp)
                     .on_conflict_do_update(index_elements=["id"], set_={**fields, "updated_at": stamp}))

    def _bump(self, conn, collection: str) -> None:
        versions = t.collection_versions
        conn.execute(self._insert(versions).values(collection=collection, version=1)
                     .on_conflict_do_update(index_elements=["collection"], set_={"version": versions.c.version + 1}))

    def record_ingested(self, doc: dict, chunks: list[Chunk], titles: list[str], title: str) -> None:
        with self._write() as conn:
            self.lexical.delete_document(conn, doc["id"])
            self.lexical.add(conn, chunks, titles)
            self.lexical.add_document(conn, doc["id"], doc["collection"], title, "\n".join(c.text for c in chunks))
            self._upsert(conn, {**doc, "status": "ingested", "error": None, "chunks": len(chunks),
                                "duplicate_of": None})
            self._bump(conn, doc["collection"])

    def record_outcome(self, doc: dict) -> None:
        with self._write() as conn:
            self.lexical.delete_document(conn, doc["id"])
            self._upsert(conn, {"chunks": 0, **doc})
            self._bump(conn, doc["collection"])

    def remove_chunks(self, collection: str, doc_id: str) -> None:
        with self._write() as conn:
            self.lexical.delete_document(conn, doc_id)
            self._bump(conn, collection)

    def delete_document(self, doc_id: str) -> Document | None:
        with self._write() as conn:
            row = conn.execute(select(t.documents).where(t.documents.c.id == doc_id)).mappings().first()
            if row is None:
                return None
            self.lexical.delete_document(conn, doc_id)
            conn.execute(delete(t.documents).where(t.documents.c.id == doc_id))
            gone = self._upload_keys(conn, [doc_id])
            conn.execute(delete(t.uploads).where(t.uploads.c.document_id == doc_id))
            self._bump(conn, row["collection"])
        self._forget(gone)
        return Document(**row)

    def drop_collection(self, collection: str) -> None:
        with self._write() as conn:
            self.lexical.drop_collection(conn, collection)
            ids = select(t.documents.c.id).where(t.documents.c.collection == collection)
            gone = self._upload_keys(conn, ids)
            conn.execute(delete(t.uploads).where(t.uploads.c.document_id.in_(ids)))
            conn.execute(delete(t.documents).where(t.documents.c.collection == collection))
            conn.execute(delete(t.collections).where(t.collections.c.name == collection))
            self._bump(conn, collection)
        self._forget(gone)

    def version(self, collection: str) -> int:
        with self._read() as c:
            found = c.execute(select(t.collection_versions.c.version)
                              .where(t.collection_versions.c.collection == collection)).scalar()
        return found or 0

    # -- cached answers --------------------------------------------------------------------------

    def cached_answers(self, collection: str, version: int, kind: str, limit: int) -> list[CachedAnswer]:
        a = t.answer_cache.c
        query = (select(a.question, a.vector, a.answer, a.cost)
                 .where(a.collection == collection, a.version == version, a.kind == kind)
                 .order_by(a.id.desc()).limit(limit))
        with self._read() as c:
            return [CachedAnswer(*row) for row in c.execute(query)]

    def cache_answer(self, collection: str, version: int, kind: str, question: str, vector: bytes, answer: str,
                     cost: int, keep: int) -> None:
        a = t.answer_cache.c
        with self._write() as conn:
            conn.execute(insert(t.answer_cache).values(
                collection=collection, version=version, kind=kind, question=question.replace("\x00", ""), vector=vector,
                answer=answer.replace("\x00", ""),
                cost=cost, created_at=now()))
            # Older versions can never be served again; keep the newest `keep` of this one.
            conn.execute(delete(t.answer_cache).where(a.collection == collection, a.version < version))
            newest = select(a.id).where(a.collection == collection).order_by(a.id.desc()).limit(keep)
            conn.execute(delete(t.answer_cache).where(a.collection == collection,
                                                      a.id.not_in(select(newest.subquery().c.id))))
