"""Vector store seam: Chroma (embedded or HTTP server) and an in-memory store for unit tests."""

import functools
import logging
from typing import Protocol

import httpx
import numpy as np

from rag.chunks import Chunk
from rag.errors import BackendUnavailable

log = logging.getLogger(__name__)


class VectorStore(Protocol):
    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None: ...

    def delete_document(self, collection: str, document_id: str) -> None: ...

    def drop_collection(self, collection: str) -> None: ...

    def search(
        self, collection: str, vector: np.ndarray, k: int, document_ids: list[str] | None = None
    ) -> list[Chunk]:
        """Nearest chunks, best first, score = cosine similarity."""
        ...

    def count(self, collection: str) -> int: ...


def _transport_errors(method):
    """A Chroma server that stops answering is BackendUnavailable (HTTP 503), not a crash."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except httpx.TransportError as e:
            raise BackendUnavailable(f"Chroma at {self.where} is unreachable: {e}") from e

    return call


def _chroma_name(collection: str) -> str:
    return f"rag_{collection}"


class ChromaStore:
    batch_size = 1000
    # Chroma's defaults (ef_search 100, 16 neighbours, ef_construction 100) let a small document go unfound
    # beside a few thousand near-identical chunks (a file of repeated lines): 7 of 20 index builds did; with
    # a search of 400 candidates 4 of 150 on a Chroma server still did; with 32 neighbours built from 200
    # candidates as well, none of 460 (420 on a server). A collection made with a narrower search is widened
    # when opened (Chroma reads it when it next loads the index: the next start of this process or of the
    # server); its graph keeps the neighbours it was built with.
    ef_search = 400
    hnsw = {"space": "cosine", "ef_search": ef_search, "max_neighbors": 32, "ef_construction": 200}

    def __init__(self, client, where: str = "embedded"):
        self.client = client
        self.where = where
        self._collections: dict[str, object] = {}

    def _collection(self, collection: str):
        if collection not in self._collections:
            chroma = self.client.get_or_create_collection(
                _chroma_name(collection),
                embedding_function=None,
                configuration={"hnsw": dict(self.hnsw)},
            )
            hnsw = (chroma.configuration or {}).get("hnsw") or {}
            if hnsw.get("ef_search", self.ef_search) < self.ef_search:
                log.info("collection %s: search breadth %s raised to %s", collection, hnsw["ef_search"], self.ef_search)
                chroma.modify(configuration={"hnsw": {"ef_search": self.ef_search}})
            self._collections[collection] = chroma
        return self._collections[collection]

    @_transport_errors
    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        by_collection: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            by_collection.setdefault(chunk.collection, []).append(i)
        for collection, rows in by_collection.items():
            for at in range(0, len(rows), self.batch_size):
                part = rows[at : at + self.batch_size]
                self._collection(collection).upsert(
                    ids=[chunks[i].id for i in part],
                    embeddings=vectors[part],
                    documents=[chunks[i].text for i in part],
                    metadatas=[chunks[i].metadata() for i in part],
                )

    @_transport_errors
    def delete_document(self, collection: str, document_id: str) -> None:
        self._collection(collection).delete(where={"document_id": document_id})

    def drop_collection(self, collection: str) -> None:
        self._collections.pop(collection, None)
        try:
            self.client.delete_collection(_chroma_name(collection))
        except Exception:  # chroma raises different types for "does not exist" across versions
            pass

    @_transport_errors
    def search(self, collection, vector, k, document_ids=None) -> list[Chunk]:
        col = self._collection(collection)
        where = None
        if document_ids:
            where = {"document_id": {"$in": list(document_ids)}}
        result = col.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Chunk.from_metadata(chunk_id, text, meta, score=1.0 - distance)
            for chunk_id, text, meta, distance in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
            )
        ]

    @_transport_errors
    def count(self, collection: str) -> int:
        return self._collection(collection).count()


class MemoryStore:
    """Exact cosine search over numpy arrays; deterministic, for unit tests."""

    def __init__(self):
        self.rows: dict[str, tuple[Chunk, np.ndarray]] = {}

    def add(self, chunks, vectors):
        for chunk, vector in zip(chunks, vectors):
            self.rows[chunk.id] = (chunk, np.asarray(vector, dtype=np.float32))

    def delete_document(self, collection, document_id):
        self.rows = {
            i: (c, v)
            for i, (c, v) in self.rows.items()
            if not (c.collection == collection and c.document_id == document_id)
        }

    def drop_collection(self, collection):
        self.rows = {i: (c, v) for i, (c, v) in self.rows.items() if c.collection != collection}

    def search(self, collection, vector, k, document_ids=None):
        hits = [
            (float(np.dot(v, vector)), c)
            for c, v in self.rows.values()
            if c.collection == collection and (not document_ids or c.document_id in document_ids)
        ]
        hits.sort(key=lambda hit: (-hit[0], hit[1].id))
        out = []
        for score, chunk in hits[:k]:
            chunk = Chunk(**{**chunk.__dict__, "score": score})
            out.append(chunk)
        return out

    def count(self, collection):
        return sum(1 for c, _ in self.rows.values() if c.collection == collection)


def open_store(settings) -> VectorStore:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as e:
            raise BackendUnavailable(
                f"cannot reach Chroma at {settings.chroma_host}:{settings.chroma_port}: {e}"
            ) from e
        return ChromaStore(client, f"{settings.chroma_host}:{settings.chroma_port}")
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return ChromaStore(chromadb.PersistentClient(path=str(path), settings=chroma_settings))
