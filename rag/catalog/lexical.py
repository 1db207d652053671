"""What the two word indexes (FTS5, PostgreSQL) share: the chunks table, and the questions asked of whole
documents; each engine adds its own search and its table of whole documents (`DOCUMENTS`)."""

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from rag.catalog.sql import unreachable_as_unavailable
from rag.chunks import Chunk
from rag.text import index_terms


def chunk_of(r, score: float) -> Chunk:
    return Chunk(id=r["id"], document_id=r["document_id"], collection=r["collection"], source=r["source"],
                 text=r["text"], index=r["idx"], start=r["start"], end=r["end"], page=r["page"],
                 headings=r["headings"], score=score)


def row_of(c: Chunk, title: str) -> dict:
    return {"id": c.id, "document_id": c.document_id, "collection": c.collection, "source": c.source, "idx": c.index,
            "start": c.start, "end": c.end, "page": c.page, "headings": c.headings, "title": title, "text": c.text,
            "terms": index_terms(c.text), "title_terms": index_terms(title)}


class WordIndex:
    DOCUMENTS = ""  # the table of whole documents
    DDL: list[str] = []

    def __init__(self, reader: Engine):
        self.reader = reader

    def create(self, conn) -> None:
        for statement in self.DDL:
            conn.execute(text(statement))

    def _rows(self, sql: str, params: dict, expanding: tuple[str, ...] = ()):
        statement = text(sql).bindparams(*(bindparam(name, expanding=True) for name in expanding))
        where = self.reader.url.render_as_string(hide_password=True)
        with unreachable_as_unavailable(where), self.reader.connect() as c:
            return c.execute(statement, params).mappings().all()

    # -- writes, inside the catalog's transaction ------------------------------------------------

    def delete_document(self, conn, document_id: str) -> None:
        conn.execute(text("DELETE FROM chunks WHERE document_id = :d"), {"d": document_id})
        conn.execute(text(f"DELETE FROM {self.DOCUMENTS} WHERE document_id = :d"), {"d": document_id})

    def drop_collection(self, conn, collection: str) -> None:
        conn.execute(text("DELETE FROM chunks WHERE collection = :c"), {"c": collection})
        conn.execute(text(f"DELETE FROM {self.DOCUMENTS} WHERE collection = :c"), {"c": collection})

    # -- whole documents -------------------------------------------------------------------------

    def naming(self, words: list[str], document_ids: list[str]) -> list[str]:
        """Those of these documents that contain every one of the words, in the order given."""
        keep = set(document_ids)
        for word in words:
            keep &= self._containing(word, document_ids)
        return [d for d in document_ids if d in keep]

    def _containing(self, word: str, document_ids: list[str]) -> set[str]:
        raise NotImplementedError

    # -- chunks ----------------------------------------------------------------------------------

    def passages(self, document_id: str) -> list[Chunk]:
        """The document's chunks in its order."""
        rows = self._rows("SELECT * FROM chunks WHERE document_id = :d ORDER BY idx", {"d": document_id})
        return [chunk_of(r, 0.0) for r in rows]

    def ids(self, document_id: str) -> list[str]:
        return [r["id"] for r in self._rows("SELECT id FROM chunks WHERE document_id = :d ORDER BY idx",
                                            {"d": document_id})]

    def chunks(self, collection: str) -> list[Chunk]:
        """Every chunk of the collection, by document and place."""
        rows = self._rows("SELECT * FROM chunks WHERE collection = :c ORDER BY document_id, idx", {"c": collection})
        return [chunk_of(r, 0.0) for r in rows]

    def count(self, collection: str) -> int:
        return self._rows("SELECT count(*) AS n FROM chunks WHERE collection = :c", {"c": collection})[0]["n"]
