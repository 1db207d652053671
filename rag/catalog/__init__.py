"""The catalog: `open_catalog(settings)` gives SQLite in the data directory, or the database at
RAG_CATALOG_URL (a SQLAlchemy URL; `postgresql://user@host:5432/db` as written)."""

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from rag.blobs import open_blobs
from rag.catalog import tables
from rag.catalog.base import (
    AnswerRecords, CachedAnswer, Catalog, Conversation, ConversationRecords, Document, Documents, Job, JobRecords,
    Lexical, Message, NewUpload, Uploads, WordIndex, document_id,
)
from rag.catalog import fts5, pgfts
from rag.catalog.fts5 import Fts5Lexical
from rag.catalog.pgfts import PgLexical
from rag.catalog.sql import SqlCatalog
from rag.errors import BackendUnavailable

__all__ = ["AnswerRecords", "CachedAnswer", "Catalog", "Conversation", "ConversationRecords", "Document", "Documents",
           "Job", "JobRecords", "Lexical", "Message", "NewUpload", "Uploads", "WordIndex", "document_id", "open_catalog",
           "catalog_url"]


def catalog_url(settings) -> str:
    if settings.catalog_url:
        url = make_url(settings.catalog_url)
        if url.drivername == "postgresql":  # as written: psycopg (3) is the driver we ship
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.db_path}"


def open_catalog(settings) -> SqlCatalog:
    url = catalog_url(settings)
    blobs = open_blobs(settings)
    try:
        if url.startswith("sqlite"):
            return _sqlite(url, blobs)
        return _postgres(url, blobs)
    except Exception as e:
        if type(e).__module__.startswith("sqlalchemy"):
            where = make_url(url).render_as_string(hide_password=True)
            raise BackendUnavailable(f"cannot open the catalog at {where}: {e.__class__.__name__}: "
                                     f"{str(e).splitlines()[0]}") from e
        raise


def _sqlite(url: str, blobs=None) -> SqlCatalog:
    def on_connect(dbapi, _):
        dbapi.isolation_level = None  # the driver's own transactions off: SQLAlchemy's begin below decides
        dbapi.execute("PRAGMA journal_mode=WAL")
        dbapi.execute("PRAGMA synchronous=NORMAL")
        dbapi.execute("PRAGMA busy_timeout=30000")

    args = {"timeout": 30, "check_same_thread": False}
    writer = create_engine(url, connect_args=args)
    reader = create_engine(url, connect_args=args)
    event.listen(writer, "connect", on_connect)
    event.listen(reader, "connect", on_connect)
    # A write takes the lock when it begins: two writers never deadlock upgrading read locks.
    event.listen(writer, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    lexical = Fts5Lexical(reader)
    with writer.begin() as conn:
        tables.metadata.create_all(conn)
        _migrate_sqlite(conn)
        lexical.create(conn)
    catalog = SqlCatalog(writer, lexical, reader, blobs)
    catalog.adopt_collections()
    return catalog


def _migrate_sqlite(conn) -> None:
    """Stores made before a column existed."""
    if "embedder" not in {c["name"] for c in inspect(conn).get_columns("collections")}:
        conn.execute(text("ALTER TABLE collections ADD COLUMN embedder TEXT"))
    for column in ("terms", "title_terms"):
        if column not in {c["name"] for c in inspect(conn).get_columns("chunks")}:
            conn.execute(text(f"ALTER TABLE chunks ADD COLUMN {column} TEXT"))
    fts5.migrate(conn)
    columns = {c["name"] for c in inspect(conn).get_columns("documents")}
    if "chunking" not in columns:
        conn.execute(text("ALTER TABLE documents ADD COLUMN chunking TEXT"))
    if "pages" not in columns:
        conn.execute(text("ALTER TABLE documents ADD COLUMN pages INTEGER"))
    if "location" not in columns:
        conn.execute(text("ALTER TABLE documents ADD COLUMN location TEXT"))
        # Documents named by their absolute path were read from there.
        conn.execute(text("UPDATE documents SET location = source WHERE source LIKE '/%'"))


def _postgres(url: str, blobs=None) -> SqlCatalog:
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    lexical = PgLexical(engine)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7243)"))  # replicas starting together create tables once
        tables.metadata.create_all(conn)
        conn.execute(text("ALTER TABLE documents ADD COLUMN IF NOT EXISTS pages INTEGER"))  # made before it existed
        conn.execute(text("ALTER TABLE collections ADD COLUMN IF NOT EXISTS embedder TEXT"))
        pgfts.migrate(conn)
        lexical.create(conn)
    catalog = SqlCatalog(engine, lexical, blobs=blobs)
    catalog.adopt_collections()
    return catalog
