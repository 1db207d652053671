"""docker-compose.yml: valid against the Compose specification's schema (docker cannot run containers
here), and every setting it passes is one the service reads."""

import json
import re

import jsonschema
import pytest
import yaml

from rag.settings import Settings
from tests.conftest import ROOT

# The Compose specification's JSON schema, as docker-compose 1.29.2 ships it (compose/config/compose_spec.json).
SCHEMA = ROOT / "tests" / "data" / "compose_spec.json"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_file_is_valid_compose(compose):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)


def test_an_invalid_file_is_caught():
    schema = json.loads(SCHEMA.read_text())
    broken = {"services": {"api": {"image": "x", "healthcheck": {"start_period": 5, "retries": "many"}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(schema).validate(broken)


def test_the_topology_has_every_service_with_health_checks_restarts_and_volumes(compose):
    services = compose["services"]
    assert set(services) == {"api", "worker", "chroma", "redis", "postgres", "minio", "llm"}
    assert services["llm"]["profiles"] == ["llm"]  # optional
    for name, service in services.items():
        assert service["healthcheck"]["start_period"], name
        assert service.get("restart") == "unless-stopped", name
    for name in ("api", "worker", "chroma", "redis", "postgres", "minio"):
        for volume in services[name]["volumes"]:
            assert volume.split(":")[0] in compose["volumes"], (name, volume)
    assert services["api"]["deploy"]["replicas"] >= 2 and services["worker"]["deploy"]["replicas"] >= 2


def test_every_setting_passed_is_one_the_service_reads(compose):
    fields = {f"RAG_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("RAG_"):
                assert variable in fields, (name, variable)
    env = compose["services"]["api"]["environment"]
    assert env["RAG_CATALOG_URL"].startswith("postgresql://") and env["RAG_REDIS_URL"].startswith("redis://")
    assert env["RAG_S3_ENDPOINT_URL"] == "http://minio:9000" and env["RAG_S3_BUCKET"]


def test_llama_cpp_is_built_for_a_portable_cpu(compose):
    default = re.search(r'^ARG CMAKE_ARGS="(.*)"$', (ROOT / "Dockerfile").read_text(), re.M).group(1)
    for args in (default, compose["services"]["api"]["build"]["args"]["CMAKE_ARGS"]):
        assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AVX2=ON" in args and "march=native" not in args
