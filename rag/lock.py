"""One process at a time owns the embedded store; a second one gets a clear error."""

import fcntl
import os
import sys
import threading
from collections import defaultdict
from pathlib import Path

from rag.errors import StoreBusy


class StoreLock:
    def __init__(self, data_dir: Path, purpose: str = ""):
        self.path = Path(data_dir) / ".lock"
        self.purpose = purpose or " ".join(sys.argv)[:200]
        self._file = None

    def acquire(self) -> "StoreLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown process"
            f.close()
            raise StoreBusy(
                f"the data directory {self.path.parent} is in use by {holder}; "
                "wait for it to finish, or send documents to the running service (POST /documents, or "
                "`ingest PATH --enqueue`)"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} ({self.purpose})")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def store_lock(settings, purpose: str):
    """The embedded store (Chroma on disk) is one process's at a time; a Chroma server is everyone's."""
    from contextlib import nullcontext

    return nullcontext() if settings.chroma_host else StoreLock(settings.data_dir, purpose)


class CollectionLocks:
    """A lock per collection: a delete in one waits for a job writing that collection, not for every job."""

    def __init__(self):
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def __call__(self, collection: str) -> threading.Lock:
        with self._guard:
            return self._locks[collection]
