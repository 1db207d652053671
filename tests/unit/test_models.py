import hashlib

import pytest

from rag import models
from rag.errors import BackendUnavailable
from rag.models import BundledModel, assemble, locate, resolve_model_path


@pytest.fixture
def parts(tmp_path, monkeypatch):
    files = []
    for i, data in enumerate([b"GGUF-part-one-", b"part-two-", b"end"], start=1):
        path = tmp_path / "pkg" / f"part{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        files.append(path)
    monkeypatch.setattr(models, "_part_files", lambda model: files)
    return b"GGUF-part-one-part-two-end"


def model(sha, size):
    return BundledModel("tiny", "test", "tiny.gguf", sha, size, part_packages=("tiny-part1==1",))


def test_parts_are_joined_in_order_and_verified(tmp_path, parts):
    spec = model(hashlib.sha256(parts).hexdigest(), len(parts))
    path = assemble(spec, tmp_path / "models")
    assert path.read_bytes() == parts
    assert locate(spec, tmp_path / "models") == path
    assert assemble(spec, tmp_path / "models") == path  # stored once: a second call reuses the file


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path, parts):
    spec = model("0" * 64, len(parts))
    with pytest.raises(BackendUnavailable, match="expected 0000"):
        assemble(spec, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_resolve_names_paths_and_missing_models(tmp_path):
    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model_path(str(gguf), tmp_path) == gguf
    with pytest.raises(BackendUnavailable, match="no GGUF model at"):
        resolve_model_path(str(tmp_path / "missing.gguf"), tmp_path)
    with pytest.raises(BackendUnavailable, match="rag models install qwen2.5-1.5b"):
        resolve_model_path("qwen2.5-1.5b", tmp_path / "empty")


DEFAULT = models.BUNDLED["qwen2.5-1.5b"]
