"""The catalog's ingest jobs, on the same SQLAlchemy Core tables as the rest (a part of SqlCatalog)."""

from __future__ import annotations

import json
import time

from sqlalchemy import case, func, insert, select, update

from rag.catalog import tables as t
from rag.catalog.base import Job
from rag.catalog.tables import now
from rag.tenants import owner


class SqlJobs:
    """Jobs under leases: claimed, renewed, taken over when their worker dies. Mixed into SqlCatalog, whose
    `_read` and `_write` give the connections."""

    def submit_job(self, job_id: str, collection: str, files: list[dict], lease_s: float) -> None:
        stamp = now(precise=True)  # its place in line: jobs of a collection run in this order
        with self._write() as conn:
            conn.execute(insert(t.ingest_jobs).values(
                id=job_id, collection=collection, status="queued", files=json.dumps(files), results="[]",
                attempts=0, lease_until=time.time(), created_at=stamp, updated_at=stamp))

    def job(self, job_id: str) -> Job | None:
        with self._read() as c:
            row = c.execute(select(t.ingest_jobs).where(t.ingest_jobs.c.id == job_id)).mappings().first()
        if row is None:
            return None
        return Job(**{**row, "files": json.loads(row["files"]), "results": json.loads(row["results"])})

    def claim_job(self, job_id: str, worker: str, lease_s: float) -> Job | None:
        j = t.ingest_jobs.c
        claim = {"status": "running", "worker": worker, "attempts": j.attempts + 1, "lease_until": time.time() + lease_s,
                 "updated_at": now()}
        with self._write() as conn:
            done = conn.execute(update(t.ingest_jobs).where(j.id == job_id, j.status == "queued").values(**claim))
            if done.rowcount == 0:  # or take it over from a worker that stopped renewing its lease
                done = conn.execute(update(t.ingest_jobs)
                                    .where(j.id == job_id, j.status == "running", j.lease_until < time.time())
                                    .values(**claim, takeovers=j.takeovers + 1))
        return self.job(job_id) if done.rowcount == 1 else None

    def claim_next(self, worker: str, lease_s: float, skip: frozenset[str] = frozenset()) -> Job | None:
        """The job to run next, claimed: in each collection (but those in `skip`, which this worker is writing
        already), the oldest job not running under a live lease, when it is queued and due or its worker died,
        so a collection's jobs start in arrival order; tenants with no job running first, then the oldest."""
        j = t.ingest_jobs.c
        with self._read() as c:
            rows = c.execute(select(j.id, j.collection, j.status, j.lease_until, j.worker)
                             .where(j.status.in_(("queued", "running"))).order_by(j.created_at, j.id)).all()
        at = time.time()
        live = [r for r in rows if r.status == "running" and r.lease_until >= at]
        first = {}
        for row in rows:
            if row not in live:
                first.setdefault(row.collection, row)
        busy = {owner(r.collection) for r in live}
        due = [r for r in first.values() if r.collection not in skip and (
            (r.status == "queued" and r.lease_until <= at) or (r.status == "running" and r.lease_until < at))]
        for row in sorted(due, key=lambda r: owner(r.collection) in busy):  # stable: oldest first within
            if (job := self.claim_job(row.id, worker, lease_s)) is not None:
                return job
        return None

    def running_jobs(self) -> list[tuple[str, str]]:
        """(job id, worker) of the jobs running under a lease."""
        j = t.ingest_jobs.c
        with self._read() as c:
            return [(r.id, r.worker) for r in c.execute(select(j.id, j.worker).where(j.status == "running"))]

    def extend_lease(self, job_id: str, worker: str, lease_s: float) -> bool:
        j = t.ingest_jobs.c
        with self._write() as conn:
            done = conn.execute(update(t.ingest_jobs).where(j.id == job_id, j.worker == worker, j.status == "running")
                                .values(lease_until=time.time() + lease_s))
        return done.rowcount == 1

    def update_job(self, job_id: str, **fields) -> None:
        if "results" in fields:
            fields["results"] = json.dumps(fields["results"])
        with self._write() as conn:
            conn.execute(update(t.ingest_jobs).where(t.ingest_jobs.c.id == job_id).values(**fields, updated_at=now()))

    def expired_jobs(self, statuses: tuple[str, ...], lease_s: float) -> list[str]:
        j = t.ingest_jobs.c
        with self._read() as c:
            ids = list(c.execute(select(j.id).where(j.status.in_(statuses), j.lease_until < time.time())
                                 .order_by(j.created_at)).scalars())
        taken = []
        for job_id in ids:
            with self._write() as conn:  # a running one's worker died: queued again, counted
                done = conn.execute(update(t.ingest_jobs)
                                    .where(j.id == job_id, j.status.in_(statuses), j.lease_until < time.time())
                                    .values(status="queued", lease_until=time.time(), updated_at=now(),
                                            takeovers=case((j.status == "running", j.takeovers + 1),
                                                           else_=j.takeovers)))
            if done.rowcount == 1:
                taken.append(job_id)
        return taken

    def active_documents(self) -> set[str]:
        """The documents of jobs queued or running."""
        j = t.ingest_jobs.c
        with self._read() as c:
            files = c.execute(select(j.files).where(j.status.in_(("queued", "running")))).scalars()
            return {f["document_id"] for listed in files for f in json.loads(listed)}

    def job_depth(self) -> int:
        with self._read() as c:
            return c.execute(select(func.count()).select_from(t.ingest_jobs)
                             .where(t.ingest_jobs.c.status.in_(("queued", "running")))).scalar()
