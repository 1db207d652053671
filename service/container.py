"""Build every component once, from settings; routes and commands get them from here."""

import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ingest.jobs import Jobs
from ingest.pipeline import Ingestor
from rag.answer import AnswerService
from rag.answer.cache import AnswerCache
from rag.answer.escalation import LargeModel, open_large_model
from rag.db import connect
from rag.embeddings import Embedder, get_embedder
from rag.lexical import LexicalIndex
from rag.llm import LLM, get_llm
from rag.registry import Registry
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.store import VectorStore, open_store


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: VectorStore
    llm_override: LLM | None = None
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.conn = connect(self.settings.db_path)
        self.registry = Registry(self.conn)
        self.lexical = LexicalIndex(self.conn)
        self.retriever = Retriever(self.embedder, self.store, self.lexical, self.settings)
        # The writer has its own connection: WAL lets readers go on while it writes.
        self.ingestor = Ingestor(self.settings, self.embedder, self.store, connect(self.settings.db_path))
        self.jobs = Jobs(self.conn, self.ingestor, self.write_lock)

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
        return AnswerCache(self.conn, s.cache_similarity, s.cache_size) if s.cache else None

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

    def delete_document(self, doc_id: str) -> bool:
        with self.write_lock:
            doc = self.registry.get(doc_id)
            removed = self.ingestor.delete_document(doc_id)
        if doc and removed:
            uploads = (self.settings.data_dir / self.settings.uploads_dir_name).resolve()
            path = Path(doc.source)
            if uploads in path.parents:
                path.unlink(missing_ok=True)
        return removed


def build_services(settings: Settings, embedder: Embedder | None = None, llm: LLM | None = None) -> Services:
    return Services(settings, embedder or get_embedder(settings), open_store(settings), llm)
