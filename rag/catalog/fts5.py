"""The lexical index in SQLite: FTS5 (BM25) over the chunks, and over whole documents."""

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from rag.catalog.base import Chunk
from rag.catalog.words import phrase_words, query_words

DDL = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        text, title, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2')""",
    # Whole documents, for ranking documents before chunks (which filing is about "Apple"?).
    """CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
        document_id UNINDEXED, collection UNINDEXED, title, text, tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, text, title) VALUES (new.rowid, new.text, new.title); END""",
    """CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.rowid, old.text, old.title); END""",
]


def match_expression(query: str) -> str:
    """Any of the query's words, each quoted so user input cannot inject FTS syntax."""
    return " OR ".join(f'"{w}"' for w in query_words(query))


def _chunk(r, score: float) -> Chunk:
    return Chunk(id=r["id"], document_id=r["document_id"], collection=r["collection"], source=r["source"],
                 text=r["text"], index=r["idx"], start=r["start"], end=r["end"], page=r["page"],
                 headings=r["headings"], score=score)


class Fts5Lexical:
    def __init__(self, reader: Engine):
        self.reader = reader

    def create(self, conn) -> None:
        for statement in DDL:
            conn.execute(text(statement))

    # -- writes, inside the catalog's transaction ------------------------------------------------

    def add(self, conn, chunks: list[Chunk], titles: list[str]) -> None:
        if not chunks:
            return
        conn.execute(text(
            "INSERT OR REPLACE INTO chunks (id, document_id, collection, source, idx, start, \"end\", page, headings,"
            " title, text) VALUES (:id, :document_id, :collection, :source, :idx, :start, :end, :page, :headings,"
            " :title, :text)"), [_row(c, title) for c, title in zip(chunks, titles)])

    def add_document(self, conn, document_id: str, collection: str, title: str, body: str) -> None:
        conn.execute(text("INSERT INTO documents_fts (document_id, collection, title, text)"
                          " VALUES (:d, :c, :t, :x)"), {"d": document_id, "c": collection, "t": title, "x": body})

    def delete_document(self, conn, document_id: str) -> None:
        conn.execute(text("DELETE FROM chunks WHERE document_id = :d"), {"d": document_id})
        conn.execute(text("DELETE FROM documents_fts WHERE document_id = :d"), {"d": document_id})

    def drop_collection(self, conn, collection: str) -> None:
        conn.execute(text("DELETE FROM chunks WHERE collection = :c"), {"c": collection})
        conn.execute(text("DELETE FROM documents_fts WHERE collection = :c"), {"c": collection})

    # -- reads -----------------------------------------------------------------------------------

    def _rows(self, sql: str, params: dict, expanding: tuple[str, ...] = ()):
        statement = text(sql).bindparams(*(bindparam(name, expanding=True) for name in expanding))
        with self.reader.connect() as c:
            return c.execute(statement, params).mappings().all()

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
        return [_chunk(r, -r["rank"]) for r in rows]

    def search_documents(self, collection: str, query: str, n: int) -> list[str]:
        """Ids of the documents that match the query best as a whole (BM25 over their full text)."""
        expression = match_expression(query)
        if not expression:
            return []
        rows = self._rows("SELECT document_id FROM documents_fts WHERE documents_fts MATCH :q AND collection = :c"
                          " ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT :n", {"q": expression, "c": collection, "n": n})
        return [r["document_id"] for r in rows]

    def unmentioned(self, words: list[str], document_ids: list[str]) -> list[str]:
        """The words that none of these documents contains, name or text."""
        if not words or not document_ids or not self._rows(
                "SELECT 1 FROM documents_fts WHERE document_id IN :ids LIMIT 1", {"ids": document_ids}, ("ids",)):
            return []  # documents stored before whole documents were indexed: nothing to tell
        return [w for w in words if not self._containing(w, document_ids)]

    def naming(self, words: list[str], document_ids: list[str]) -> list[str]:
        """Those of these documents that contain every one of the words, in the order given."""
        keep = set(document_ids)
        for word in words:
            keep &= self._containing(word, document_ids)
        return [d for d in document_ids if d in keep]

    def _containing(self, word: str, document_ids: list[str]) -> set[str]:
        if not document_ids or not phrase_words(word):
            return set()
        phrase = '"' + " ".join(phrase_words(word)) + '"'  # quoted: a name cannot inject FTS syntax
        rows = self._rows("SELECT document_id FROM documents_fts WHERE documents_fts MATCH :q AND document_id IN :ids",
                          {"q": phrase, "ids": document_ids}, ("ids",))
        return {r["document_id"] for r in rows}

    def ids(self, document_id: str) -> list[str]:
        return [r["id"] for r in self._rows("SELECT id FROM chunks WHERE document_id = :d ORDER BY idx",
                                            {"d": document_id})]

    def chunks(self, collection: str) -> list[Chunk]:
        """Every chunk of the collection, by document and place."""
        rows = self._rows("SELECT * FROM chunks WHERE collection = :c ORDER BY document_id, idx", {"c": collection})
        return [_chunk(r, 0.0) for r in rows]

    def count(self, collection: str) -> int:
        return self._rows("SELECT count(*) AS n FROM chunks WHERE collection = :c", {"c": collection})[0]["n"]


def _row(c: Chunk, title: str) -> dict:
    return {"id": c.id, "document_id": c.document_id, "collection": c.collection, "source": c.source, "idx": c.index,
            "start": c.start, "end": c.end, "page": c.page, "headings": c.headings, "title": title, "text": c.text}
