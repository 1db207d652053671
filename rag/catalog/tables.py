"""The catalog's tables, the same on SQLite and PostgreSQL (the lexical index adds its own, per engine)."""

from datetime import datetime, timezone

from sqlalchemy import Column, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()


def now(precise: bool = False) -> str:
    """The timestamps every table stores: UTC, ISO 8601, to the second (or the microsecond, where rows are
    ordered by it; a stamp to the second sorts before every finer one of its second)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds" if precise else "seconds")

documents = Table(
    "documents", metadata,
    Column("id", String, primary_key=True),
    Column("collection", String, nullable=False),
    Column("source", String, nullable=False),  # its name: the upload's file name, or the path below the folder ingested
    Column("location", String),  # where this machine read it from, for --prune; never its identity
    Column("sha256", String),
    Column("size", Integer),
    Column("type", String),
    Column("status", String, nullable=False),  # pending | ingested | failed | duplicate
    Column("error", Text),
    Column("chunks", Integer, nullable=False, server_default="0"),
    Column("duplicate_of", String),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("chunking", String),  # how its chunks were made: another way re-ingests it
    Column("pages", Integer),  # a PDF's pages; None for other types
    Index("documents_by_collection", "collection", "source"),
    Index("documents_by_sha", "collection", "sha256"),
)

chunks = Table(
    "chunks", metadata,
    Column("rowid", Integer, primary_key=True, autoincrement=True),
    Column("id", String, nullable=False, unique=True),
    Column("document_id", String, nullable=False),
    Column("collection", String, nullable=False),
    Column("source", String, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("page", Integer),
    Column("headings", Text, nullable=False, server_default=""),
    Column("title", Text, nullable=False, server_default=""),
    Column("text", Text, nullable=False),
    Column("terms", Text),  # what the word index reads (rag.text.index_terms); None: the text, as before
    Column("title_terms", Text),  # the same of the title
    Index("chunks_by_document", "document_id"),
    Index("chunks_by_collection", "collection"),
)

# Collections exist once created (by an ingest into them, or POST /collections), empty or not.
collections = Table(
    "collections", metadata,
    Column("name", String, primary_key=True),
    Column("created_at", String, nullable=False),
    Column("embedder", String),  # the model its vectors are from; None until its first ingest
)

# Bumped by every add, replace or delete in a collection: cached answers of older versions are stale.
collection_versions = Table(
    "collection_versions", metadata,
    Column("collection", String, primary_key=True),
    Column("version", Integer, nullable=False),
)

answer_cache = Table(
    "answer_cache", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String, nullable=False),  # the answer's style and the models and settings that made it
    Column("question", Text, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("answer", Text, nullable=False),
    Column("cost", Integer, nullable=False),
    Column("created_at", String, nullable=False),
    Index("answer_cache_by_collection", "collection", "version", "kind"),
)

ingest_jobs = Table(
    "ingest_jobs", metadata,
    Column("id", String, primary_key=True),
    Column("collection", String, nullable=False),
    Column("status", String, nullable=False),  # queued | running | done | failed
    Column("files", Text, nullable=False),  # JSON: [{"name", "source", "document_id"}]
    Column("results", Text, nullable=False, server_default="[]"),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),  # runs started
    Column("takeovers", Integer, nullable=False, server_default="0"),  # runs whose worker died
    Column("lease_until", Float, nullable=False),  # a worker holds a running job until then; past it, another runs it
    Column("worker", String),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Index("ingest_jobs_by_status", "status", "lease_until"),
)

# The bytes of uploaded files, where every worker can read them (no shared disk is assumed).
uploads = Table(
    "uploads", metadata,
    Column("document_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("sha256", String, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", String, nullable=False),
)

# API keys: only a hash of each is kept; the key itself is shown once, when made.
api_keys = Table(
    "api_keys", metadata,
    Column("id", String, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("hash", String, nullable=False, unique=True),
    Column("prefix", String, nullable=False),  # the key's first characters, to tell keys apart in lists
    Column("admin", Integer, nullable=False, server_default="0"),  # may read /metrics (every tenant's figures)
    Column("created_at", String, nullable=False),
    Column("revoked_at", String),
)

# Conversations kept for the page and /chat's conversation_id: a tenant's (and a key's, where keys exist).
conversations = Table(
    "conversations", metadata,
    Column("id", String, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("owner", String, nullable=False, server_default=""),  # the API key's id; "" with auth off
    Column("collection", String, nullable=False),  # its name within the tenant, as the requests give it
    Column("title", Text, nullable=False, server_default=""),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Index("conversations_by_owner", "tenant", "owner", "updated_at"),
)

conversation_messages = Table(
    "conversation_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String, nullable=False),
    Column("role", String, nullable=False),  # user | assistant
    Column("content", Text, nullable=False),
    Column("citations", Text, nullable=False, server_default="[]"),  # JSON, as the answer gave them
    Column("answered_by", String),  # local | large | cache, for answers
    Column("refused", Integer, nullable=False, server_default="0"),
    Column("created_at", String, nullable=False),
    Index("conversation_messages_by_conversation", "conversation_id", "id"),
)
