"""Background encoding beside the answers: /v1/embeddings a batch at a time, the encoder free between
batches, at most half of it for all background work together while answers are busy; one request at a time
with a bounded line."""

import threading
import time

import numpy as np
import pytest

from rag.answer.turns import Turns
from rag.errors import ServiceBusy
from rag.pacing import Pacer
from service.embeddings import BATCH, EmbeddingLine


class SlowEmbedder:
    """Each call takes `seconds` under one lock, as the real encoder does; calls are recorded in order."""

    def __init__(self, seconds=0.02):
        self.seconds = seconds
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def embed(self, texts):
        with self._lock:
            time.sleep(self.seconds)
            self.calls.append(len(texts))
            return np.ones((len(texts), 3), dtype=np.float32)


def test_a_big_request_goes_a_batch_at_a_time_and_lets_a_question_in():
    embedder, turns = SlowEmbedder(), Turns()
    line = EmbeddingLine(embedder, Pacer(turns.busy))
    result = {}
    big = threading.Thread(target=lambda: result.setdefault("big", line.embed(["t"] * (BATCH * 20))))
    with turns.turn():  # an answer holds the model, and embeds its question meanwhile
        big.start()
        while not embedder.calls:
            time.sleep(0.005)
        embedder.embed(["the question"])
        assert len(embedder.calls) < 20  # the question did not wait for all of the big request
    big.join()
    assert result["big"].shape == (BATCH * 20, 3) and max(embedder.calls) == BATCH


def test_while_answers_are_busy_background_work_rests_as_long_as_it_worked():
    embedder, turns = SlowEmbedder(0.05), Turns()
    line = EmbeddingLine(embedder, Pacer(turns.busy, share=0.5))
    started = time.monotonic()
    line.embed(["t"] * (BATCH * 4))
    alone = time.monotonic() - started
    with turns.turn():
        started = time.monotonic()
        line.embed(["t"] * (BATCH * 4))
        beside = time.monotonic() - started
    assert alone >= 0.2 and beside >= alone + 3 * 0.05  # three rests between four batches


def test_the_rest_is_shared_by_all_background_work():
    """Two background workers (ingest, embeddings) through one pacer: their batches and rests alternate, so
    the encoder works at most half the time between them, not each half of it."""
    embedder, turns = SlowEmbedder(0.05), Turns()
    pacer = Pacer(turns.busy, share=0.5)

    def work():
        for _ in range(4):
            with pacer.batch():
                embedder.embed(["t"])

    with turns.turn():
        started = time.monotonic()
        workers = [threading.Thread(target=work) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - started
    assert elapsed >= 2 * (8 * 0.05) - 0.05  # 8 batches of 0.05 s, each but the first after a rest as long


def test_the_line_is_bounded():
    embedder = SlowEmbedder(0.3)
    line = EmbeddingLine(embedder, Pacer(), max_waiting=1, max_wait_s=0.1)
    first = threading.Thread(target=line.embed, args=(["t"],))
    first.start()
    time.sleep(0.05)
    with pytest.raises(ServiceBusy, match="waited"):
        line.embed(["t"])
    first.join()
