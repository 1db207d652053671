from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from service.deps import CallerDep, ServicesDep, client_of
from service.health import health as health_of

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "degraded: `problems` says why"}})
def health(services: ServicesDep, request: Request):
    """Models loaded, store, catalog and queue reachable, your documents and chunks, ingest queue depth, disk
    space, whether the model is stuck; 503 (`degraded`, with `problems`) when the service cannot do its work.
    With auth on, a caller without a key gets `status` and `problems` only."""
    body = health_of(services, request.headers.get("authorization"), client_of(request))
    return JSONResponse(body, status_code=503 if body["problems"] else 200)


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep, caller: CallerDep) -> Response:
    """Prometheus metrics: every tenant's figures, so an admin key's only when auth is on."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    services.gate.admin(caller)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
