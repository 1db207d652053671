"""Check uploaded files and keep their bytes in the catalog, where every worker can read them; nothing is
stored unless all are valid."""

import errno
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from ingest.loaders import EXTENSIONS, detect_type
from ingest.ocr import OcrOptions, why_not
from rag.errors import FileTooLarge, RagError, StorageFull, UnsupportedFile
from ingest.files import scratch, sha256_file
from rag.catalog import NewUpload, Uploads, document_id


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


def store_uploads(files: list[tuple[str | None, BinaryIO]], collection: str, tenant: str, settings, catalog: Uploads,
                  quota: Callable[[int, int], None] = lambda count, size: None) -> list[dict]:
    """Every file checked and kept, or none (a full disk is a StorageFull, not a half-written upload).
    `quota` gets the tenant's documents and bytes as they would be with these files, inside the catalog
    transaction that keeps them, and may refuse them. Returns the job's files: {"name", "source", "document_id"}."""
    try:
        return _store(files, collection, tenant, settings, catalog, quota)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise StorageFull(f"the server cannot store uploads now: {e.strerror}") from None
        raise


def _store(files: list[tuple[str | None, BinaryIO]], collection: str, tenant: str, settings, catalog: Uploads,
           quota: Callable[[int, int], None]) -> list[dict]:
    if not files:
        raise RagError("no files in the upload: send one or more as multipart field 'files'")
    folder = scratch(settings)  # staged here while checked; kept in the catalog
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
                    kind, _ = detect_type(temp, f.read(8192), name)  # the staged file, not the client's name
                except UnsupportedFile as e:
                    raise UnsupportedFile(f"{name}: {e}") from None
            if kind == "image" and OcrOptions.of(settings) is None:
                raise UnsupportedFile(f"{name}: an image, whose text needs OCR, and {why_not(settings)}")
        if len({name for name, _ in staged}) < len(staged):
            raise RagError("two uploaded files have the same name")
        uploads = [NewUpload(document_id(collection, name), collection, name, sha256_file(temp), temp.stat().st_size,
                             temp.read_bytes) for name, temp in staged]
        catalog.put_uploads(uploads, tenant, quota)
        return [{"name": u.name, "source": u.name, "document_id": u.document_id} for u in uploads]
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
