"""Ingest files: hash → (skip if unchanged) → parse in worker processes → chunk → embed → write."""

import logging
import multiprocessing
import tempfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

import numpy as np
from pebble import ProcessPool

from ingest.chunking import Chunker, chunking_key
from ingest.files import scratch, sha256_file
from ingest.loaders import Loaded, limit_memory
from ingest.parsing import ParseTasks
from ingest.report import FileReport, Summary, failure_reason
from ingest.heirs import hand_down
from ingest.plans import Copy, Job
from rag.catalog import Catalog, Document, document_id
from rag.chunks import Chunk
from rag.embeddings import ensure_embedder
from rag.errors import DocumentNotFound, UnsupportedFile
from rag.pacing import Pacer
from rag.tenants import check_key

log = logging.getLogger(__name__)

BATCH_CHUNKS = 128  # chunks embedded per encoder call, across documents
TITLE_TOKENS = 32  # room kept in every chunk for the title the encoder reads first


class Ingestor:
    def __init__(self, settings, embedder, store, catalog: Catalog, pacer: Pacer | None = None):
        self.settings = settings
        self.pacer = pacer or Pacer()  # beside answers, background encoding takes a share of the encoder
        self.embedder = embedder
        self.store = store
        self.catalog = catalog
        self.chunker = Chunker(
            embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap,
            embedder.max_tokens - (TITLE_TOKENS if settings.embed_titles else 0), settings.max_file_chunks,
        )
        # A file is unchanged only if it would also be chunked the same way: an upgrade or new chunk
        # settings re-ingest what was made otherwise.
        self.chunking = chunking_key(settings)

    # -- the run ---------------------------------------------------------------------------------

    def ingest(
        self,
        files: list[Path],
        collection: str | None = None,
        workers: int | None = None,
        skipped: list[Path] = (),
        on_progress: Callable[[FileReport], None] | None = None,
        names: dict[Path, str] | None = None,
        temporary: bool = False,
    ) -> Summary:
        """Ingest files into a collection. A document is identified by its collection and its name (`names`,
        by default the file's name), never by where it lies; `temporary` files (an upload fetched from the
        catalog) are not remembered for --prune."""
        collection = check_key(collection or self.settings.collection)
        self.catalog.create_collection(collection)  # ingesting into a collection names it into being
        ensure_embedder(self.catalog, collection, self.embedder)
        started = time.perf_counter()
        summary = Summary(collection)

        def report(r: FileReport) -> None:
            summary.files.append(r)
            if on_progress:
                on_progress(r)

        for path in skipped:
            report(FileReport(str(path), "skipped", reason=f"unsupported file type {path.suffix or '(none)'}"))
        try:
            jobs, copies = [], []
            planned: dict[str, Job] = {}
            for path in files:
                source = (names or {}).get(path) or path.name
                location = None if temporary else str(path.resolve())
                planned_or_report = self._plan(path, source, location, collection, planned)
                if isinstance(planned_or_report, Job):
                    jobs.append(planned_or_report)
                    planned[planned_or_report.sha256] = planned_or_report
                elif isinstance(planned_or_report, Copy):
                    copies.append(planned_or_report)
                else:
                    report(planned_or_report)
            self._run(jobs, collection, workers or self.settings.parse_workers, report)
            for copy in copies:
                report(self._settle(copy, collection))
        except KeyboardInterrupt:
            summary.interrupted = True
        summary.seconds = time.perf_counter() - started
        return summary

    def _plan(self, path: Path, source: str, location: str | None, collection: str,
              planned: dict[str, Job]) -> Job | Copy | FileReport:
        doc_id = document_id(collection, source)
        try:
            size = path.stat().st_size
            if size > self.settings.max_file_bytes:
                raise UnsupportedFile(
                    f"file is {size / 2**20:.1f} MB, over the {self.settings.max_file_mb:g} MB limit (RAG_MAX_FILE_MB)"
                )
            sha = sha256_file(path)
        except (UnsupportedFile, OSError) as e:
            return self._fail(doc_id, collection, source, str(e), size=None, location=location)
        existing = self.catalog.get(doc_id)
        if existing and existing.sha256 == sha:
            if existing.status == "ingested" and existing.chunking == self.chunking:
                return FileReport(source, "unchanged", doc_id, existing.type, existing.chunks)
            if existing.status == "duplicate" and existing.duplicate_of:
                original = self.catalog.get(existing.duplicate_of)
                if original and original.status == "ingested" and original.sha256 == sha:
                    return FileReport(source, "unchanged", doc_id, existing.type, reason=f"duplicate of {original.source}")
        copy = self.catalog.find_ingested_copy(collection, sha, exclude_id=doc_id)
        if copy and location and copy.location == location and copy.source == location:
            # This very file, stored when documents were named by their absolute path: renamed, not a copy.
            self.delete_document(copy.id)
            copy = None
        if copy:
            return self._duplicate(doc_id, collection, source, sha, size, copy, location)
        if sha in planned:
            return Copy(source, doc_id, sha, size, planned[sha], location)
        replacing = bool(existing and existing.status == "ingested")
        same = replacing and existing.sha256 == sha
        return Job(path, source, location, doc_id, sha, size, replacing,
                   "chunked again: the chunking changed" if same else "")

    def _run(self, jobs: list[Job], collection: str, workers: int, report) -> None:
        if not jobs:
            return
        tasks = ParseTasks(self.settings, jobs)
        inflight = {}  # future -> (job, None) parsing it, or (job, page) reading that page by OCR
        ready: deque[tuple[Job, Loaded, list[Chunk]]] = deque()
        pool = ProcessPool(
            max_workers=workers, max_tasks=25, initializer=limit_memory,
            initargs=(self.settings.parse_memory_mb,), context=multiprocessing.get_context("spawn"),
        )
        try:
            while tasks.left() or inflight or ready:
                while len(inflight) < 2 * workers and (task := tasks.next()):
                    job, page, function, args, timeout = task
                    inflight[pool.schedule(function, args, timeout=timeout)] = (job, page)
                done = [f for f in inflight if f.done()]
                waiting_chunks = sum(len(chunks) for _, _, chunks in ready)
                if not done and inflight and waiting_chunks < BATCH_CHUNKS:
                    wait(inflight, timeout=None if not ready else 0.2, return_when=FIRST_COMPLETED)
                    continue
                for future in done:
                    job, page = inflight.pop(future)
                    try:
                        loaded = tasks.parsed(future, job, page)
                        if loaded is None:  # its pages wait for OCR
                            continue
                        chunks = self.chunker.split(loaded, job.document_id, collection, job.source)
                        ready.append((job, loaded, chunks))
                    except Exception as e:  # noqa: BLE001 - every failure becomes that file's reason
                        # A parser's message may name the file where it lies: it is named by its name instead.
                        reason = failure_reason(e, self.settings).replace(str(job.path), job.source)
                        report(self._fail(job.document_id, collection, job.source, reason,
                                          size=job.size, sha256=job.sha256, location=job.location))
                if ready:
                    batch = [ready.popleft()]
                    while ready and sum(len(c) for _, _, c in batch) + len(ready[0][2]) <= BATCH_CHUNKS:
                        batch.append(ready.popleft())
                    self._embed_and_write(batch, collection, report)
        finally:
            pool.stop()
            pool.join()

    def _embed_and_write(self, batch, collection: str, report) -> None:
        texts = [self.embedding_text(c) for _, _, chunks in batch for c in chunks]
        parts = []
        for start in range(0, len(texts), BATCH_CHUNKS):  # one document may make thousands: the encoder's lock
            with self.pacer.batch():                     # is free between calls, for the questions' own
                parts.append(self.embedder.embed(texts[start:start + BATCH_CHUNKS]))
        vectors = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
        at = 0
        for job, loaded, chunks in batch:
            doc_vectors = vectors[at : at + len(chunks)]
            at += len(chunks)
            self._write(job, loaded, collection, chunks, doc_vectors)
            outcome = "replaced" if job.replacing else "ingested"
            log.info("%s document_id=%s source=%s chunks=%d", outcome, job.document_id, job.source, len(chunks))
            note = "; ".join(filter(None, [job.note, loaded.note]))
            report(FileReport(job.source, outcome, job.document_id, loaded.type, len(chunks), note=note))

    def embedding_text(self, chunk: Chunk) -> str:
        """What the encoder reads: the chunk, led by its document's name and headings when enabled."""
        if not self.settings.embed_titles:
            return chunk.text
        title = _title(chunk)
        while title and self.embedder.count_tokens(title) > TITLE_TOKENS:
            title = title[: len(title) * 3 // 4]
        return f"{title}\n{chunk.text}" if title else chunk.text

    def _write(self, job: Job, loaded: Loaded, collection: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        # Vectors first, catalog last: a run killed in between leaves the catalog saying "redo", and the redo
        # replaces every vector of the document (its chunk ids are the same), so none is left over.
        self.store.delete_document(collection, job.document_id)
        if chunks:
            self.store.add(chunks, vectors)
        doc = {"id": job.document_id, "collection": collection, "source": job.source, "location": job.location,
               "sha256": job.sha256, "size": job.size, "type": loaded.type, "chunking": self.chunking,
               "pages": max((s.page or 0 for s in loaded.sections), default=0) or None}
        self.catalog.record_ingested(doc, chunks, [_title(c) for c in chunks], Path(job.source).stem)

    def _duplicate(self, doc_id, collection, source, sha256, size, original, location=None) -> FileReport:
        self.store.delete_document(collection, doc_id)
        self.catalog.record_outcome({"id": doc_id, "collection": collection, "source": source, "sha256": sha256,
                                     "size": size, "status": "duplicate", "error": None, "duplicate_of": original.id,
                                     "location": location})
        return FileReport(source, "duplicate", doc_id, reason=f"same content as {original.source}")

    def _settle(self, copy: Copy, collection: str) -> FileReport:
        """A duplicate if its original was stored; else failed for the original's reason."""
        original = self.catalog.get(copy.original.document_id)
        if original and original.status == "ingested" and original.sha256 == copy.sha256:
            return self._duplicate(copy.document_id, collection, copy.source, copy.sha256, copy.size, original,
                                   copy.location)
        why = original.error if original and original.error else "it was not ingested"
        reason = f"same content as {copy.original.source}, which failed: {why}"
        return self._fail(copy.document_id, collection, copy.source, reason, copy.size, copy.sha256, copy.location)

    def _fail(self, doc_id, collection, source, reason, size, sha256=None, location=None) -> FileReport:
        log.warning("failed source=%s reason=%s", source, reason)
        self.store.delete_document(collection, doc_id)
        self.catalog.record_outcome({"id": doc_id, "collection": collection, "source": source, "sha256": sha256,
                                     "size": size, "status": "failed", "error": reason, "duplicate_of": None,
                                     "location": location})
        return FileReport(source, "failed", doc_id, reason=reason)

    # -- maintenance -----------------------------------------------------------------------------

    def delete_document(self, doc_id: str) -> Document | None:
        """Deleted with its chunks and bytes (DocumentNotFound if there is none); returns the copy that
        inherits its content, if it had copies: pending, to be ingested from its stored bytes (`ingest_stored`)."""
        doc = self.catalog.get(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id}")
        self.store.delete_document(doc.collection, doc_id)
        if self.catalog.delete_document(doc_id) is None:
            raise DocumentNotFound(f"no document {doc_id}")
        return hand_down(self.catalog, doc) if doc.status == "ingested" else None

    def ingest_stored(self, files: list[dict], collection: str, on_progress=None) -> Summary:
        """Ingest files from the bytes the catalog keeps for them (an ingest job's, an heir's): each is
        {"name", "source", "document_id"}; one whose bytes are gone fails, saying so."""
        with tempfile.TemporaryDirectory(dir=scratch(self.settings)) as folder:
            names, gone = {}, []
            for i, f in enumerate(files):
                data = self.catalog.upload(f["document_id"])
                if data is None:
                    gone.append(FileReport(f["source"], "failed", f["document_id"],
                                           reason="its uploaded bytes are gone (deleted before it was ingested)"))
                    continue
                path = Path(folder) / str(i) / Path(f["name"]).name
                path.parent.mkdir()
                path.write_bytes(data)
                names[path] = f["source"]
            for report in gone:
                if on_progress:
                    on_progress(report)
            summary = self.ingest(list(names), collection, names=names, temporary=True, on_progress=on_progress)
            summary.files[:0] = gone
            return summary

    def prune(self, collection: str | None = None) -> list[str]:
        """Forget documents read from files on this machine that are gone (a copy still here takes over)."""
        collection = check_key(collection or self.settings.collection)
        gone = [d for d in self.catalog.list(collection) if d.location and not Path(d.location).exists()]
        heirs = []
        for doc in gone:
            if heir := self.delete_document(doc.id):
                heirs.append(heir)
            log.info("pruned document_id=%s source=%s", doc.id, doc.source)
        gone_ids = {d.id for d in gone}
        if heirs := [h for h in heirs if h.id not in gone_ids]:
            self.ingest_stored([{"name": h.source, "source": h.source, "document_id": h.id} for h in heirs],
                               collection)
        return [d.source for d in gone]

    def drop_collection(self, collection: str) -> None:
        self.store.drop_collection(collection)
        self.catalog.drop_collection(collection)


def _title(chunk: Chunk) -> str:
    return " ".join(filter(None, [Path(chunk.source).stem, chunk.headings]))
