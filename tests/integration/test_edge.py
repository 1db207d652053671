"""The edge denies by default: every path needs a caller with a key (when auth is on) but an explicit public
list, so a route added at a new path is guarded without anyone remembering to guard it."""

import re

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from rag.llm import FakeLLM
from service.auth import PUBLIC, is_public

pytestmark = pytest.mark.integration


@pytest.fixture
def app(settings, embedder):
    from rag.store import MemoryStore
    from service.app import create_app
    from service.container import build_services

    services = build_services(settings.model_copy(update={"auth": "on"}), embedder, FakeLLM(), store=MemoryStore())
    return create_app(services)


def concrete(route) -> str:
    path = re.sub(r"\{[^}]+\}", "x", route.path)
    return path + "/x" if isinstance(route, Mount) else path


def every_route(routes):
    """Routes as served, those of included routers too (FastAPI keeps them apart from app.routes)."""
    for route in routes:
        if callable(getattr(route, "effective_route_contexts", None)):
            yield from route.effective_route_contexts()
        else:
            yield route


def test_every_route_is_guarded_or_on_the_public_list(app):
    seen = set()
    with TestClient(app) as client:
        for route in every_route(app.routes):
            path = concrete(route)
            for method in (getattr(route, "methods", None) or {"GET"}) - {"HEAD"}:
                status = client.request(method, path).status_code
                seen.add(path)
                if is_public(path):
                    assert status != 401, (method, route.path)
                else:
                    assert status == 401, (method, route.path, status)
    assert PUBLIC <= seen  # the list names only routes there are
    assert {"/documents", "/chat", "/v1/chat/completions", "/metrics", "/jobs/x"} <= seen - PUBLIC


def test_a_route_at_a_new_path_answers_401_without_a_key(app):
    @app.get("/brand-new")
    def brand_new():
        return {"secret": "anyone's"}

    with TestClient(app) as client:
        assert client.get("/brand-new").status_code == 401
        _, secret = app.state.services.catalog.keys.create("acme")
        assert client.get("/brand-new", headers={"Authorization": f"Bearer {secret}"}).json() == {"secret": "anyone's"}
