"""A tenant's library: its collections, documents, uploads, jobs and deletes. Only ever reached bound to one
tenant (`Library.for_tenant`), built per request from the caller, so no call can forget whose data it is."""

from pathlib import Path

from ingest.files import sha256_file
from rag.catalog import NewUpload, document_id
from rag.errors import BackendUnavailable, CollectionNotFound, Conflict, DocumentNotFound, FileTooLarge, QuotaExceeded
from rag.tenants import check_tenant, collection_key, collection_name, owner


class Library:
    """The parts every tenant's library shares."""

    def __init__(self, settings, catalog, jobs, ingestor, locks):
        self.settings, self.catalog, self.jobs, self.ingestor, self.locks = settings, catalog, jobs, ingestor, locks

    def for_tenant(self, tenant: str) -> "TenantLibrary":
        return TenantLibrary(self, check_tenant(tenant))


class TenantLibrary:
    def __init__(self, library: Library, tenant: str):
        self.tenant = tenant
        self.settings, self.catalog, self.jobs = library.settings, library.catalog, library.jobs
        self.ingestor, self.locks = library.ingestor, library.locks

    def collection(self, name: str | None) -> str:
        """The key of the tenant's collection a request names (or of its default one), which must exist."""
        name = name or self.settings.collection
        key = collection_key(self.tenant, name)
        if not self.catalog.has_collection(key):
            if name != self.settings.collection:
                raise CollectionNotFound(f"no collection {name!r}; create it first (POST /collections)")
            self.catalog.create_collection(key)  # every tenant has its default collection
        return key

    def collection_keys(self) -> list[str]:
        self.collection(None)
        return [key for key in self.catalog.collections() if owner(key) == self.tenant]

    def collections(self) -> list[dict]:
        return [{"name": collection_name(key), "documents": len(self.catalog.list(key, "ingested"))}
                for key in self.collection_keys()]

    def create_collection(self, name: str) -> dict:
        if not self.catalog.create_collection(collection_key(self.tenant, name)):
            raise Conflict(f"collection {name!r} exists already")
        return {"name": name, "documents": 0}

    def delete_collection(self, name: str) -> None:
        """The collection with its documents (both indexes and their uploaded bytes); the default one is
        emptied, and stays."""
        key = self.collection(name)
        with self.locks(key):
            self.ingestor.drop_collection(key)
        if collection_name(key) == self.settings.collection:
            self.catalog.create_collection(key)

    def documents(self, collection: str | None = None, status: str | None = None):
        if collection:
            return self.catalog.list(self.collection(collection), status)
        return [d for d in self.catalog.list(None, status) if owner(d.collection) == self.tenant]

    def document(self, doc_id: str):
        doc = self.catalog.get(doc_id)
        if doc is None or owner(doc.collection) != self.tenant:  # another tenant's is as absent as a missing one
            raise DocumentNotFound(f"no document {doc_id}")
        return doc

    def original(self, doc_id: str) -> tuple[bytes, str]:
        """The document's file as it was uploaded (or as ingested from this machine's disk, while unchanged)
        and its name."""
        doc = self.document(doc_id)
        data = self.catalog.upload(doc_id)
        if data is None and doc.location and Path(doc.location).is_file() and sha256_file(doc.location) == doc.sha256:
            data = Path(doc.location).read_bytes()
        if data is None:
            raise DocumentNotFound(f"the file of {doc.source} is not kept here (it was ingested from another "
                                   f"machine's disk); its passages are: GET /documents/{doc_id}/passages")
        return data, Path(doc.source).name

    def passages(self, doc_id: str) -> list[dict]:
        self.document(doc_id)
        return [{"index": c.index, "page": c.page, "headings": c.headings, "text": c.text}
                for c in self.catalog.lexical.passages(doc_id)]

    def job(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None or owner(job["collection"]) != self.tenant:
            raise DocumentNotFound(f"no job {job_id}")
        return {**job, "collection": collection_name(job["collection"])}

    def upload(self, files, collection: str | None) -> tuple[str, str, list[dict]]:
        """Check and keep the files (name, binary stream), and queue their ingest job: (job id, collection,
        the job's files)."""
        from ingest.uploads import store_uploads

        key = self.collection(collection)
        if len(files) > self.settings.max_upload_files:
            raise FileTooLarge(f"{len(files)} files in one upload; at most {self.settings.max_upload_files} "
                               "(RAG_MAX_UPLOAD_FILES)")
        stored = store_uploads(files, key, self.tenant, self.settings, self.catalog, self._quota)
        try:
            return self.jobs.submit(key, stored), collection_name(key), stored
        except BackendUnavailable:  # not queued: the upload did not happen, nothing stays pending
            for f in stored:
                if (doc := self.catalog.get(f["document_id"])) is not None and doc.status == "pending":
                    self.catalog.delete_document(doc.id)
            raise

    def enqueue_file(self, path, source: str, collection: str) -> dict:
        """A file of the batch ingest command queued under its source name (its path below the folder given),
        into the tenant's collection of that name (made if new), within the tenant's quota."""
        key = collection_key(self.tenant, collection)
        self.catalog.create_collection(key)
        size = path.stat().st_size
        if size > self.settings.max_file_bytes:
            raise FileTooLarge(f"{path}: over the {self.settings.max_file_mb:g} MB limit (RAG_MAX_FILE_MB)")
        doc_id = document_id(key, source)
        self.catalog.put_uploads([NewUpload(doc_id, key, source, sha256_file(path), size, path.read_bytes)],
                                 self.tenant, self._quota)
        job_id = self.jobs.submit(key, [{"name": path.name, "source": source, "document_id": doc_id}])
        return {"job_id": job_id, "source": source, "document_id": doc_id}

    def _quota(self, count: int, size: int) -> None:
        """Refuses an upload that would leave the tenant with `count` documents of `size` bytes past its quota;
        called inside the catalog's transaction that keeps the upload."""
        s = self.settings
        if s.tenant_max_documents and count > s.tenant_max_documents:
            raise QuotaExceeded(f"this upload would make {count:,} documents; a tenant may keep "
                                f"{s.tenant_max_documents:,} (RAG_TENANT_MAX_DOCUMENTS)")
        if s.tenant_max_mb and size > s.tenant_max_mb * 2**20:
            raise QuotaExceeded(f"this upload would make {size / 2**20:,.1f} MB of files; a tenant may keep "
                                f"{s.tenant_max_mb:,g} MB (RAG_TENANT_MAX_MB)")

    def delete_document(self, doc_id: str) -> None:
        """The document, its chunks in both indexes and its uploaded bytes; a copy of it takes over its content."""
        doc = self.document(doc_id)
        with self.locks(doc.collection):
            heir = self.ingestor.delete_document(doc_id)
        if heir is not None:  # its oldest copy holds its content now: ingested from its stored bytes
            self.jobs.submit(heir.collection, [{"name": heir.source, "source": heir.source, "document_id": heir.id}])
