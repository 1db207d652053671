"""The catalog seam, by role: documents (and collection versions), their chunks' word index, ingest jobs,
uploads and cached answers, all in one database (SQLite embedded, PostgreSQL to scale) and one class. Every
method takes its own transaction; no SQL lives outside this package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.chunks import Chunk, short_hash

if TYPE_CHECKING:
    from rag.catalog.keys import ApiKeys


@dataclass
class NewUpload:
    document_id: str
    collection: str
    name: str
    sha256: str
    size: int
    read: Callable[[], bytes]  # the bytes, read when written (one file in memory at a time)


def document_id(collection: str, source: str) -> str:
    """A document's identity: its collection and its name (never a path on one machine's disk)."""
    return short_hash("document", collection, source)


@dataclass
class Document:
    id: str
    collection: str
    source: str
    sha256: str | None
    size: int | None
    type: str | None
    status: str  # pending | ingested | failed | duplicate
    error: str | None
    chunks: int
    duplicate_of: str | None
    created_at: str
    updated_at: str
    chunking: str | None = None
    location: str | None = None
    pages: int | None = None


@dataclass
class Job:
    id: str
    collection: str
    status: str  # queued | running | done | failed
    files: list[dict]  # {"name", "source", "document_id"}
    results: list[dict]  # one per file done: {"source", "document_id", "outcome", "chunks", "reason"}
    error: str | None
    attempts: int
    takeovers: int
    lease_until: float
    worker: str | None
    created_at: str
    updated_at: str


@dataclass
class CachedAnswer:
    question: str
    vector: bytes
    answer: str
    cost: int


@dataclass
class Conversation:
    id: str
    tenant: str
    owner: str
    collection: str
    title: str
    created_at: str
    updated_at: str


@dataclass
class Message:
    role: str  # user | assistant
    content: str
    citations: list[dict]
    answered_by: str | None
    refused: bool
    created_at: str
    id: int = 0


class ConversationRecords(Protocol):
    """Conversations and their messages. Every read and change names the tenant and owner: another's
    conversation is as absent as a missing one."""

    def create(self, tenant: str, owner: str, collection: str, title: str) -> Conversation: ...

    def list(self, tenant: str, owner: str) -> list[Conversation]:
        """Newest first (by their last message)."""

    def get(self, conversation_id: str, tenant: str, owner: str) -> Conversation | None: ...

    def messages(self, conversation_id: str) -> list[Message]: ...

    def add(self, conversation_id: str, message: Message) -> None:
        """Appended; the conversation's updated_at moves on."""

    def drop_last_answers(self, conversation_id: str) -> None:
        """The answers after its last question removed (to answer it again)."""

    def rename(self, conversation_id: str, tenant: str, owner: str, title: str) -> bool: ...

    def delete(self, conversation_id: str, tenant: str, owner: str) -> bool:
        """With its messages; False when there was none of the tenant's and owner's."""


class Lexical(Protocol):
    """Word search over the same chunks as the vector store, and over whole documents."""

    def search(self, collection: str, query: str, k: int, document_ids: list[str] | None = None) -> list[Chunk]: ...

    def search_documents(self, collection: str, query: str, n: int) -> list[str]: ...

    def naming(self, words: list[str], document_ids: list[str]) -> list[str]: ...

    def ids(self, document_id: str) -> list[str]: ...

    def passages(self, document_id: str) -> list[Chunk]:
        """The document's chunks in its order."""

    def chunks(self, collection: str) -> list[Chunk]: ...

    def count(self, collection: str) -> int: ...


WordIndex = Lexical  # the role's name among the catalog's roles


class Documents(Protocol):
    """Documents and their collections: what is stored, where, in what state."""

    def get(self, doc_id: str) -> Document | None: ...

    def list(self, collection: str | None = None, status: str | None = None) -> list[Document]: ...

    def collections(self) -> list[str]: ...

    def usage(self, tenant: str) -> tuple[int, int]:
        """Documents the tenant keeps (any status but failed), and their bytes."""

    def has_collection(self, name: str) -> bool: ...

    def create_collection(self, name: str) -> bool:
        """False if it existed already."""

    def embedder_of(self, collection: str) -> str | None:
        """The embedding model its vectors are from (None: not recorded yet)."""

    def record_embedder(self, collection: str, embedder: str) -> None:
        """From now its vectors are this model's (cached answers of its older version go stale)."""

    def find_ingested_copy(self, collection: str, sha256: str, exclude_id: str) -> Document | None: ...

    def record_ingested(self, doc: dict, chunks: list[Chunk], titles: list[str], title: str) -> None:
        """Replace the document's chunks in the lexical index and mark it ingested, in one transaction."""

    def record_outcome(self, doc: dict) -> None:
        """A document with no chunks (failed, duplicate): its chunks removed and its record written."""

    def remove_chunks(self, collection: str, doc_id: str) -> None: ...

    def delete_document(self, doc_id: str) -> Document | None:
        """The document's record, chunks and uploaded bytes removed; returns what was removed."""

    def drop_collection(self, collection: str) -> None:
        """The collection, its documents, their chunks and uploaded bytes."""

    def version(self, collection: str) -> int: ...


class JobRecords(Protocol):
    """Ingest jobs under leases."""

    def submit_job(self, job_id: str, collection: str, files: list[dict], lease_s: float) -> None: ...

    def job(self, job_id: str) -> Job | None: ...

    def claim_job(self, job_id: str, worker: str, lease_s: float) -> Job | None:
        """The job, if it was queued or its last worker's lease ran out; None if it is done or held."""

    def claim_next(self, worker: str, lease_s: float, skip: frozenset[str] = frozenset()) -> Job | None:
        """The next job to run, claimed: a collection's jobs start in arrival order (none of the collections
        in `skip`), tenants with no job running first; None when nothing is due."""

    def running_jobs(self) -> list[tuple[str, str]]:
        """(job id, worker) of the jobs running under a lease."""

    def extend_lease(self, job_id: str, worker: str, lease_s: float) -> bool: ...

    def update_job(self, job_id: str, **fields) -> None: ...

    def expired_jobs(self, statuses: tuple[str, ...], lease_s: float) -> list[str]:
        """Jobs in these states whose lease ran out, each queued again and due now (one sweeper requeues it,
        not every one); a running one's worker is counted as dead (`takeovers`)."""

    def active_documents(self) -> set[str]:
        """The documents of jobs queued or running."""

    def job_depth(self) -> int: ...


class Uploads(Protocol):
    """Uploaded files, kept where every worker reads them (their bytes through rag.blobs)."""

    def put_upload(self, document_id: str, collection: str, source: str, name: str, sha256: str, data: bytes) -> None:
        """The bytes every worker reads; a document not known yet is listed as pending from now."""

    def put_uploads(self, uploads: list[NewUpload], tenant: str, check: Callable[[int, int], None]) -> None:
        """All kept or none, in one transaction that no other upload of the tenant interleaves with: `check`
        gets the tenant's documents and bytes as they would be after it (a replaced file no longer counts),
        and may refuse by raising."""

    def upload(self, document_id: str) -> bytes | None: ...


class AnswerRecords(Protocol):
    """Cached answers, by the collection's version."""

    def version(self, collection: str) -> int: ...

    def cached_answers(self, collection: str, version: int, kind: str, limit: int) -> list[CachedAnswer]: ...

    def cache_answer(self, collection: str, version: int, kind: str, question: str, vector: bytes, answer: str,
                     cost: int, keep: int) -> None: ...


class Catalog(Documents, JobRecords, Uploads, AnswerRecords, Protocol):
    """Every role in one database; each consumer takes only the role it uses."""

    url: str  # without its password
    lexical: Lexical
    keys: ApiKeys
    conversations: ConversationRecords

    def close(self) -> None: ...
