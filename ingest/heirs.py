"""A deleted document's duplicates keep its content: the oldest copy whose bytes can still be had (its
upload, or its file where this machine read it) becomes the original and is ingested again; the other
copies become its duplicates. Without it, deleting an original left its copies listed with no chunks, and
questions about them were refused."""

import logging
from pathlib import Path

from ingest.files import sha256_file
from rag.catalog import Catalog, Document

log = logging.getLogger(__name__)


def copies_of(catalog: Catalog, original: Document) -> list[Document]:
    """Its duplicates, oldest first (made in the same second: by name)."""
    found = [d for d in catalog.list(original.collection, "duplicate") if d.duplicate_of == original.id]
    return sorted(found, key=lambda d: (d.created_at, d.source))


def _has_bytes(catalog: Catalog, copy: Document) -> bool:
    """Its bytes are in the catalog, or put there from its file (unchanged) where this machine read it."""
    if catalog.upload(copy.id) is not None:
        return True
    path = Path(copy.location) if copy.location else None
    if path is None or not path.is_file() or sha256_file(path) != copy.sha256:
        return False
    catalog.put_upload(copy.id, copy.collection, copy.source, path.name, copy.sha256, path.read_bytes())
    return True


def hand_down(catalog: Catalog, original: Document) -> Document | None:
    """After `original` was deleted: its heir, now pending (to be ingested from its stored bytes), and the
    other copies pointed at it; None when it had no copy. Copies whose bytes are gone everywhere fail,
    saying so."""
    copies = copies_of(catalog, original)
    heir = next((c for c in copies if _has_bytes(catalog, c)), None)
    for copy in copies:
        if copy is heir:
            catalog.record_outcome({"id": copy.id, "collection": copy.collection, "source": copy.source,
                                    "status": "pending", "error": None, "duplicate_of": None})
        elif heir is not None:
            catalog.record_outcome({"id": copy.id, "collection": copy.collection, "source": copy.source,
                                    "status": "duplicate", "error": None, "duplicate_of": heir.id})
        else:
            catalog.record_outcome({"id": copy.id, "collection": copy.collection, "source": copy.source,
                                    "status": "failed", "duplicate_of": None,
                                    "error": f"its original {original.source} was deleted and its own bytes are "
                                             "gone: upload or ingest it again"})
    if heir is not None:
        log.info("%s was deleted: its copy %s holds its content now", original.source, heir.source)
    return heir
