import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
DOCUGAMI_DOCS = SHARED_EVAL / "docugami_sec10q" / "sec-10-q" / "data" / "v1" / "docs"


@pytest.fixture
def settings(tmp_path):
    from rag.settings import Settings

    return Settings(_env_file=None, data_dir=tmp_path / "store")


@pytest.fixture(scope="session")
def embedder():
    from rag.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def ingestor(settings, embedder):
    """The real write path: Chroma on disk, the real model, the SQLite catalog and FTS5."""
    from ingest.pipeline import Ingestor
    from rag.catalog import open_catalog
    from rag.store import open_store

    return Ingestor(settings, embedder, open_store(settings), open_catalog(settings))


@pytest.fixture
def no_network(monkeypatch):
    """Unit tests must not touch the network."""

    def guard(*args, **kwargs):
        raise RuntimeError("network access in a unit test")

    monkeypatch.setattr(socket.socket, "connect", guard)
