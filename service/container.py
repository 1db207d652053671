"""Build every component once, from settings; routes and commands get them from here."""

from dataclasses import dataclass, field
from functools import cached_property

from ingest.library import Library
from ingest.pipeline import Ingestor
from ingest.queue import open_queue
from ingest.worker import Jobs
from rag.answer import AnswerService
from rag.answer.cache import AnswerCache
from rag.answer.escalation import LargeModel, open_large_model
from rag.answer.turns import Turns
from rag.catalog import Catalog, open_catalog
from rag.embeddings import Embedder, get_embedder, threshold
from rag.llm import LLM, get_llm
from rag.lock import CollectionLocks
from rag.pacing import Pacer
from rag.retrieval import Retriever
from rag.settings import (
    AuthSettings, CatalogSettings, IngestSettings, LargeSettings, LlmSettings, QueueSettings, Settings, StoreSettings,
)
from rag.store import VectorStore, open_store


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
        self.jobs = Jobs(self.settings, self.catalog, open_queue(self.settings.part(QueueSettings)), self.ingestor,
                         self.locks)
        self.library = Library(self.settings, self.catalog, self.jobs, self.ingestor, self.locks)
        if self.settings.warm_uploads and self.settings.passage_cache_mb:
            from rag.answer.warm import warm_documents

            self.jobs.on_done = lambda collection, ids: warm_documents(self.answers, self.catalog.lexical, collection, ids)

    @property
    def runs_worker(self) -> bool:
        """The embedded service ingests its uploads itself; with a shared queue (Redis), workers do."""
        return self.jobs.queue.name != "redis"

    @cached_property
    def llm(self) -> LLM:
        return self.llm_override or get_llm(self.settings.part(LlmSettings))

    @property
    def llm_loaded(self) -> bool:
        return "llm" in self.__dict__

    @cached_property
    def large(self) -> LargeModel | None:
        return open_large_model(self.settings.part(LargeSettings), self.embedder.count_tokens)

    @cached_property
    def cache(self) -> AnswerCache | None:
        s = self.settings
        similarity = threshold(s.cache_similarity, self.embedder, "cache_similarity")
        return AnswerCache(self.catalog, similarity, self.settings.cache_size) if s.cache else None

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

        return Gate(self.settings.part(AuthSettings), self.catalog.keys)


def build_services(settings: Settings, embedder: Embedder | None = None, llm: LLM | None = None,
                   store: VectorStore | None = None, catalog: Catalog | None = None) -> Services:
    """Every component from its slice of the settings, but those given (tests hand in the memory store, a fake
    model)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # scratch space, whatever keeps the state
    return Services(settings, embedder or get_embedder(settings.part(IngestSettings)),
                    store or open_store(settings.part(StoreSettings)),
                    catalog or open_catalog(settings.part(CatalogSettings)), llm)
