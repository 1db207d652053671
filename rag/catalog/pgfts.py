"""The lexical index in PostgreSQL: full-text search (tsvector + GIN) over the chunks and whole documents.

Ranking: ts_rank over the chunk's text (weight A) and title (weight B) with normalisation 1 (divided by
1 + log length), which orders like FTS5's BM25 does on the dev sets (docs/BENCHMARKS.md)."""

from sqlalchemy import text

from rag.catalog.base import Chunk
from rag.catalog.lexical import WordIndex, chunk_of, row_of
from rag.catalog.words import phrase_words, query_words

CONFIG = "english"  # stemming and stop words, as FTS5's porter tokenizer
DDL = [
    f"""ALTER TABLE chunks ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{CONFIG}', text), 'A') || setweight(to_tsvector('{CONFIG}', title), 'B')) STORED""",
    "CREATE INDEX IF NOT EXISTS chunks_tsv ON chunks USING GIN (tsv)",
    f"""CREATE TABLE IF NOT EXISTS document_texts (
        document_id TEXT PRIMARY KEY, collection TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('{CONFIG}', title), 'A') || setweight(to_tsvector('{CONFIG}', text), 'B')) STORED)""",
    "CREATE INDEX IF NOT EXISTS document_texts_tsv ON document_texts USING GIN (tsv)",
    "CREATE INDEX IF NOT EXISTS document_texts_by_collection ON document_texts (collection)",
]
WEIGHTS = "'{0.1, 0.2, 0.5, 1.0}'"  # D, C, B, A: a title word counts half a text word, as in FTS5's bm25 weights


def any_words(query: str) -> str:
    """A tsquery matching any of the query's words; the words are letters and digits only, so user input
    cannot inject tsquery syntax."""
    return " | ".join(query_words(query))


class PgLexical(WordIndex):
    DOCUMENTS = "document_texts"
    DDL = DDL

    def add(self, conn, chunks: list[Chunk], titles: list[str]) -> None:
        if not chunks:
            return
        conn.execute(text(
            "INSERT INTO chunks (id, document_id, collection, source, idx, start, \"end\", page, headings, title, text)"
            " VALUES (:id, :document_id, :collection, :source, :idx, :start, :end, :page, :headings, :title, :text)"
            " ON CONFLICT (id) DO UPDATE SET document_id = excluded.document_id, collection = excluded.collection,"
            " source = excluded.source, idx = excluded.idx, start = excluded.start, \"end\" = excluded.\"end\","
            " page = excluded.page, headings = excluded.headings, title = excluded.title, text = excluded.text"),
            [row_of(c, title) for c, title in zip(chunks, titles)])

    def add_document(self, conn, document_id: str, collection: str, title: str, body: str) -> None:
        conn.execute(text("INSERT INTO document_texts (document_id, collection, title, text) VALUES (:d, :c, :t, :x)"
                          " ON CONFLICT (document_id) DO UPDATE SET collection = excluded.collection,"
                          " title = excluded.title, text = excluded.text"),
                     {"d": document_id, "c": collection, "t": title, "x": body.replace("\x00", "")})

    def search(self, collection: str, query: str, k: int, document_ids: list[str] | None = None) -> list[Chunk]:
        words = any_words(query)
        if not words:
            return []
        sql = (f"SELECT c.*, ts_rank({WEIGHTS}, tsv, q, 1) AS rank FROM chunks c,"
               f" to_tsquery('{CONFIG}', :q) q WHERE tsv @@ q AND c.collection = :c")
        params = {"q": words, "c": collection, "k": k}
        if document_ids:
            sql += " AND c.document_id IN :ids"
            params["ids"] = list(document_ids)
        rows = self._rows(sql + " ORDER BY rank DESC, c.id LIMIT :k", params, ("ids",) if document_ids else ())
        return [chunk_of(r, r["rank"]) for r in rows]

    def search_documents(self, collection: str, query: str, n: int) -> list[str]:
        words = any_words(query)
        if not words:
            return []
        rows = self._rows(f"SELECT document_id FROM document_texts, to_tsquery('{CONFIG}', :q) q"
                          f" WHERE tsv @@ q AND collection = :c ORDER BY ts_rank({WEIGHTS}, tsv, q, 1) DESC, document_id"
                          " LIMIT :n", {"q": words, "c": collection, "n": n})
        return [r["document_id"] for r in rows]

    def _containing(self, word: str, document_ids: list[str]) -> set[str]:
        if not document_ids or not phrase_words(word):
            return set()
        rows = self._rows(f"SELECT document_id FROM document_texts WHERE document_id IN :ids"
                          f" AND (numnode(phraseto_tsquery('{CONFIG}', :w)) = 0 OR tsv @@ phraseto_tsquery('{CONFIG}', :w))",
                          {"w": " ".join(phrase_words(word)), "ids": document_ids}, ("ids",))
        return {r["document_id"] for r in rows}
