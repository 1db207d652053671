"""The LLM seam: generation is the Protocol every backend implements; scoring is a capability some offer."""

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

Messages = list[dict[str, str]]


@runtime_checkable
class LLM(Protocol):
    name: str

    def stream(
        self, messages: Messages, max_tokens: int, stop: list[str] | None = None, avoid_start: str | None = None,
        temperature: float = 0.0,
    ) -> Iterator[str]:
        """The reply, piece by piece; greedy decoding (temperature 0) so answers are reproducible, unless a
        client asks for sampling. With `avoid_start` the reply does not begin with that word, where the backend
        allows it."""
        ...


@runtime_checkable
class Scorer(Protocol):
    """What a backend that can read its own probabilities offers besides generation. The refusal policy
    (rag.answer.refusal) uses it when present and says what it does without it."""

    def start_probability(self, messages: Messages, start: str) -> float | None:
        """Probability that the reply starts with `start`; None when the backend cannot tell."""
        ...

    def mean_logprob(self, messages: Messages, text: str) -> float | None:
        """Mean log-probability of `text` (in the last message) given what precedes it; None when the
        backend cannot tell."""
        ...


def scorer(llm: LLM) -> Scorer | None:
    return llm if isinstance(llm, Scorer) else None


def generate(llm: LLM, messages: Messages, max_tokens: int, stop: list[str] | None = None) -> str:
    return "".join(llm.stream(messages, max_tokens, stop))


def second_reader(llm: LLM) -> LLM:
    """A reader for checking answers while `llm` writes one: llama.cpp's has a context of its own over the same
    weights; other backends serve both from one."""
    make = getattr(llm, "reader", None)
    return make() if callable(make) else llm


def reading(llm: LLM) -> dict[str, float] | None:
    """The backend's own counters of what it has read and written (llama.cpp's), or None where it keeps none."""
    counters = getattr(llm, "reading", None)
    return counters() if callable(counters) else None
