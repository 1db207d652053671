"""A tenant's questions: answered over its own collections only, each final answer counted in the metrics."""

from collections.abc import Iterator
from contextlib import closing

from ingest.library import TenantLibrary


class Answering:
    def __init__(self, answers, library: TenantLibrary, metrics):
        self.answers, self.library, self.metrics = answers, library, metrics

    def chat(self, messages, collection: str | None, top_k=None, document_ids=None, style=None,
             cache: bool = True) -> Iterator[dict]:
        """The answer's events (rag.answer.service) over the tenant's collection of that name."""
        key = self.library.collection(collection)
        with closing(self.answers.stream(messages, key, top_k, document_ids, style, cache)) as events:
            for event in events:
                if event["type"] == "done":
                    self.metrics.answered(event, self.library.tenant)
                yield event
