"""Build every component once, from settings; routes and commands get them from here."""

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property

from ingest.pipeline import Ingestor
from ingest.queue import open_queue
from ingest.worker import Jobs
from rag.answer import AnswerService
from rag.answer.cache import AnswerCache
from rag.answer.escalation import LargeModel, open_large_model
from rag.answer.turns import Turns
from rag.catalog import Catalog, Document, open_catalog
from rag.embeddings import Embedder, get_embedder
from rag.errors import (
    BackendUnavailable, CollectionNotFound, Conflict, DocumentNotFound, FileTooLarge, QuotaExceeded,
)
from rag.llm import LLM, get_llm
from rag.lock import CollectionLocks
from rag.pacing import Pacer
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.store import VectorStore, open_store
from rag.tenants import DEFAULT, collection_key, collection_name, owner


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: VectorStore
    catalog: Catalog
    llm_override: LLM | None = None
    locks: CollectionLocks = field(default_factory=CollectionLocks)

    def __post_init__(self):
        self.catalog.create_collection(self.settings.collection)  # the one a request without a name uses
        self.turns = Turns(self.settings.max_waiting_answers, self.settings.max_wait_s)  # the model's line
        self.retriever = Retriever(self.embedder, self.store, self.catalog.lexical, self.settings)
        self.pacer = Pacer(self.turns.busy, self.settings.background_share)  # ingest and /v1/embeddings together
        self.ingestor = Ingestor(self.settings, self.embedder, self.store, self.catalog, self.pacer)
        self.jobs = Jobs(self.settings, self.catalog, open_queue(self.settings), self.ingestor, self.locks)

    @property
    def runs_worker(self) -> bool:
        """The embedded service ingests its uploads itself; with a shared queue (Redis), workers do."""
        return self.jobs.queue.name != "redis"

    @cached_property
    def llm(self) -> LLM:
        return self.llm_override or get_llm(self.settings)

    @property
    def llm_loaded(self) -> bool:
        return "llm" in self.__dict__

    @cached_property
    def large(self) -> LargeModel | None:
        return open_large_model(self.settings, self.embedder.count_tokens)

    @cached_property
    def cache(self) -> AnswerCache | None:
        s = self.settings
        return AnswerCache(self.catalog, s.cache_similarity, s.cache_size) if s.cache else None

    @cached_property
    def answers(self) -> AnswerService:
        return AnswerService(self.retriever, self.llm, self.settings, self.large, self.cache, self.turns)

    @cached_property
    def embedding_line(self):
        from service.embeddings import EmbeddingLine

        return EmbeddingLine(self.embedder, self.pacer)

    @cached_property
    def metrics(self):
        from service.metrics import Metrics

        return Metrics(self)

    @cached_property
    def gate(self):
        from service.auth import Gate

        return Gate(self.settings, self.catalog.keys)

    def chat(self, messages, collection: str | None, tenant: str = DEFAULT, top_k=None, document_ids=None,
             style=None, cache: bool = True) -> Iterator[dict]:
        """The answer's events (rag.answer.service) over the tenant's collection of that name; its final one is
        counted in the metrics."""
        key = self.collection(collection, tenant)
        with closing(self.answers.stream(messages, key, top_k, document_ids, style, cache)) as events:
            for event in events:
                if event["type"] == "done":
                    self.metrics.answered(event, tenant)
                yield event

    # -- a tenant's collections and documents: every one is looked up through its tenant -------------

    def collection(self, name: str | None, tenant: str = DEFAULT) -> str:
        """The key of the tenant's collection a request names (or of its default one), which must exist."""
        name = name or self.settings.collection
        key = collection_key(tenant, name)
        if not self.catalog.has_collection(key):
            if name != self.settings.collection:
                raise CollectionNotFound(f"no collection {name!r}; create it first (POST /collections)")
            self.catalog.create_collection(key)  # every tenant has its default collection
        return key

    def collection_keys(self, tenant: str) -> list[str]:
        self.collection(None, tenant)
        return [key for key in self.catalog.collections() if owner(key) == tenant]

    def collections(self, tenant: str = DEFAULT) -> list[dict]:
        return [{"name": collection_name(key), "documents": len(self.catalog.list(key, "ingested"))}
                for key in self.collection_keys(tenant)]

    def create_collection(self, name: str, tenant: str = DEFAULT) -> dict:
        if not self.catalog.create_collection(collection_key(tenant, name)):
            raise Conflict(f"collection {name!r} exists already")
        return {"name": name, "documents": 0}

    def delete_collection(self, name: str, tenant: str = DEFAULT) -> None:
        """The collection with its documents (both indexes and their uploaded bytes); the default one is
        emptied, and stays."""
        key = self.collection(name, tenant)
        with self.locks(key):
            self.ingestor.drop_collection(key)
        if collection_name(key) == self.settings.collection:
            self.catalog.create_collection(key)

    def documents(self, tenant: str, collection: str | None = None, status: str | None = None) -> list[Document]:
        if collection:
            return self.catalog.list(self.collection(collection, tenant), status)
        return [d for d in self.catalog.list(None, status) if owner(d.collection) == tenant]

    def document(self, doc_id: str, tenant: str = DEFAULT) -> Document:
        doc = self.catalog.get(doc_id)
        if doc is None or owner(doc.collection) != tenant:  # another tenant's is as absent as a missing one
            raise DocumentNotFound(f"no document {doc_id}")
        return doc

    def job(self, job_id: str, tenant: str = DEFAULT) -> dict:
        job = self.jobs.get(job_id)
        if job is None or owner(job["collection"]) != tenant:
            raise DocumentNotFound(f"no job {job_id}")
        return {**job, "collection": collection_name(job["collection"])}

    def upload(self, files, collection: str | None, tenant: str = DEFAULT) -> tuple[str, str, list[dict]]:
        """Check and keep the files, and queue their ingest job: (job id, collection, the job's files)."""
        from service.uploads import store_uploads

        key = self.collection(collection, tenant)
        if len(files) > self.settings.max_upload_files:
            raise FileTooLarge(f"{len(files)} files in one upload; at most {self.settings.max_upload_files} "
                               "(RAG_MAX_UPLOAD_FILES)")
        stored = store_uploads(files, key, tenant, self.settings, self.catalog, self._quota)
        try:
            return self.jobs.submit(key, stored), collection_name(key), stored
        except BackendUnavailable:  # not queued: the upload did not happen, nothing stays pending
            for f in stored:
                if (doc := self.catalog.get(f["document_id"])) is not None and doc.status == "pending":
                    self.catalog.delete_document(doc.id)
            raise

    def _quota(self, count: int, size: int) -> None:
        """Refuses an upload that would leave the tenant with `count` documents of `size` bytes past its quota;
        called inside the catalog's transaction that keeps the upload."""
        s = self.settings
        if s.tenant_max_documents and count > s.tenant_max_documents:
            raise QuotaExceeded(f"this upload would make {count:,} documents; a tenant may keep "
                                f"{s.tenant_max_documents:,} (RAG_TENANT_MAX_DOCUMENTS)")
        if s.tenant_max_mb and size > s.tenant_max_mb * 2**20:
            raise QuotaExceeded(f"this upload would make {size / 2**20:,.1f} MB of files; a tenant may keep "
                                f"{s.tenant_max_mb:,g} MB (RAG_TENANT_MAX_MB)")

    def delete_document(self, doc_id: str, tenant: str = DEFAULT) -> None:
        """The document, its chunks in both indexes and its uploaded bytes; a copy of it takes over its content."""
        doc = self.document(doc_id, tenant)
        with self.locks(doc.collection):
            heir = self.ingestor.delete_document(doc_id)
        if heir is not None:  # its oldest copy holds its content now: ingested from its stored bytes
            self.jobs.submit(heir.collection, [{"name": heir.source, "source": heir.source, "document_id": heir.id}])


def build_services(settings: Settings, embedder: Embedder | None = None, llm: LLM | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # scratch space, whatever keeps the state
    return Services(settings, embedder or get_embedder(settings), open_store(settings), open_catalog(settings), llm)
