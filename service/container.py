"""Build every component once, from settings; routes and commands get them from here."""

import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from collections import Counter
from functools import cached_property

from ingest.pipeline import Ingestor
from ingest.queue import open_queue
from ingest.worker import Jobs
from rag.answer import AnswerService
from rag.answer.cache import AnswerCache
from rag.answer.escalation import LargeModel, open_large_model
from rag.catalog import Catalog, open_catalog
from rag.chunks import check_collection
from rag.embeddings import Embedder, get_embedder
from rag.errors import BackendUnavailable, CollectionNotFound, Conflict
from rag.llm import LLM, get_llm
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.store import VectorStore, open_store


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: VectorStore
    catalog: Catalog
    llm_override: LLM | None = None
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.catalog.create_collection(self.settings.collection)  # the one a request without a name uses
        self.retriever = Retriever(self.embedder, self.store, self.catalog.lexical, self.settings)
        self.ingestor = Ingestor(self.settings, self.embedder, self.store, self.catalog)
        self.jobs = Jobs(self.settings, self.catalog, open_queue(self.settings), self.ingestor, self.write_lock)

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
        return AnswerService(self.retriever, self.llm, self.settings, self.large, self.cache)

    @cached_property
    def metrics(self):
        from service.metrics import Metrics

        return Metrics(self)

    def chat(self, messages, collection, top_k=None, document_ids=None, style=None) -> Iterator[dict]:
        """The answer's events (rag.answer.service); its final one is counted in the metrics."""
        with closing(self.answers.stream(messages, collection, top_k, document_ids, style)) as events:
            for event in events:
                if event["type"] == "done":
                    self.metrics.answered(event)
                yield event

    def collection(self, name: str | None) -> str:
        """The collection a request names (or the default one), which must exist."""
        name = check_collection(name or self.settings.collection)
        if not self.catalog.has_collection(name):
            raise CollectionNotFound(f"no collection {name!r}; create it first (POST /collections)")
        return name

    def collections(self) -> list[dict]:
        counts = Counter(d.collection for d in self.catalog.list(status="ingested"))
        return [{"name": name, "documents": counts[name]} for name in self.catalog.collections()]

    def create_collection(self, name: str) -> dict:
        if not self.catalog.create_collection(check_collection(name)):
            raise Conflict(f"collection {name!r} exists already")
        return {"name": name, "documents": 0}

    def delete_collection(self, name: str) -> None:
        """The collection with its documents (both indexes and their uploaded bytes); the default one is
        emptied, and stays."""
        name = self.collection(name)
        with self.write_lock:
            self.ingestor.drop_collection(name)
        if name == self.settings.collection:
            self.catalog.create_collection(name)

    def upload(self, files, collection: str | None) -> tuple[str, str, list[dict]]:
        """Check and keep the files, and queue their ingest job: (job id, collection, the job's files)."""
        from service.uploads import store_uploads

        collection = self.collection(collection)
        stored = store_uploads(files, collection, self.settings, self.catalog)
        try:
            return self.jobs.submit(collection, stored), collection, stored
        except BackendUnavailable:  # not queued: the upload did not happen, nothing stays pending
            for f in stored:
                if (doc := self.catalog.get(f["document_id"])) is not None and doc.status == "pending":
                    self.catalog.delete_document(doc.id)
            raise

    def delete_document(self, doc_id: str) -> bool:
        """The document, its chunks in both indexes and its uploaded bytes."""
        with self.write_lock:
            return self.ingestor.delete_document(doc_id)


def build_services(settings: Settings, embedder: Embedder | None = None, llm: LLM | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # scratch space, whatever keeps the state
    return Services(settings, embedder or get_embedder(settings), open_store(settings), open_catalog(settings), llm)
