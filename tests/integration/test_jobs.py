"""Ingest jobs end to end on real parts (Chroma on disk, the real encoder, the SQLite catalog): uploads
kept in the catalog, transient failures retried, a dead worker's job taken over with no chunk left twice."""

import hashlib
import time

import pytest

from ingest.pipeline import Ingestor
from ingest.queue import open_queue
from ingest.worker import Jobs
from rag.catalog import document_id, open_catalog
from rag.errors import BackendUnavailable
from rag.store import open_store
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration


class FlakyStore:
    """The real store, away for its first `failures` writes."""

    def __init__(self, store, failures: int):
        self.store, self.failures = store, failures

    def add(self, chunks, vectors):
        if self.failures:
            self.failures -= 1
            raise BackendUnavailable("Chroma at 127.0.0.1:8000 is unreachable")
        self.store.add(chunks, vectors)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture
def jobs(settings, embedder):
    settings = settings.model_copy(update={"queue": "immediate", "job_lease_s": 0.5})
    catalog = open_catalog(settings)
    jobs = Jobs(settings, catalog, open_queue(settings), Ingestor(settings, embedder, open_store(settings), catalog))
    jobs.queue.start(jobs.run)
    return jobs


def upload(jobs, *names, collection="default") -> list[dict]:
    files = []
    for name in names:
        data = (SAMPLES / name).read_bytes()
        doc_id = document_id(collection, name)
        jobs.catalog.put_upload(doc_id, collection, name, name, hashlib.sha256(data).hexdigest(), data)
        files.append({"name": name, "source": name, "document_id": doc_id})
    return files


def consistent(jobs, collection="default") -> set[str]:
    """Chroma, the lexical index and the documents' chunk counts agree."""
    chroma = jobs.ingestor.store._collection(collection).get(include=[])["ids"]
    lexical = [c.id for c in jobs.catalog.lexical.chunks(collection)]
    assert sorted(chroma) == sorted(lexical) and len(set(chroma)) == len(chroma)
    assert sum(d.chunks for d in jobs.catalog.list(collection)) == len(chroma)
    return set(chroma)


def test_an_uploaded_file_is_ingested_from_the_catalog(jobs):
    job_id = jobs.submit("default", upload(jobs, "travel-expense-policy.pdf", "release-notes.txt"))
    job = jobs.get(job_id)
    assert (job["status"], job["done"], job["total"]) == ("done", 2, 2)
    doc = jobs.catalog.get(document_id("default", "travel-expense-policy.pdf"))
    assert (doc.status, doc.source, doc.location) == ("ingested", "travel-expense-policy.pdf", None)
    hit = jobs.catalog.lexical.search("default", "daily meal allowance abroad", k=1)[0]
    assert hit.source == "travel-expense-policy.pdf" and hit.page == 2
    assert consistent(jobs)


def test_a_store_that_is_away_is_retried_and_the_job_finishes(jobs):
    jobs.ingestor.store = FlakyStore(jobs.ingestor.store, failures=2)
    job = jobs.get(jobs.submit("default", upload(jobs, "release-notes.txt")))
    assert job["status"] == "done" and job["attempts"] == 3
    assert consistent(jobs)


def test_a_store_away_for_longer_than_the_retries_fails_the_job_with_its_reason(jobs):
    jobs.ingestor.store = FlakyStore(jobs.ingestor.store, failures=99)
    job = jobs.get(jobs.submit("default", upload(jobs, "release-notes.txt")))
    assert job["status"] == "failed" and "Chroma at 127.0.0.1:8000 is unreachable" in job["error"]


def test_a_dead_workers_half_written_job_is_taken_over_with_no_chunk_twice(jobs):
    files = upload(jobs, "employee-handbook.md")
    jobs.catalog.submit_job("orphan", "default", files, lease_s=0.5)
    assert jobs.catalog.claim_job("orphan", "a worker that died", lease_s=60)
    # It had written some vectors of the document before it died, and nothing in the catalog.
    loaded_chunks = Ingestor(jobs.settings, jobs.ingestor.embedder, jobs.ingestor.store, jobs.catalog)
    path = SAMPLES / "employee-handbook.md"
    from ingest.loaders import load

    chunks = loaded_chunks.chunker.split(load(path), files[0]["document_id"], "default", "employee-handbook.md")
    jobs.ingestor.store.add(chunks[:3], jobs.ingestor.embedder.embed([c.text for c in chunks[:3]]))
    assert jobs.sweep() == []  # its lease has not run out yet
    jobs.catalog.update_job("orphan", lease_until=time.time() - 1)  # and now it has: its worker is gone
    assert jobs.sweep() == ["orphan"]  # queued again (and, here, run at once)
    job = jobs.get("orphan")
    assert (job["status"], job["attempts"]) == ("done", 2)
    assert len(consistent(jobs)) == len(chunks)


def test_a_job_whose_workers_keep_dying_fails_with_the_reason(jobs):
    jobs.catalog.submit_job("poison", "default", upload(jobs, "release-notes.txt"), lease_s=0.5)
    for attempt in range(jobs.settings.job_attempts):
        jobs.catalog.update_job("poison", lease_until=0.0)
        assert jobs.catalog.claim_job("poison", f"worker {attempt}", lease_s=0.3)
    jobs.catalog.update_job("poison", lease_until=0.0)
    jobs.run("poison")
    job = jobs.get("poison")
    assert job["status"] == "failed" and "stopped 3 times" in job["error"]


def test_bytes_deleted_before_the_job_ran_fail_that_file_alone(jobs):
    files = upload(jobs, "release-notes.txt", "it-help.html")
    assert [d.status for d in jobs.catalog.list()] == ["pending", "pending"]  # listed, and deletable, at once
    assert jobs.catalog.delete_document(files[0]["document_id"]).status == "pending"
    job = jobs.get(jobs.submit("default", files))
    outcomes = {f["name"]: (f["outcome"], f["reason"]) for f in job["files"]}
    assert outcomes["it-help.html"][0] == "ingested"
    assert outcomes["release-notes.txt"] == ("failed", "its uploaded bytes are gone (deleted before it was ingested)")
    assert job["status"] == "done" and job["error"] == "1 of 2 files failed"
    assert [d.source for d in jobs.catalog.list()] == ["it-help.html"]  # the deleted one stays deleted


def test_an_upload_whose_job_was_never_queued_is_removed_by_the_sweeper(settings, embedder):
    """The API killed between keeping an upload's bytes and queueing its job: it never answered 202, and
    nothing may stay pending forever. A pending document with a queued job is left alone."""
    # Two sweepers over one catalog and queue, so that "too young" does not depend on how fast this machine is.
    patient, hasty = (settings.model_copy(update={"queue": "sqlite", "job_lease_s": s}) for s in (600, 1))
    catalog = open_catalog(patient)
    ingestor = Ingestor(patient, embedder, open_store(patient), catalog)
    jobs = Jobs(patient, catalog, open_queue(patient), ingestor)
    [cut] = upload(jobs, "release-notes.txt")
    queued = upload(jobs, "it-help.html")
    jobs.submit("default", queued)  # queued, not run: no worker here
    jobs.sweep()
    assert {d.source for d in catalog.list(status="pending")} == {"release-notes.txt", "it-help.html"}  # too young
    time.sleep(1.1)
    Jobs(hasty, catalog, open_queue(hasty), ingestor).sweep()
    assert [d.source for d in catalog.list(status="pending")] == ["it-help.html"]
    assert catalog.upload(cut["document_id"]) is None  # its bytes too


def test_after_a_restart_the_first_uploaded_copy_stays_the_original(settings, embedder):
    """kill -9 mid-job, then a restart: the job its dead process held runs first again (not a lease later,
    after the jobs that came after it), so of two copies the first uploaded is the original."""
    import socket
    import subprocess
    import sys

    settings = settings.model_copy(update={"queue": "sqlite"})
    catalog = open_catalog(settings)
    jobs = Jobs(settings, catalog, open_queue(settings), Ingestor(settings, embedder, open_store(settings), catalog))
    data = (SAMPLES / "release-notes.txt").read_bytes()
    ids = []
    for name in ("first.txt", "second.txt"):
        doc_id = document_id("default", name)
        catalog.put_upload(doc_id, "default", name, name, hashlib.sha256(data).hexdigest(), data)
        ids.append(jobs.submit("default", [{"name": name, "source": name, "document_id": doc_id}]))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:abcdef"
    assert catalog.claim_job(ids[0], dead, lease_s=600)  # the killed process held the first job
    jobs.start()
    try:
        deadline = time.monotonic() + 120
        while any(jobs.get(j)["status"] not in ("done", "failed") for j in ids):
            assert time.monotonic() < deadline, [jobs.get(j) for j in ids]
            time.sleep(0.1)
    finally:
        jobs.stop()
    first, second = (catalog.get(document_id("default", n)) for n in ("first.txt", "second.txt"))
    assert (first.status, second.status, second.duplicate_of) == ("ingested", "duplicate", first.id)
