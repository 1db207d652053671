"""Running ingest jobs: a job is claimed in the catalog under a lease the worker renews while it works. A
worker that dies (SIGKILL, out of memory, the machine gone) stops renewing; any live worker's sweeper then
queues the job again, and it runs elsewhere. Ingest is idempotent (content hashes, deterministic chunk ids,
the catalog written last), so a job run twice leaves no duplicate and no orphan chunk."""

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ingest.files import clear_scratch
from ingest.pipeline import Ingestor
from ingest.queue import Queue
from ingest.report import FileReport
from rag.catalog import Catalog
from rag.errors import BackendUnavailable
from rag.lock import CollectionLocks

log = logging.getLogger(__name__)


def transient(error: BaseException) -> bool:
    """Errors that go away when a backend comes back: retried with backoff; anything else fails the job."""
    import redis.exceptions
    import sqlalchemy.exc

    return isinstance(error, (BackendUnavailable, ConnectionError, TimeoutError, sqlalchemy.exc.OperationalError,
                              sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError,
                              redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))


class Jobs:
    """Submit jobs (the API, `ingest --enqueue`), read their state, and run them (a worker)."""

    def __init__(self, settings, catalog: Catalog, queue: Queue, ingestor: Ingestor | None = None,
                 locks: CollectionLocks | None = None):
        self.settings = settings
        self.catalog = catalog
        self.queue = queue
        self.ingestor = ingestor
        self.locks = locks or CollectionLocks()  # the service's: no delete in a collection while it is written
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._writing: set[str] = set()  # the collections this process's lanes are writing
        self._writing_lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self.on_done: Callable[[str, list[str]], None] | None = None  # (collection, documents ingested)

    # -- submitting ------------------------------------------------------------------------------

    def submit(self, collection: str, files: list[dict]) -> str:
        job_id = uuid.uuid4().hex
        self.catalog.submit_job(job_id, collection, files, self.settings.job_lease_s)
        try:
            self.queue.enqueue(job_id)
        except Exception as e:
            if not transient(e):
                raise
            self.catalog.update_job(job_id, status="failed", error=f"the job queue is unreachable: {e}")
            raise BackendUnavailable(f"the job queue is unreachable: {e}") from e
        return job_id

    def get(self, job_id: str) -> dict | None:
        job = self.catalog.job(job_id)
        if job is None:
            return None
        return {"id": job.id, "collection": job.collection, "status": job.status, "error": job.error,
                "total": len(job.files), "done": len(job.results), "attempts": job.attempts, "worker": job.worker,
                "files": job.results or [{k: f[k] for k in ("name", "document_id")} for f in job.files],
                "created_at": job.created_at, "updated_at": job.updated_at}

    def depth(self) -> int:
        return self.catalog.job_depth()

    # -- running ---------------------------------------------------------------------------------

    def start(self, workers: int | None = None) -> None:
        """Run jobs in this process, in the background (the embedded service), on RAG_INGEST_WORKERS lanes."""
        self._expire_dead_here()
        self.sweep()  # jobs a previous process left running
        self.queue.start(self.run, workers or self.settings.ingest_workers)
        self._start_sweeper()

    def stop(self) -> None:
        self._stop.set()
        self.queue.stop()

    def _expire_dead_here(self) -> None:
        """A job left running by a process of this machine that is gone (killed, restarted) is taken over
        now, not a lease later: it goes first again, before the jobs that came after it."""
        host = socket.gethostname()
        for job_id, worker in self.catalog.running_jobs():
            name, _, rest = (worker or "").partition(":")
            pid = rest.partition(":")[0]
            if name == host and worker != self.worker_id and pid.isdigit() and not _alive(int(pid)):
                self.catalog.update_job(job_id, lease_until=0.0)

    def consume(self, workers: int = 1) -> None:
        """Run jobs until told to stop (`ingest worker`)."""
        self._expire_dead_here()
        clear_scratch(self.settings)  # what a killed worker left staged
        self._start_sweeper()
        try:
            self.queue.consume(self.run, workers)
        finally:
            self._stop.set()

    def _start_sweeper(self) -> None:
        alive = self.settings.data_dir / "worker.alive"  # its age is the container's health check

        def loop():
            while not self._stop.wait(self.settings.job_lease_s / 3):
                with contextlib.suppress(Exception):  # a backend down now is retried at the next round
                    self.sweep()
                    alive.touch()

        self._sweeper = threading.Thread(target=loop, name="ingest-sweeper", daemon=True)
        self._sweeper.start()

    def sweep(self) -> list[str]:
        """Queue again the jobs whose worker stopped renewing its lease; and wake a lane up when jobs wait
        but the queue has run dry (the process that queued them died before its message went out)."""
        again = self.catalog.expired_jobs(("running",), self.settings.job_lease_s)
        for job_id in again:
            log.warning("job %s: its worker stopped; queued again", job_id)
            self.queue.enqueue(job_id)
        if not again and self.queue.pending() == 0 and self.catalog.job_depth():
            self.queue.enqueue("wake-up")
        self._forget_unqueued_uploads()
        return again

    def _forget_unqueued_uploads(self) -> None:
        """An API killed between keeping an upload's bytes and queueing its job never acknowledged it: its
        pending document, with no job to finish it, is removed (its job is queued milliseconds after, so
        one older than a lease has none)."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.settings.job_lease_s)
        stale = [d for d in self.catalog.list(status="pending") if datetime.fromisoformat(d.updated_at) < cutoff]
        if stale:
            active = self.catalog.active_documents()
            for doc in stale:
                if doc.id not in active:
                    log.warning("%s: its upload was interrupted before its job was queued; removed", doc.source)
                    self.catalog.delete_document(doc.id)

    def run(self, job_id: str | None = None, last_try: bool = True) -> None:
        """A queue message wakes a lane up: it runs whatever job is due next (`claim_next`: a collection's jobs
        start in arrival order, tenants with nothing running first), until none is. The message's own job may
        run on another lane, or later, after the older jobs of its collection. This process's lanes never
        write one collection at once (so copies in it are told apart in order); other workers' may."""
        while True:
            with self._writing_lock:  # a collection this process writes already would only wait for its lock
                job = self.catalog.claim_next(self.worker_id, self.settings.job_lease_s, frozenset(self._writing))
                if job is None:
                    return
                self._writing.add(job.collection)
            try:
                self._run(job)
            finally:
                with self._writing_lock:
                    self._writing.discard(job.collection)

    def _run(self, job) -> None:
        if job.takeovers >= self.settings.job_attempts:
            self.catalog.update_job(job.id, status="failed", error=(
                f"its worker stopped {job.takeovers} times while ingesting it (killed, or out of memory)"))
            return
        retry_in = None
        with self._renewing(job.id, self.settings.job_lease_s):
            try:
                results = self._ingest(job)
            except Exception as e:
                reason = f"{type(e).__name__}: {e}"
                if not transient(e) or job.attempts > self.settings.job_retries:
                    log.exception("job %s failed", job.id)
                    self.catalog.update_job(job.id, status="failed", error=reason)
                    return
                retry_in = self.queue.retry_delay * 2 ** (job.attempts - 1)
                log.warning("job %s: %s; retrying in %.0f s", job.id, reason, retry_in)
                self.catalog.update_job(job.id, status="queued", error=f"retrying after: {reason}",
                                        lease_until=time.time() + retry_in)
        if retry_in is not None:  # after its lease's renewal stopped: an immediate queue runs it right here
            self.queue.enqueue(job.id, delay=retry_in)
            return
        failed = sum(r["outcome"] == "failed" for r in results)
        total = len(job.files)
        self.catalog.update_job(job.id, status="failed" if failed == total and total else "done",
                                error=f"{failed} of {total} files failed" if failed else None)
        ingested = [r["document_id"] for r in results if r["outcome"] in ("ingested", "replaced")]
        if self.on_done is not None and ingested:
            try:
                self.on_done(job.collection, ingested)
            except Exception:  # noqa: BLE001 - what follows a job never fails it
                log.exception("after job %s", job.id)

    def _ingest(self, job) -> list[dict]:
        """Each file's outcome."""
        results: list[dict] = []

        def progress(report: FileReport) -> None:
            results.append({"source": report.source, "name": Path(report.source).name,
                            "document_id": report.document_id, "outcome": report.outcome, "chunks": report.chunks,
                            "reason": report.reason})
            self.catalog.update_job(job.id, results=results)

        with self.locks(job.collection):  # no delete in this collection meanwhile
            self.ingestor.ingest_stored(job.files, job.collection, on_progress=progress)
        return results

    @contextlib.contextmanager
    def _renewing(self, job_id: str, lease: float):
        done = threading.Event()

        def renew():
            while not done.wait(lease / 3):
                try:
                    if not self.catalog.extend_lease(job_id, self.worker_id, lease):
                        log.warning("job %s: lost its lease (another worker took it over)", job_id)
                except Exception as e:  # noqa: BLE001 - the catalog is away: the next round tries again
                    log.warning("job %s: could not renew its lease: %s", job_id, e)

        thread = threading.Thread(target=renew, name=f"lease-{job_id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
