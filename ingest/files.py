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


def source_names(paths: list[Path], files: list[Path]) -> dict[Path, str]:
    """Each file's name in the collection: a folder's files are named by their path from the folder's own
    name (`ingest ~/docs` names ~/docs/a/b.pdf "docs/a/b.pdf"), a file given alone by its name; never by an
    absolute path, so the same files ingested on another machine are the same documents."""
    roots = [p.resolve() for p in paths if p.is_dir()]
    names = {}
    for file in files:
        resolved = file.resolve()
        root = next((r for r in roots if resolved.is_relative_to(r)), None)
        names[file] = str(resolved.relative_to(root.parent)) if root else file.name
    return names


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scratch(settings) -> Path:
    """Where files are staged while they are checked or parsed."""
    folder = settings.data_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clear_scratch(settings) -> int:
    """At start: what a killed process left staged there (this data directory is this process's alone)."""
    import shutil

    folder, removed = scratch(settings), 0
    for entry in folder.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed
