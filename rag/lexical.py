"""Lexical (BM25) search over the same chunks as the vector store, in SQLite FTS5."""

import re
import sqlite3

from rag.chunks import Chunk


_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how i in is it its of on or that the"
    " this to was were what when where which who whom whose why will with".split()
)


def match_expression(query: str) -> str:
    """Any of the query's words, each quoted so user input cannot inject FTS syntax."""
    words = [w for w in _WORD.findall(query.lower()) if w not in STOPWORDS]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class LexicalIndex:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def add(self, chunks: list[Chunk], titles: list[str] | None = None) -> None:
        titles = titles or [""] * len(chunks)
        self.conn.executemany(
            "INSERT OR REPLACE INTO chunks (id, document_id, collection, source, idx, start, end, page, headings, title, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c.id, c.document_id, c.collection, c.source, c.index, c.start, c.end, c.page, c.headings, t, c.text)
                for c, t in zip(chunks, titles)
            ],
        )

    def add_document(self, document_id: str, collection: str, title: str, text: str) -> None:
        self.conn.execute(
            "INSERT INTO documents_fts (document_id, collection, title, text) VALUES (?, ?, ?, ?)",
            (document_id, collection, title, text),
        )

    def delete_document(self, document_id: str) -> None:
        self.conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        self.conn.execute("DELETE FROM documents_fts WHERE document_id = ?", (document_id,))

    def drop_collection(self, collection: str) -> None:
        self.conn.execute("DELETE FROM chunks WHERE collection = ?", (collection,))
        self.conn.execute("DELETE FROM documents_fts WHERE collection = ?", (collection,))

    def search_documents(self, collection: str, query: str, n: int) -> list[str]:
        """Ids of the documents that match the query best as a whole (BM25 over their full text)."""
        expression = match_expression(query)
        if not expression:
            return []
        rows = self.conn.execute(
            "SELECT document_id FROM documents_fts WHERE documents_fts MATCH ? AND collection = ?"
            " ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT ?",
            (expression, collection, n),
        )
        return [r["document_id"] for r in rows]

    def unmentioned(self, words: list[str], document_ids: list[str]) -> list[str]:
        """The words that none of these documents contains, name or text (ranked as a whole, as above)."""
        marks = ",".join("?" * len(document_ids))
        indexed = f"SELECT 1 FROM documents_fts WHERE document_id IN ({marks})"
        if not words or not self.conn.execute(indexed, document_ids).fetchone():
            return []  # documents stored before whole documents were indexed: nothing to tell
        return [w for w in words if not self._containing(w, document_ids)]

    def naming(self, words: list[str], document_ids: list[str]) -> list[str]:
        """Those of these documents that contain every one of the words, in the order given."""
        keep = set(document_ids)
        for word in words:
            keep &= self._containing(word, document_ids)
        return [d for d in document_ids if d in keep]

    def _containing(self, word: str, document_ids: list[str]) -> set[str]:
        phrase = '"' + word.replace('"', "") + '"'  # quoted: a name cannot inject FTS syntax
        rows = self.conn.execute(
            f"SELECT document_id FROM documents_fts WHERE documents_fts MATCH ? AND document_id IN"
            f" ({','.join('?' * len(document_ids))})", [phrase, *document_ids],
        )
        return {r["document_id"] for r in rows}

    def ids(self, document_id: str) -> list[str]:
        rows = self.conn.execute("SELECT id FROM chunks WHERE document_id = ? ORDER BY idx", (document_id,))
        return [r["id"] for r in rows]

    def count(self, collection: str) -> int:
        return self.conn.execute("SELECT count(*) FROM chunks WHERE collection = ?", (collection,)).fetchone()[0]

    def search(self, collection: str, query: str, k: int, document_ids: list[str] | None = None) -> list[Chunk]:
        expression = match_expression(query)
        if not expression:
            return []
        sql = (
            "SELECT c.*, bm25(chunks_fts, 1.0, 0.5) AS rank FROM chunks_fts"
            " JOIN chunks c ON c.rowid = chunks_fts.rowid"
            " WHERE chunks_fts MATCH ? AND c.collection = ?"
        )
        args: list = [expression, collection]
        if document_ids:
            sql += f" AND c.document_id IN ({', '.join('?' * len(document_ids))})"
            args += list(document_ids)
        rows = self.conn.execute(sql + " ORDER BY rank LIMIT ?", [*args, k]).fetchall()
        return [
            Chunk(
                id=r["id"], document_id=r["document_id"], collection=r["collection"], source=r["source"],
                text=r["text"], index=r["idx"], start=r["start"], end=r["end"], page=r["page"],
                headings=r["headings"], score=-r["rank"],
            )
            for r in rows
        ]
