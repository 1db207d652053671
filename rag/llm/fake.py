"""A deterministic stand-in for unit tests: queued replies, every prompt kept."""

import re

from rag.llm.base import Messages


class FakeLLM:
    """Deterministic stand-in: replies queued with enqueue(), otherwise quotes the first source.

    Every prompt it receives is kept in .history for assertions; `refusal_chance` is what
    start_probability answers and `question_logprob` what mean_logprob answers. `support` is its P(yes) when
    asked to judge an answer (None: it cannot tell, as a backend without probabilities; a function: of the
    judgement's prompt text).
    """

    name = "fake"

    def __init__(self, replies: list[str] | None = None, refusal_chance: float = 0.0,
                 question_logprob: float | None = None, support=None):
        self.replies = list(replies or [])
        self.refusal_chance = refusal_chance
        self.question_logprob = question_logprob
        self.support = support
        self.history: list[Messages] = []
        self.avoided: list[str | None] = []  # the avoid_start of each stream() call
        self.temperatures: list[float] = []  # and its temperature

    def start_probability(self, messages, start):
        if start in ("yes", "no"):
            support = self.support(messages[-1]["content"]) if callable(self.support) else self.support
            if support is None:
                return None
            return support if start == "yes" else 1 - support
        return self.refusal_chance

    def mean_logprob(self, messages, text):
        return self.question_logprob

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages, max_tokens, stop=None, avoid_start=None, temperature: float = 0.0):
        self.history.append(messages)
        self.avoided.append(avoid_start)
        self.temperatures.append(temperature)
        if self.replies:
            reply = self.replies.pop(0)
        else:
            match = re.search(r"\[1\] (?:\([^)\n]*\) )?(.+?)(?:\.|\n|$)", messages[-1]["content"])
            reply = f"{match.group(1).strip()} [1]" if match else "I don't know."
        for word in reply.split(" ")[:max_tokens]:  # a word for a token
            yield word + " "
