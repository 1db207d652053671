"""A client-side budget for a rate-limited provider: requests per minute, tokens per minute and requests
per day, on the `limits` library's moving windows (no 60 s span ever holds more than the limit). The
state is in this process, or in Redis when a URL is given, so that every replica draws on one budget."""

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

from rag.errors import BackendUnavailable


MARGIN_S = 3
REDIS_TIMEOUT_S = 2.0  # a Redis that hangs (stopped, partitioned) must not hold an answer


def limit_storage(url: str | None):
    """The limits library's storage: in this process, or Redis with timeouts (its client waits forever)."""
    from limits.storage import storage_from_string

    if not url:
        return storage_from_string("memory://")
    return storage_from_string(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)


@contextmanager
def storage_reachable(where: str):
    """The budget's Redis gone is BackendUnavailable naming it, never a crash."""
    import redis.exceptions

    try:
        yield
    except (redis.exceptions.RedisError, OSError) as e:
        raise BackendUnavailable(f"the large model's budget in {where} cannot be reached: {e}") from e


@dataclass
class BudgetStats:
    allowed: int = 0  # calls let through
    waits: int = 0  # calls that waited for the budget
    waited_s: float = 0.0
    deferred: int = 0  # calls refused: the budget would not allow them within the wait bound
    tokens_reserved: int = 0
    times: deque = field(default_factory=lambda: deque(maxlen=1000))  # when the last calls started (benchmarks)


class Budget:
    def __init__(self, rpm: int, tpm: int, rpd: int, storage_url: str | None = None, key: str = "large"):
        from limits import RateLimitItemPerDay, RateLimitItemPerSecond
        from limits.strategies import MovingWindowRateLimiter

        self.limiter = MovingWindowRateLimiter(limit_storage(storage_url))
        self.where = "Redis" if storage_url else "memory"
        self.key = key
        # A minute and a margin: our window starts when we reserve, the provider's when the request arrives,
        # which can be a second or two later on a busy machine (seen: 13 arrivals in 60 s at a limit of 10).
        minute = 60 + MARGIN_S
        self.requests = [RateLimitItemPerSecond(rpm, minute), RateLimitItemPerDay(rpd)]
        self.tokens = RateLimitItemPerSecond(tpm, minute)
        self.stats = BudgetStats()
        self._debt = 0  # tokens a call spent beyond its reservation, charged to the next one
        self._lock = threading.Lock()

    def _limits(self, tokens: int):
        return [(item, 1, "requests") for item in self.requests] + [(self.tokens, tokens, "tokens")]

    def wait_time(self, tokens: int) -> float:
        """Seconds until a call of `tokens` could go through (0: now; inf: never, it exceeds a limit)."""
        with storage_reachable(self.where):
            return self._wait_time(tokens)

    def _wait_time(self, tokens: int) -> float:
        wait = 0.0
        for item, cost, name in self._limits(tokens):
            if cost > item.amount:
                return float("inf")
            if not self.limiter.test(item, self.key, name, cost=cost):
                reset, _ = self.limiter.get_window_stats(item, self.key, name)
                wait = max(wait, reset - time.time(), 0.1)
        return wait

    def try_acquire(self, tokens: int) -> bool:
        """Reserve one request and `tokens` tokens, all or nothing as far as this process can tell. Two
        replicas racing may waste a request slot; they never overspend it."""
        with self._lock:
            tokens += self._debt
            if self.wait_time(tokens) > 0:
                return False
            with storage_reachable(self.where):
                for item, cost, name in self._limits(tokens):
                    if not self.limiter.hit(item, self.key, name, cost=cost):
                        return False
            self._debt = 0
            self.stats.allowed += 1
            self.stats.tokens_reserved += tokens
            self.stats.times.append(time.time())
            return True

    def acquire(self, tokens: int, max_wait_s: float) -> float | None:
        """Reserve, waiting up to `max_wait_s` for the budget; None when it cannot be had by then, else the
        seconds waited."""
        started = time.monotonic()
        waited = False
        while not self.try_acquire(tokens):
            wait = self.wait_time(tokens + self._debt)
            left = max_wait_s - (time.monotonic() - started)
            if wait > left:
                self.stats.deferred += 1
                return None
            waited = True
            time.sleep(max(wait, 0.05))
        spent = time.monotonic() - started
        if waited:
            self.stats.waits += 1
            self.stats.waited_s += spent
        return spent

    def correct(self, reserved: int, used: int) -> None:
        """Charge what a call spent beyond its reservation (a moving window cannot give tokens back)."""
        extra = used - reserved
        if extra <= 0:
            return
        try:
            with storage_reachable(self.where):
                charged = self.limiter.hit(self.tokens, self.key, "tokens", cost=min(extra, self.tokens.amount))
        except BackendUnavailable:
            charged = False  # owed, and charged with the next call
        if not charged:
            with self._lock:
                self._debt += extra

    def retry_after(self, tokens: int) -> float:
        return self.wait_time(tokens)
