"""Settings by component: the generated docs/SETTINGS.md is current, every setting is described, each
component's slice holds what its factory reads, and the variables keep their flat RAG_ names."""

import pytest

from rag.settings import COMPONENTS, CatalogSettings, Settings, table
from tests.conftest import ROOT


def test_the_settings_document_is_generated_from_the_settings():
    assert (ROOT / "docs" / "SETTINGS.md").read_text() == table(), "run: python -m rag.settings > docs/SETTINGS.md"


def test_every_setting_is_described_and_in_a_component():
    assert all(field.description for field in Settings.model_fields.values())
    in_components = {name for model in COMPONENTS.values() for name in model.model_fields}
    assert in_components == set(Settings.model_fields)


def test_variables_keep_their_names_and_slices_their_values(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "3")
    monkeypatch.setenv("RAG_S3_BUCKET", "uploads")
    monkeypatch.setenv("RAG_CORS_ORIGINS", '["https://intranet.example"]')
    settings = Settings(_env_file=None)
    assert settings.top_k == 3 and settings.cors_origins == ["https://intranet.example"]
    catalog = settings.part(CatalogSettings)
    assert type(catalog) is CatalogSettings and catalog.s3_bucket == "uploads" and catalog.db_path == settings.db_path
    with pytest.raises(AttributeError):
        catalog.top_k  # noqa: B018 - a slice holds its component's settings only
