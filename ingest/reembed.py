"""Move a collection to this service's embedding model: its chunks (kept in the catalog's word index) embedded
again and written over its vectors, with no file read again."""

from rag.errors import RagError

BATCH = 128


def reembed(ingestor, collection: str) -> int:
    """The collection's chunks embedded with the ingestor's model; returns how many. Marked as moving first: a run
    killed midway leaves a collection every search refuses (its vectors are mixed) until it is run again."""
    catalog, store, embedder = ingestor.catalog, ingestor.store, ingestor.embedder
    if not catalog.has_collection(collection):
        raise RagError(f"no collection {collection!r}")
    chunks = catalog.lexical.chunks(collection)
    catalog.record_embedder(collection, f"{embedder.name} (being re-embedded)")
    store.drop_collection(collection)
    for start in range(0, len(chunks), BATCH):
        part = chunks[start:start + BATCH]
        with ingestor.pacer.batch():
            store.add(part, embedder.embed([ingestor.embedding_text(c) for c in part]))
    catalog.record_embedder(collection, embedder.name)
    return len(chunks)
