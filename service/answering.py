"""A tenant's questions: answered over its own collections only, each final answer counted in the metrics."""

from collections.abc import Iterator
from contextlib import closing

from ingest.library import TenantLibrary
from rag.embeddings import ensure_embedder


class Answering:
    def __init__(self, answers, library: TenantLibrary, metrics, conversations=None):
        self.answers, self.library, self.metrics = answers, library, metrics
        self.conversations = conversations

    def chat(self, messages, collection: str | None, top_k=None, document_ids=None, style=None,
             cache: bool = True, form=None) -> Iterator[dict]:
        """The answer's events (rag.answer.service) over the tenant's collection of that name."""
        key = self.library.collection(collection)
        ensure_embedder(self.library.catalog, key, self.answers.retriever.embedder)
        with closing(self.answers.stream(messages, key, top_k, document_ids, style, cache, form)) as events:
            for event in events:
                if event["type"] == "done":
                    self.metrics.answered(event, self.library.tenant)
                yield event

    def converse(self, conversation_id: str, question: str | None, style=None, cache: bool = True,
                 again: bool = False) -> Iterator[dict]:
        """The answer's events within a kept conversation: the question is kept at once, the answer once done.
        `again`: the last question answered anew (its last answer replaced; never from the cache)."""
        convo, history = self.conversations.ask(conversation_id, question, again)
        with closing(self.chat(history[-20:], convo.collection, None, None, style, cache and not again)) as events:
            for event in events:
                if event["type"] == "done":
                    self.conversations.answered(convo.id, event)
                yield event
