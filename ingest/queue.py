"""The ingest job queue on huey: SQLite in the data directory (embedded), Redis to share it across
machines, or immediate (each job runs when submitted; for tests).

Huey does not redeliver a task whose worker died (no acknowledgements): the catalog's job leases do
(ingest/worker.py). We keep huey for the rest: one API over SQLite, Redis and in-memory storage, retries
with exponential backoff, a consumer with graceful shutdown. Celery (acks_late) and Dramatiq redeliver by
themselves, but neither has an embedded broker that needs no server."""

import logging
from collections.abc import Callable
from typing import Protocol

from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from rag.errors import RagError

log = logging.getLogger(__name__)
TASK = "ingest_job"

Runner = Callable[[str, bool], None]  # (job id, whether this is the last try)


class Queue(Protocol):
    name: str
    retry_delay: float  # a job failing for a backend that is away waits this long, then twice as long, ...

    def enqueue(self, job_id: str, delay: float = 0) -> None:
        """A message that wakes a lane up (after `delay` seconds)."""

    def pending(self) -> int: ...

    def start(self, run: Runner, workers: int = 1) -> None:
        """Consume in background threads of this process (the embedded service's own worker)."""

    def stop(self) -> None: ...

    def consume(self, run: Runner, workers: int = 1) -> None:
        """Consume until SIGINT or SIGTERM (`ingest worker`); a running job finishes first."""


class _QuietConsumer(Consumer):
    """A consumer inside the service: the service's server owns the process's signals."""

    def _set_signal_handlers(self):
        pass


class HueyQueue:
    def __init__(self, huey, name: str, retries: int = 4, retry_delay: float = 2.0):
        self.huey = huey
        self.name = name
        self.retry_delay = retry_delay
        self._run: Runner | None = None
        self._consumer: Consumer | None = None

        @huey.task(name=TASK, retries=retries, retry_delay=retry_delay, retry_backoff=2, context=True)
        def ingest_job(job_id: str, task=None):
            if self._run is None:
                raise RuntimeError("this process submits ingest jobs but runs none")
            self._run(job_id, task is None or task.retries == 0)

        self._task = ingest_job

    def enqueue(self, job_id: str, delay: float = 0) -> None:
        if delay > 0 and not self.huey.immediate:
            self._task.schedule((job_id,), delay=delay)
        else:
            self._task(job_id)

    def pending(self) -> int:
        return self.huey.pending_count()

    def start(self, run: Runner, workers: int = 1) -> None:
        self._run = run
        if self.huey.immediate:
            return
        self._consumer = _QuietConsumer(self.huey, workers=workers, worker_type="thread", initial_delay=0.1,
                                        max_delay=1.0, check_worker_health=False, shutdown_timeout=30)
        self._consumer.start()

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def consume(self, run: Runner, workers: int = 1) -> None:
        self._run = run
        consumer = self.huey.create_consumer(workers=workers, worker_type="thread", initial_delay=0.1, max_delay=1.0)
        consumer.run()


def open_queue(settings, name: str | None = None) -> HueyQueue:
    name = name or settings.queue_name
    retries = {"retries": settings.job_retries, "retry_delay": settings.job_retry_delay_s}
    if settings.queue == "immediate":
        return HueyQueue(MemoryHuey(name, immediate=True), "immediate", retries=settings.job_retries, retry_delay=0)
    # An embedded store is one process's: with it, jobs stay with the service even when Redis is there.
    if settings.queue == "redis" or (settings.queue == "auto" and settings.redis_url and settings.chroma_host):
        if not settings.redis_url:
            raise RagError("RAG_QUEUE=redis needs RAG_REDIS_URL")
        return HueyQueue(RedisHuey(name, url=settings.redis_url), "redis", **retries)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return HueyQueue(SqliteHuey(name, filename=str(settings.data_dir / "queue.sqlite3")), "sqlite", **retries)
