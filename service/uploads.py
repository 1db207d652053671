"""Check uploaded files and keep their bytes in the catalog, where every worker can read them; nothing is
stored unless all are valid."""

import errno
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from ingest.loaders import EXTENSIONS, detect_type
from rag.errors import FileTooLarge, RagError, StorageFull, UnsupportedFile
from rag.catalog import Catalog, document_id


MAX_NAME_BYTES = 200


def safe_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" .")
    if not name:
        raise RagError("every uploaded file needs a file name")
    stem, suffix = Path(name).stem, Path(name).suffix
    if len(suffix.encode()) > 16:  # "Memo for Mr. Smith about ...": a sentence, not an extension
        stem, suffix = name, ""
    room = MAX_NAME_BYTES - len(suffix.encode())  # file systems stop at 255 bytes
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
    if not stem:
        raise RagError("every uploaded file needs a file name")
    return stem + suffix


def store_uploads(files: list[tuple[str | None, BinaryIO]], collection: str, settings, catalog: Catalog,
                  check_quota: Callable[[dict[str, int]], None] = lambda sizes: None) -> list[dict]:
    """Every file checked and kept, or none (a full disk is a StorageFull, not a half-written upload).
    `check_quota` gets the sizes by document id of files about to be kept, and may refuse them.
    Returns the job's files: {"name", "source", "document_id"}."""
    try:
        return _store(files, collection, settings, catalog, check_quota)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise StorageFull(f"the server cannot store uploads now: {e.strerror}") from None
        raise


def _store(files: list[tuple[str | None, BinaryIO]], collection: str, settings, catalog: Catalog,
           check_quota: Callable[[dict[str, int]], None]) -> list[dict]:
    if not files:
        raise RagError("no files in the upload: send one or more as multipart field 'files'")
    folder = settings.data_dir / "tmp"  # staged here while checked; kept in the catalog
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for filename, stream in files:
            name = safe_name(filename)
            if Path(name).suffix.lower() not in EXTENSIONS:
                raise UnsupportedFile(
                    f"{name}: unsupported file type; supported: {', '.join(sorted(EXTENSIONS))}"
                )
            handle, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
            os.close(handle)  # written below by name; an open descriptor per upload ran out after ~1,000
            temp = Path(temp)
            staged.append((name, temp))
            size = _copy_limited(stream, temp, settings.max_file_bytes, name, settings.max_file_mb)
            if size == 0:
                raise RagError(f"{name}: empty file (0 bytes)")
            with open(temp, "rb") as f:
                try:
                    detect_type(temp, f.read(8192), name)  # the staged file, not the client's name
                except UnsupportedFile as e:
                    raise UnsupportedFile(f"{name}: {e}") from None
        if len({name for name, _ in staged}) < len(staged):
            raise RagError("two uploaded files have the same name")
        check_quota({document_id(collection, name): temp.stat().st_size for name, temp in staged})
        stored = []
        for name, temp in staged:
            doc_id = document_id(collection, name)
            data = temp.read_bytes()
            catalog.put_upload(doc_id, collection, name, name, hashlib.sha256(data).hexdigest(), data)
            stored.append({"name": name, "source": name, "document_id": doc_id})
        return stored
    finally:
        for _, temp in staged:
            temp.unlink(missing_ok=True)


def _copy_limited(stream: BinaryIO, target: Path, limit: int, name: str, limit_mb: float) -> int:
    size = 0
    with open(target, "wb") as out:
        while block := stream.read(1 << 20):
            size += len(block)
            if size > limit:
                raise FileTooLarge(f"{name}: larger than the {limit_mb:g} MB upload limit (RAG_MAX_FILE_MB)")
            out.write(block)
    return size
