from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep):
    """Models loaded, store reachable, ingest queue depth; 503 when the store cannot be reached."""
    checks = {"llm_loaded": services.llm_loaded, "llm": services.llm.name if services.llm_loaded else None}
    try:
        checks["documents"] = services.store.count(services.settings.collection)
        checks["store"] = "ok"
    except Exception as e:  # noqa: BLE001 - health reports, never raises
        checks["store"] = f"unreachable: {e}"
    checks["queue_depth"] = services.jobs.depth()
    ok = checks["store"] == "ok"
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)
