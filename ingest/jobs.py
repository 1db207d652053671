"""Ingest jobs for uploads: recorded in SQLite, run by a worker thread inside the service."""

import json
import logging
import queue
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ingest.pipeline import Ingestor
from ingest.report import FileReport

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    status TEXT NOT NULL,            -- queued | running | done | failed
    files TEXT NOT NULL,             -- JSON: [{"name", "path", "document_id"}]
    results TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Jobs:
    """Jobs table + an in-process worker. The worker gets its own SQLite connection and Ingestor."""

    def __init__(self, conn, ingestor: Ingestor, write_lock: threading.Lock):
        self.conn = conn
        self.conn.executescript(SCHEMA)
        self.ingestor = ingestor
        self.write_lock = write_lock
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Jobs left queued or running by a previous process are run again: ingest is idempotent.
        for row in self.conn.execute("SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at"):
            self._queue.put(row["id"])
        self._thread = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._queue.put(None)
            self._thread.join(timeout=30)

    def submit(self, collection: str, files: list[dict]) -> str:
        job_id = uuid.uuid4().hex
        now = _now()
        self.conn.execute(
            "INSERT INTO jobs (id, collection, status, files, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?)",
            (job_id, collection, json.dumps(files), now, now),
        )
        self._queue.put(job_id)
        return job_id

    def get(self, job_id: str) -> dict | None:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        files, results = json.loads(row["files"]), json.loads(row["results"])
        return {
            "id": row["id"], "collection": row["collection"], "status": row["status"], "error": row["error"],
            "total": len(files), "done": len(results), "files": results or files,
            "created_at": row["created_at"], "updated_at": row["updated_at"],
        }

    def depth(self) -> int:
        return self.conn.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]

    def _update(self, job_id: str, **fields) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.ingestor.conn.execute(
            f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?", [*fields.values(), _now(), job_id]
        )

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                self._run(job_id)
            except Exception as e:  # noqa: BLE001 - a job fails with its reason; the worker lives on
                log.exception("job %s failed", job_id)
                self._update(job_id, status="failed", error=f"{type(e).__name__}: {e}")

    def _run(self, job_id: str) -> None:
        row = self.ingestor.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return
        files = json.loads(row["files"])
        self._update(job_id, status="running")
        results: list[dict] = []

        def progress(report: FileReport) -> None:
            results.append({"source": report.source, "document_id": report.document_id, "outcome": report.outcome,
                            "chunks": report.chunks, "reason": report.reason})
            self._update(job_id, results=json.dumps(results))

        paths = [Path(f["path"]) for f in files]
        with self.write_lock:
            summary = self.ingestor.ingest(paths, row["collection"], on_progress=progress)
        failed = summary.count("failed")
        self._update(job_id, status="done" if not failed or failed < len(files) else "failed",
                     error=f"{failed} of {len(files)} files failed" if failed else None)
        log.info("job %s done: %s", job_id, {k: v for k, v in summary.to_dict().items() if k != "files"})
