"""Background encoding beside the answers: ingest and /v1/embeddings encode a batch at a time through one
Pacer, and while answers wait for or hold the model, the encoder then rests as long as each batch took, all
background work together (alone, each resting after its own batch still filled the CPU between them, and a
light caller's answers took 2.3x as long beside a heavy one)."""

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager


class Pacer:
    def __init__(self, busy: Callable[[], bool] = lambda: False, share: float = 0.5):
        self.busy = busy
        self.share = share  # of the encoder's time, at most, while answers are busy
        self._lock = threading.Lock()
        self._free_at = 0.0

    @contextmanager
    def batch(self):
        """One background batch: after the rest the last one earned, while answers are busy."""
        with self._lock:
            rest = self._free_at - time.monotonic()
            if rest > 0 and self.busy():
                time.sleep(rest)
            began = time.monotonic()
            try:
                yield
            finally:
                spent = time.monotonic() - began
                self._free_at = time.monotonic() + spent * (1 - self.share) / self.share
