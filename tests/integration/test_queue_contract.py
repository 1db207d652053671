"""One contract for every job queue: immediate (in memory), SQLite in the data directory, the real Redis."""

import threading
import time
import uuid

import pytest

from ingest.queue import open_queue
from rag.settings import Settings
from tests.helpers.databases import redis_url

pytestmark = pytest.mark.integration


def queue_settings(kind: str, tmp_path) -> Settings:
    options = {"queue": kind}
    if kind == "redis":
        options["redis_url"] = redis_url()
    return Settings(_env_file=None, data_dir=tmp_path, job_retry_delay_s=0.05, **options)


@pytest.fixture(params=["immediate", "sqlite", "redis"])
def queue(request, tmp_path):
    queue = open_queue(queue_settings(request.param, tmp_path), name=f"test-{uuid.uuid4().hex[:8]}")
    yield queue
    queue.stop()
    queue.huey.flush()


def wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_every_job_runs_once(queue):
    ran, lock = [], threading.Lock()

    def run(job_id, last_try):
        with lock:
            ran.append(job_id)

    queue.start(run, workers=2)
    for i in range(10):
        queue.enqueue(f"job-{i}")
    assert wait_for(lambda: len(ran) == 10), ran
    time.sleep(0.3)
    assert sorted(ran) == sorted(f"job-{i}" for i in range(10))
    assert queue.pending() == 0


def test_a_failing_job_is_retried_until_its_last_try(queue):
    tries = []

    def run(job_id, last_try):
        tries.append(last_try)
        if not last_try:
            raise ConnectionError("the store is away")

    queue.start(run)
    queue.enqueue("flaky")
    assert wait_for(lambda: tries and tries[-1] is True, 60), tries
    assert tries == [False] * 4 + [True]


def test_jobs_queued_by_one_process_are_run_by_another(queue, tmp_path):
    if queue.name == "immediate":
        pytest.skip("an immediate queue runs each job where it is submitted")
    producer = open_queue(queue_settings(queue.name, tmp_path), name=queue.huey.name)
    producer.enqueue("from-the-api")
    assert producer.pending() == 1
    ran = []
    queue.start(lambda job_id, last_try: ran.append(job_id))
    assert wait_for(lambda: ran == ["from-the-api"])
