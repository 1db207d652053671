"""Kept readings of passages: the model's key/value state of each passage, read right after the fixed
instructions, on disk under a size bound (least recently used out first).

A state is only ever found under the key it was made for: the model file, the instructions it was read after,
the collection and the passage's own tokens. A changed document has other tokens, so it misses; a file that is
missing, cut short or altered fails its checksum and is a miss too, never an error.
"""

import contextlib
import hashlib
import os
import threading
from pathlib import Path

MAGIC = b"RAGKV1"


def state_key(model: str, instructions: list[int], collection: str, text: str) -> str:
    return hashlib.sha256("\x00".join([model, ",".join(map(str, instructions)), collection, text]).encode()).hexdigest()


class PassageStates:
    def __init__(self, directory: Path, max_bytes: int):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.hits = self.misses = 0
        self.offered = 0  # bytes of the states given to put, kept or not
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.kv"

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        header = len(MAGIC) + 32
        state = data[header:]
        if data[: len(MAGIC)] != MAGIC or hashlib.sha256(state).digest() != data[len(MAGIC): header]:
            path.unlink(missing_ok=True)  # cut short or altered: read the passage again
            self.misses += 1
            return None
        os.utime(path)  # recently used
        self.hits += 1
        return state

    def put(self, key: str, state: bytes) -> None:
        self.offered += len(state)
        if len(state) > self.max_bytes:
            return
        path = self._path(key)
        partial = path.with_suffix(f".{threading.get_ident()}.part")
        try:
            partial.write_bytes(MAGIC + hashlib.sha256(state).digest() + state)
            partial.replace(path)  # whole or not at all
        except OSError:  # a full or read-only disk: the passage is simply not kept
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            return
        self._evict()

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.directory.glob("*.kv"))

    def _evict(self) -> None:
        with self._lock:
            files = []
            for f in self.directory.glob("*.kv"):
                try:
                    files.append((f.stat().st_mtime, f.stat().st_size, f))
                except FileNotFoundError:  # another process evicted it
                    continue
            total = sum(size for _, size, _ in files)
            for _, size, f in sorted(files):
                if total <= self.max_bytes:
                    break
                f.unlink(missing_ok=True)
                total -= size
