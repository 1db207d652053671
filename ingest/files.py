"""Which files a run ingests, and their content hash."""

import hashlib
from pathlib import Path

from ingest.loaders import EXTENSIONS
from rag.errors import RagError


def collect_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Files to ingest (explicit files, and supported files under folders) and the files skipped."""
    files, skipped = [], []
    for path in paths:
        if not path.exists():
            raise RagError(f"no such file or folder: {path}")
        if path.is_file():
            files.append(path)
            continue
        for child in sorted(path.rglob("*")):
            if not child.is_file() or any(part.startswith(".") for part in child.relative_to(path).parts):
                continue
            (files if child.suffix.lower() in EXTENSIONS else skipped).append(child)
    return list(dict.fromkeys(files)), skipped


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
