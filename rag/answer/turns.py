"""One answer at a time on the model, first come first served, with a bounded line.

The in-process model has one context: two answers interleaving their model calls would evict each other's
prompt cache and each read its context again (two questions sent together took 7x as long as one). So an
answer holds the model from its first model call to its last word; the others wait in line, in order of
arrival. Past `max_waiting` waiting, or after `max_wait_s` in line, a question is refused at once with a
503 and a Retry-After estimated from how long answers take here."""

import threading
import time
from contextlib import contextmanager

from rag.errors import ServiceBusy


class Turns:
    def __init__(self, max_waiting: int = 8, max_wait_s: float = 120.0):
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._next = 0  # the next ticket handed out
        self._serving = 0  # the ticket whose turn it is
        self._abandoned: set[int] = set()
        self._answer_s = 5.0  # how long an answer holds the model, a moving average

    def waiting(self) -> int:
        with self._cond:
            return max(0, self._next - self._serving - 1 - len(self._abandoned))

    def busy(self) -> bool:
        """An answer holds the model or waits for it."""
        with self._cond:
            return self._next - self._serving - len(self._abandoned) > 0

    def retry_after(self) -> float:
        return max(1.0, self._answer_s * (self.waiting() + 1))

    @contextmanager
    def turn(self):
        """Wait for the model (the time waited is what the caller reports as queued)."""
        with self._cond:
            if self._next - self._serving - len(self._abandoned) > self.max_waiting:
                raise ServiceBusy(f"{self.max_waiting} questions are already waiting for the model; try again "
                                  "shortly", retry_after=self.retry_after())
            ticket = self._next
            self._next += 1
            deadline = time.monotonic() + self.max_wait_s
            while self._serving != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._abandoned.add(ticket)
                    raise ServiceBusy(f"waited {self.max_wait_s:g} s for the model; try again shortly",
                                      retry_after=self.retry_after())
                self._cond.wait(left)
        started = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                self._answer_s = 0.7 * self._answer_s + 0.3 * (time.monotonic() - started)
                self._serving += 1
                while self._serving in self._abandoned:
                    self._abandoned.discard(self._serving)
                    self._serving += 1
                self._cond.notify_all()
