"""/v1/embeddings as a fair neighbour of the answers: one request embeds at a time (a bounded line behind
it), a batch at a time through the background Pacer (rag/pacing.py), so that while answers wait for or hold
the model, it and ingest together take at most half the encoder. Three maximal requests once made a 5 s
answer take 243 s; their tokens also count against the caller's own limit (service/auth.py)."""

import threading
from contextlib import contextmanager

import numpy as np

from rag.errors import ServiceBusy
from rag.pacing import Pacer

BATCH = 32  # texts per encoder call: the encoder's lock is free between calls, for the questions' own


class EmbeddingLine:
    def __init__(self, embedder, pacer: Pacer, max_waiting: int = 4, max_wait_s: float = 60.0):
        self.embedder = embedder
        self.pacer = pacer
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self._slot = threading.Semaphore(1)
        self._lock = threading.Lock()
        self._waiting = 0

    @contextmanager
    def _turn(self):
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise ServiceBusy(f"{self.max_waiting} embedding requests are already waiting; try again shortly",
                                  retry_after=5.0)
            self._waiting += 1
        try:
            got = self._slot.acquire(timeout=self.max_wait_s)
        finally:
            with self._lock:
                self._waiting -= 1
        if not got:
            raise ServiceBusy(f"waited {self.max_wait_s:g} s for the embedding model; try again shortly",
                              retry_after=5.0)
        try:
            yield
        finally:
            self._slot.release()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._turn():
            parts = []
            for start in range(0, len(texts), BATCH):
                with self.pacer.batch():
                    parts.append(self.embedder.embed(texts[start:start + BATCH]))
            return np.concatenate(parts).astype(np.float32)
