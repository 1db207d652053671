"""One answer at a time on the model, first come first served, with a bounded line.

The in-process model has one context: two answers interleaving their model calls would evict each other's
prompt cache and each read its context again (two questions sent together took 7x as long as one). So an
answer holds the model from its first model call to its last word; the others wait in line, in order of
arrival. Past `max_waiting` waiting, or after `max_wait_s` in line, a question is refused at once with a
503 and a Retry-After estimated from how long answers take here."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rag.answer.steps import lap
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

    def ahead(self) -> int:
        """Answers a question arriving now would wait behind (the one holding the model included)."""
        with self._cond:
            return max(0, self._next - self._serving - len(self._abandoned))

    def busy(self) -> bool:
        """An answer holds the model or waits for it."""
        with self._cond:
            return self._next - self._serving - len(self._abandoned) > 0

    def expected_wait(self, ahead: int) -> float:
        """Seconds a question with `ahead` answers before it may wait, from how long answers take here."""
        return max(1.0, self._answer_s * ahead)

    def retry_after(self) -> float:
        return max(1.0, self._answer_s * (self.waiting() + 1))

    def join(self) -> int:
        """A place in line (a ticket), or ServiceBusy when the line is full."""
        with self._cond:
            if self._next - self._serving - len(self._abandoned) > self.max_waiting:
                raise ServiceBusy(f"{self.max_waiting} questions are already waiting for the model; try again "
                                  "shortly", retry_after=self.retry_after())
            self._next += 1
            return self._next - 1

    def wait(self, ticket: int, timeout: float) -> bool:
        """True once it is this ticket's turn; False after `timeout` seconds still in line."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._serving != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def ahead_of(self, ticket: int) -> int:
        """Answers before this ticket: the one holding the model and those waiting."""
        with self._cond:
            return ticket - self._serving - sum(1 for t in self._abandoned if t < ticket)

    def leave(self, ticket: int, held_s: float | None = None) -> None:
        """The ticket's turn is over (`held_s`: it held the model so long), or it left the line unserved."""
        with self._cond:
            if self._serving != ticket:
                self._abandoned.add(ticket)
                return
            if held_s is not None:
                self._answer_s = 0.7 * self._answer_s + 0.3 * held_s
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()

    def waits(self, ticket: int, every_s: float = 1.0):
        """Waits for the ticket's turn, yielding how many answers are ahead every `every_s` seconds meanwhile
        (a client shows it); gives the place up if closed meanwhile (its client went away), and past
        `max_wait_s` raises ServiceBusy."""
        deadline = time.monotonic() + self.max_wait_s
        try:
            while not self.wait(ticket, min(every_s, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    raise ServiceBusy(f"waited {self.max_wait_s:g} s for the model; try again shortly",
                                      retry_after=self.retry_after())
                yield self.ahead_of(ticket)
        except BaseException:
            self.leave(ticket)
            raise

    @contextmanager
    def turn(self):
        """Wait for the model (the time waited is what the caller reports as queued)."""
        ticket = self.join()
        for _ in self.waits(ticket, every_s=self.max_wait_s):
            pass
        started = time.monotonic()
        try:
            yield
        finally:
            self.leave(ticket, time.monotonic() - started)


class Turn:
    """This answer's turn on the local model, held to its last word, given back while the large model is
    awaited (its budget may take a minute: the others' answers go on meanwhile). Waiting for it, the answer
    says every second how many are ahead; a client that goes away meanwhile leaves the line."""

    def __init__(self, turns: Turns, timings: dict):
        self.turns, self.timings = turns, timings
        self.ticket: int | None = None
        self.since = 0.0

    def take(self) -> Iterator[dict]:
        if self.ticket is not None:
            return
        at = time.perf_counter()
        ticket = self.turns.join()  # a full line refuses here, before any event: the client gets a 503
        if ahead := self.turns.ahead_of(ticket):
            yield waiting(self.turns, ahead)
        for ahead in self.turns.waits(ticket):
            yield waiting(self.turns, ahead)
        self.ticket, self.since = ticket, time.monotonic()
        lap(self.timings, "queued_s", at)

    def release(self) -> None:
        if self.ticket is not None:
            self.turns.leave(self.ticket, time.monotonic() - self.since)
            self.ticket = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def waiting(turns: Turns, ahead: int) -> dict:
    return {"type": "waiting", "ahead": ahead, "expected_s": round(turns.expected_wait(ahead), 1)}
