"""schemathesis against our OpenAPI schema, every route (/v1 included), bounded: no 5xx, and every response,
errors too, matches what the schema says (its status, content type and body). The real store, embedding
model and catalog; the fake LLM (what it answers is not the point here)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable

from rag.llm import FakeLLM

pytestmark = pytest.mark.integration
EXAMPLES = 50  # per operation and mode (valid, invalid): 13 operations, about a minute in all


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, embedder):
    from rag.settings import Settings
    from service.app import create_app
    from service.container import build_services

    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("schema") / "store", rate_limit="",
                        chat_rate_limit="", max_file_mb=1)
    app = create_app(build_services(settings, embedder, FakeLLM()))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_matches_its_schema(api_schema):
    """Schema-valid and schema-invalid requests for every operation: no 5xx, invalid ones rejected, every
    response as documented (schemathesis' pytest plugin does not run under pytest 9: its cases are drawn here
    with hypothesis directly)."""
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {"POST /chat", "POST /v1/chat/completions", "POST /documents", "GET /health"} <= {o.label for o in operations}
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                                 suppress_health_check=list(HealthCheck))
            def check(case):
                # Not "schema-valid data is accepted": what makes a file readable (its bytes, its type) is
                # more than a schema says, so a valid-looking upload may rightly be a 400 or a 415.
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:  # no invalid request exists for it (a string in the path, no body)
                assert mode == GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - every operation is tried, failures reported
                failures.append(f"{operation.label} ({mode.value}): {e}")
    assert not failures, "\n\n".join(failures)


def test_error_responses_are_documented_with_their_body(api_schema):
    raw = api_schema.raw_schema
    upload = raw["paths"]["/documents"]["post"]["responses"]
    for status in ("400", "401", "404", "413", "415", "422", "429", "503"):
        assert upload[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    assert set(raw["components"]["schemas"]["ErrorOut"]["required"]) == {"error", "detail"}
    v1 = raw["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert v1["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OpenAIErrorOut"}
