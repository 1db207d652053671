"""The lexical index in SQLite: FTS5 (BM25) over the chunks, and over whole documents."""

from sqlalchemy import text

from rag.catalog.base import Chunk
from rag.catalog.lexical import WordIndex, chunk_of, row_of
from rag.text import index_terms, phrase_words, query_words

# No stemmer of FTS5's own: the terms come stemmed where they are English (rag.text.index_terms).
TOKENIZER = "unicode61 remove_diacritics 2"
DDL = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        terms, title_terms, content='chunks', content_rowid='rowid', tokenize='{TOKENIZER}')""",
    # Whole documents, for ranking documents before chunks (which filing is about "Apple"?).
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
        document_id UNINDEXED, collection UNINDEXED, title, text, tokenize='{TOKENIZER}')""",
    """CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, terms, title_terms) VALUES (new.rowid, new.terms, new.title_terms); END""",
    """CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, terms, title_terms)
        VALUES ('delete', old.rowid, old.terms, old.title_terms);
        END""",
]


def migrate(conn) -> None:
    """Stores indexed before the terms were English-stemmed (FTS5's porter stemmed every language): the terms
    written again and both indexes made again."""
    made = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").scalar()
    if made is None or "porter" not in made:
        return
    documents = conn.exec_driver_sql("SELECT document_id, collection, title, text FROM documents_fts").fetchall()
    for statement in ("DROP TRIGGER IF EXISTS chunks_ai", "DROP TRIGGER IF EXISTS chunks_ad", "DROP TABLE chunks_fts",
                      "DROP TABLE documents_fts"):
        conn.exec_driver_sql(statement)
    rows = conn.exec_driver_sql("SELECT rowid, text, title FROM chunks").fetchall()
    if rows:
        conn.execute(text("UPDATE chunks SET terms = :t, title_terms = :tt WHERE rowid = :r"),
                     [{"t": index_terms(t), "tt": index_terms(title), "r": r} for r, t, title in rows])
    for statement in DDL:
        conn.execute(text(statement))
    conn.exec_driver_sql("INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild')")
    if documents:
        conn.execute(text("INSERT INTO documents_fts (document_id, collection, title, text) VALUES (:d, :c, :t, :x)"),
                     [{"d": d, "c": c, "t": index_terms(t), "x": index_terms(x)} for d, c, t, x in documents])


def match_expression(query: str) -> str:
    """Any of the query's words, each quoted so user input cannot inject FTS syntax."""
    return " OR ".join(f'"{w}"' for w in query_words(query))


class Fts5Lexical(WordIndex):
    DOCUMENTS = "documents_fts"
    DDL = DDL

    # -- writes, inside the catalog's transaction ------------------------------------------------

    def add(self, conn, chunks: list[Chunk], titles: list[str]) -> None:
        if not chunks:
            return
        conn.execute(text(
            "INSERT OR REPLACE INTO chunks (id, document_id, collection, source, idx, start, \"end\", page, headings,"
            " title, text, terms, title_terms) VALUES (:id, :document_id, :collection, :source, :idx, :start, :end,"
            " :page, :headings, :title, :text, :terms, :title_terms)"),
            [row_of(c, title) for c, title in zip(chunks, titles)])

    def add_document(self, conn, document_id: str, collection: str, title: str, body: str) -> None:
        conn.execute(text("INSERT INTO documents_fts (document_id, collection, title, text)"
                          " VALUES (:d, :c, :t, :x)"), {"d": document_id, "c": collection, "t": index_terms(title),
                                                        "x": index_terms(body)})

    # -- reads -----------------------------------------------------------------------------------

    def search(self, collection: str, query: str, k: int, document_ids: list[str] | None = None) -> list[Chunk]:
        expression = match_expression(query)
        if not expression:
            return []
        sql = ("SELECT c.*, bm25(chunks_fts, 1.0, 0.5) AS rank FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid"
               " WHERE chunks_fts MATCH :q AND c.collection = :c")
        params = {"q": expression, "c": collection, "k": k}
        if document_ids:
            sql += " AND c.document_id IN :ids"
            params["ids"] = list(document_ids)
        rows = self._rows(sql + " ORDER BY rank LIMIT :k", params, ("ids",) if document_ids else ())
        return [chunk_of(r, -r["rank"]) for r in rows]

    def search_documents(self, collection: str, query: str, n: int) -> list[str]:
        """Ids of the documents that match the query best as a whole (BM25 over their full text)."""
        expression = match_expression(query)
        if not expression:
            return []
        rows = self._rows("SELECT document_id FROM documents_fts WHERE documents_fts MATCH :q AND collection = :c"
                          " ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT :n", {"q": expression, "c": collection, "n": n})
        return [r["document_id"] for r in rows]

    def _containing(self, word: str, document_ids: list[str]) -> set[str]:
        if not document_ids or not phrase_words(word):
            return set()
        phrase = '"' + " ".join(phrase_words(word)) + '"'  # quoted: a name cannot inject FTS syntax
        rows = self._rows("SELECT document_id FROM documents_fts WHERE documents_fts MATCH :q AND document_id IN :ids",
                          {"q": phrase, "ids": document_ids}, ("ids",))
        return {r["document_id"] for r in rows}
