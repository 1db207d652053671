"""The large model, reached only within the provider's limits: estimate a call's tokens, reserve them in
the shared budget, call, charge what the response says it used. 429s and timeouts are retried a bounded
number of times, each retry through the budget again; the caller never sees a provider's error, only
`LargeUnavailable` (with why) so that it can answer locally instead."""

import logging
import math
import time
from dataclasses import dataclass

from rag.errors import BackendUnavailable, RateLimited, RagError
from rag.llm.limiter import Budget

log = logging.getLogger(__name__)


class LargeUnavailable(RagError):
    """The large model was wanted but not used: `reason` is budget_spent or large_unavailable."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass
class LargeStats:
    calls: int = 0  # requests sent to the provider
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rate_limited: int = 0  # 429s received (and retried or given up on)
    failures: int = 0  # timeouts and other errors received


class LargeModel:
    def __init__(self, llm, budget: Budget, count_tokens, settings):
        self.llm = llm  # an OpenAICompatibleLLM built with max_retries=0: retries go through the budget
        self.budget = budget
        self.count_tokens = count_tokens
        self.max_wait_s = settings.large_wait_s
        self.retries = settings.large_retries
        self.max_retry_wait_s = settings.large_retry_wait_s
        self.stats = LargeStats()

    @property
    def name(self) -> str:
        return self.llm.name

    def estimate(self, messages, max_tokens: int) -> int:
        """An upper bound of what a call costs, as providers count it at request time (prompt + max_tokens);
        our tokenizer is not theirs, hence the margin."""
        prompt = sum(self.count_tokens(m["content"]) + 4 for m in messages)
        return math.ceil(prompt * 1.1) + max_tokens

    def complete(self, messages, max_tokens: int) -> tuple[str, int]:
        """The reply and the tokens it cost; LargeUnavailable when the budget or the provider says no."""
        tokens = self.estimate(messages, max_tokens)
        started = time.monotonic()
        for attempt in range(self.retries + 1):
            left = max(0.0, self.max_wait_s - (time.monotonic() - started))
            try:
                reserved = self.budget.acquire(tokens, left)
                wait = self.budget.wait_time(tokens) if reserved is None else 0.0
            except BackendUnavailable as e:  # its Redis is away: no call we cannot count
                raise LargeUnavailable("large_unavailable", str(e)) from e
            if reserved is None:
                when = "never: the call exceeds a limit" if math.isinf(wait) else f"in {wait:.0f} s"
                raise LargeUnavailable("budget_spent", f"the large model's budget is spent (next call {when})")
            self.stats.calls += 1
            try:
                text, usage = self.llm.complete(messages, max_tokens)
            except RateLimited as e:
                self.stats.rate_limited += 1
                wait = e.retry_after if e.retry_after is not None else 2.0 ** attempt
                problem = LargeUnavailable("budget_spent", f"the provider is rate-limiting (retry after {wait:.0f} s)")
            except BackendUnavailable as e:  # timeouts, connection errors, 5xx: back off briefly
                self.stats.failures += 1
                wait = min(0.5 * 2.0 ** attempt, self.max_retry_wait_s)
                problem = LargeUnavailable("large_unavailable", str(e))
            else:
                used = usage.prompt_tokens + usage.completion_tokens if usage.reported else tokens
                self.budget.correct(tokens, used)
                self.stats.prompt_tokens += usage.prompt_tokens
                self.stats.completion_tokens += usage.completion_tokens
                return text, used
            log.warning("large model attempt %d failed: %s", attempt + 1, problem)
            if attempt == self.retries or wait > self.max_retry_wait_s:
                raise problem
            time.sleep(wait)
        raise AssertionError("unreachable")


def open_large_model(settings, count_tokens) -> LargeModel | None:
    """The configured large model, or None when there is none or the policy never escalates."""
    if settings.escalation == "never" or not settings.large_url:
        return None
    from rag.llm.openai_api import OpenAICompatibleLLM

    if not settings.large_model:
        raise BackendUnavailable("RAG_LARGE_URL needs RAG_LARGE_MODEL (the model name the provider expects)")
    llm = OpenAICompatibleLLM(settings.large_url, settings.large_model, settings.large_api_key,
                              timeout=settings.large_timeout_s, max_retries=0)
    key = f"large:{llm.base_url}:{llm.name}"
    budget = Budget(settings.large_rpm, settings.large_tpm, settings.large_rpd, settings.redis_url, key)
    return LargeModel(llm, budget, count_tokens, settings)
