"""The lexical index in PostgreSQL: full-text search (tsvector + GIN) over the chunks and whole documents.

Ranking: per word, ts_rank over the chunk's text (weight A) and title (weight B) with normalisation 1
(divided by 1 + log length), weighted by the word's idf; its retrieval figures against FTS5's BM25 on the
dev sets are in docs/BENCHMARKS.md. The words are letters and digits only (rag.text), so a
question cannot inject tsquery syntax."""

import math

from sqlalchemy import text

from rag.catalog.base import Chunk
from rag.catalog.lexical import WordIndex, chunk_of, row_of
from rag.text import index_terms, phrase_words, query_words

CONFIG = "simple"  # no stemmer of PostgreSQL's own: the terms come stemmed where they are English (rag.text)
DDL = [
    f"""ALTER TABLE chunks ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{CONFIG}', coalesce(terms, text)), 'A')
        || setweight(to_tsvector('{CONFIG}', coalesce(title_terms, title)), 'B')) STORED""",
    "CREATE INDEX IF NOT EXISTS chunks_tsv ON chunks USING GIN (tsv)",
    """CREATE TABLE IF NOT EXISTS document_texts (
        document_id TEXT PRIMARY KEY, collection TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL)""",
    f"""ALTER TABLE document_texts ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{CONFIG}', title), 'A') || setweight(to_tsvector('{CONFIG}', text), 'B')) STORED""",
    "CREATE INDEX IF NOT EXISTS document_texts_tsv ON document_texts USING GIN (tsv)",
    "CREATE INDEX IF NOT EXISTS document_texts_by_collection ON document_texts (collection)",
]
WEIGHTS = "'{0.1, 0.2, 0.5, 1.0}'"  # D, C, B, A: a title word counts half a text word, as in FTS5's bm25 weights


def migrate(conn) -> None:
    """Databases indexed before the terms were English-stemmed ('english' stemmed every language, or read the
    chunks' text before CJK terms): the terms written again, both indexes made again (by DDL)."""
    for column in ("terms", "title_terms"):
        conn.execute(text(f"ALTER TABLE chunks ADD COLUMN IF NOT EXISTS {column} TEXT"))
    made = conn.execute(text("SELECT generation_expression FROM information_schema.columns WHERE table_name = 'chunks'"
                             " AND column_name = 'tsv'")).scalar()
    if made is None or "title_terms" in made:
        return
    conn.execute(text("ALTER TABLE chunks DROP COLUMN tsv"))  # its index goes with it; DDL makes both again
    rows = conn.execute(text("SELECT id, text, title FROM chunks")).all()
    if rows:
        conn.execute(text("UPDATE chunks SET terms = :t, title_terms = :tt WHERE id = :i"),
                     [{"t": index_terms(t).replace("\x00", ""), "tt": index_terms(title), "i": i}
                      for i, t, title in rows])
    conn.execute(text("ALTER TABLE document_texts DROP COLUMN IF EXISTS tsv"))
    documents = conn.execute(text("SELECT document_id, title, text FROM document_texts")).all()
    if documents:
        conn.execute(text("UPDATE document_texts SET title = :t, text = :x WHERE document_id = :d"),
                     [{"t": index_terms(t), "x": index_terms(x), "d": d} for d, t, x in documents])


class PgLexical(WordIndex):
    DOCUMENTS = "document_texts"
    DDL = DDL

    def add(self, conn, chunks: list[Chunk], titles: list[str]) -> None:
        if not chunks:
            return
        conn.execute(text(
            "INSERT INTO chunks (id, document_id, collection, source, idx, start, \"end\", page, headings, title, text,"
            " terms, title_terms) VALUES (:id, :document_id, :collection, :source, :idx, :start, :end, :page, :headings,"
            " :title, :text, :terms, :title_terms) ON CONFLICT (id) DO UPDATE SET document_id = excluded.document_id,"
            " collection = excluded.collection, source = excluded.source, idx = excluded.idx, start = excluded.start,"
            " \"end\" = excluded.\"end\", page = excluded.page, headings = excluded.headings, title = excluded.title,"
            " text = excluded.text, terms = excluded.terms, title_terms = excluded.title_terms"),
            [_no_nul(row_of(c, title)) for c, title in zip(chunks, titles)])

    def add_document(self, conn, document_id: str, collection: str, title: str, body: str) -> None:
        conn.execute(text("INSERT INTO document_texts (document_id, collection, title, text) VALUES (:d, :c, :t, :x)"
                          " ON CONFLICT (document_id) DO UPDATE SET collection = excluded.collection,"
                          " title = excluded.title, text = excluded.text"),
                     {"d": document_id, "c": collection, "t": index_terms(title),
                      "x": index_terms(body.replace("\x00", ""))})

    def _ranked(self, table: str, key: str, collection: str, query: str, n: int,
                document_ids: list[str] | None = None) -> list:
        """Rows matching any of the query's words, best first. PostgreSQL's ts_rank knows no inverse
        document frequency, so each word's rank is weighted by its idf among the collection's rows (as BM25
        does; FTS5's ranking): without it, a question's common words outrank its rare ones."""
        words = query_words(query)
        if not words:
            return []
        any_word = " | ".join(words)
        counts = ", ".join(f"count(*) FILTER (WHERE tsv @@ to_tsquery('{CONFIG}', :w{i}))" for i in range(len(words)))
        params = {f"w{i}": w for i, w in enumerate(words)} | {"q": any_word, "c": collection, "n": n}
        stats = self._rows(f"SELECT count(*) AS total, {counts} FROM {table} WHERE collection = :c", params)[0]
        total = stats["total"]
        frequencies = list(stats.values())[1:]
        terms = []
        for i, df in enumerate(frequencies):
            if df:
                params[f"idf{i}"] = math.log(1 + (total - df + 0.5) / (df + 0.5))
                terms.append(f":idf{i} * ts_rank({WEIGHTS}, tsv, to_tsquery('{CONFIG}', :w{i}), 1)")
        if not terms:
            return []
        sql = (f"SELECT t.*, ({' + '.join(terms)}) AS rank FROM {table} t"
               f" WHERE tsv @@ to_tsquery('{CONFIG}', :q) AND collection = :c")
        if document_ids:
            sql += " AND document_id IN :ids"
            params["ids"] = list(document_ids)
        return self._rows(sql + f" ORDER BY rank DESC, {key} LIMIT :n", params, ("ids",) if document_ids else ())

    def search(self, collection: str, query: str, k: int, document_ids: list[str] | None = None) -> list[Chunk]:
        rows = self._ranked("chunks", "id", collection, query, k, document_ids)
        return [chunk_of(r, r["rank"]) for r in rows]

    def search_documents(self, collection: str, query: str, n: int) -> list[str]:
        return [r["document_id"] for r in self._ranked("document_texts", "document_id", collection, query, n)]

    def _containing(self, word: str, document_ids: list[str]) -> set[str]:
        if not document_ids or not phrase_words(word):
            return set()
        rows = self._rows(f"SELECT document_id FROM document_texts WHERE document_id IN :ids"
                          f" AND (numnode(phraseto_tsquery('{CONFIG}', :w)) = 0 OR tsv @@ phraseto_tsquery('{CONFIG}', :w))",
                          {"w": " ".join(phrase_words(word)), "ids": document_ids}, ("ids",))
        return {r["document_id"] for r in rows}


def _no_nul(row: dict) -> dict:
    """PostgreSQL's text holds no NUL character; a file may."""
    return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in row.items()}
