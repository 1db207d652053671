"""One contract for every vector store: in memory, embedded Chroma, and a real `chroma run` server."""

import numpy as np
import pytest

from rag.chunks import Chunk
from rag.errors import BackendUnavailable
from rag.settings import Settings
from rag.store import MemoryStore, _chroma_name, open_store
from tests.helpers.servers import free_port, start_chroma

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    process = start_chroma(tmp_path_factory.mktemp("chroma-server"), port)
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["memory", "embedded", "server"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryStore()
    if request.param == "embedded":
        return open_store(Settings(_env_file=None, data_dir=tmp_path))
    port = request.getfixturevalue("chroma_server")
    store = open_store(Settings(_env_file=None, data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=port))
    collection = f"t{tmp_path.name[-20:].replace('_', '')}"[:60]
    store.test_collection = collection
    return store


def make(n, doc, collection, dim=8):
    rng = np.random.default_rng(n)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(id=f"{doc}-{i}", document_id=doc, collection=collection, source=f"/x/{doc}.txt",
                    text=f"text {doc} {i}", index=i, start=i * 10, end=i * 10 + 9, page=i or None)
              for i in range(n)]
    return chunks, vectors


def test_add_search_delete_count(store):
    collection = getattr(store, "test_collection", "c")
    a, va = make(5, "a", collection)
    b, vb = make(3, "b", collection)
    store.add(a, va)
    store.add(b, vb)
    store.add(a[:2], va[:2])  # upsert: no duplicates
    assert store.count(collection) == 8
    hits = store.search(collection, va[3], k=3)
    assert hits[0].id == "a-3" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].page == 3 and hits[0].source == "/x/a.txt" and (hits[0].start, hits[0].end) == (30, 39)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    only_b = store.search(collection, va[3], k=5, document_ids=["b"])
    assert {h.document_id for h in only_b} == {"b"} and len(only_b) == 3
    store.delete_document(collection, "a")
    assert store.count(collection) == 3
    assert all(h.document_id == "b" for h in store.search(collection, va[3], k=5))
    store.drop_collection(collection)
    assert store.count(collection) == 0


def test_collections_are_separate(store):
    base = getattr(store, "test_collection", "c")
    x, vx = make(2, "x", base + "x")
    y, vy = make(2, "y", base + "y")
    store.add(x + y, np.vstack([vx, vy]))
    assert {h.collection for h in store.search(base + "x", vx[0], k=4)} == {base + "x"}


def test_a_few_chunks_are_found_beside_thousands_of_near_duplicates(store):
    """A file of repeated lines (thousands of chunks alike) must not hide a small document from the search:
    with Chroma's default graph and search breadth about 1 build in 3 misses every one of its chunks."""
    base = getattr(store, "test_collection", "c")
    rng = np.random.default_rng(3)

    def unit(v):
        return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)

    for build in range(8):
        collection = f"{base}near{build}"
        topic = unit(rng.normal(size=384))
        few, _ = make(17, "few", collection)
        alike, _ = make(5000, "alike", collection)
        center = unit(rng.normal(size=384))
        store.add(few, unit(topic + 0.6 * unit(rng.normal(size=(17, 384)))))
        store.add(alike, unit(center + 0.05 * rng.normal(size=(5000, 384)) / np.sqrt(384)))
        hits = store.search(collection, topic, k=10)
        assert {h.document_id for h in hits} == {"few"}, f"build {build}"
        store.drop_collection(collection)


@pytest.mark.parametrize("store", ["embedded", "server"], indirect=True)
def test_a_collection_made_with_chromas_default_search_breadth_is_widened(store):
    """Stores made before the breadth was raised keep Chroma's 100 unless the store raises it when it opens
    them (Chroma reads it when it next loads the index: measured, not tested here)."""
    collection = getattr(store, "test_collection", "c") + "narrow"
    chroma_name = _chroma_name(collection)
    store.client.create_collection(chroma_name, embedding_function=None,
                                   configuration={"hnsw": {"space": "cosine", "ef_search": 100}})
    chunks, vectors = make(3, "d", collection)
    store.add(chunks, vectors)
    hnsw = store.client.get_collection(chroma_name).configuration["hnsw"]
    assert hnsw["ef_search"] == store.ef_search == 400, hnsw
    hits = store.search(collection, vectors[0], k=3)
    assert {h.id for h in hits} == {c.id for c in chunks}, f"searched after widening: {hits}"
    store.add(*make(2, "d", collection + "new"))  # a new one gets today's graph as well
    made = store.client.get_collection(_chroma_name(collection + "new")).configuration["hnsw"]
    assert (made["ef_search"], made["max_neighbors"], made["ef_construction"]) == (400, 32, 200), made


def test_server_going_away_is_backend_unavailable(tmp_path):
    port = free_port()
    process = start_chroma(tmp_path / "server", port)
    store = open_store(Settings(_env_file=None, data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=port))
    chunks, vectors = make(2, "a", "gone")
    store.add(chunks, vectors)
    process.terminate()
    process.wait(timeout=10)
    with pytest.raises(BackendUnavailable, match="unreachable"):
        store.search("gone", vectors[0], k=1)
    with pytest.raises(BackendUnavailable, match="cannot reach Chroma"):
        open_store(Settings(_env_file=None, data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=port))
