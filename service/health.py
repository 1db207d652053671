"""The service's health in one call: models loaded, store, catalog and queue reachable, the caller's documents
and chunks, the ingest queue, disk space, whether the model is stuck."""

import shutil

LOW_DISK_BYTES = 200 * 2**20  # below this, an upload or an ingest may not be written whole
BUSY_S = 300  # no answer holds the model this long: a wedged one does


def redis_state(url: str) -> str:
    import redis

    from rag.llm.limiter import REDIS_TIMEOUT_S

    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
        with client:
            client.ping()
        return "ok"
    except (redis.exceptions.RedisError, OSError) as e:
        return f"unreachable: {type(e).__name__}"


def health(services, authorization: str | None, client: str) -> dict:
    """{"status": "ok" | "degraded", "problems": [...]} and, for a caller with a key (or with auth off), every
    check. Never raises: a backend away is a problem reported."""
    problems = []
    checks = {"llm_loaded": services.llm_loaded, "llm": services.llm.name if services.llm_loaded else None}
    caller, keys = None, [services.settings.collection]  # without a caller, the store is still probed
    try:
        caller = services.gate.caller(authorization, client)
        keys = services.library.for_tenant(caller.tenant).collection_keys() if caller else keys
        checks["documents"] = sum(len(services.catalog.list(key, "ingested")) for key in keys)
        checks["queue_depth"] = services.jobs.depth()
        checks["catalog"] = "ok"
    except Exception as e:  # noqa: BLE001 - health reports, never raises
        checks["catalog"] = f"unreachable: {type(e).__name__}"
        problems.append("the catalog database cannot be reached")
    try:
        checks["chunks"] = sum(services.store.count(key) for key in keys)
        checks["store"] = "ok"
    except Exception as e:  # noqa: BLE001
        checks["store"] = f"unreachable: {e}"
        problems.append("the vector store cannot be reached")
    try:
        checks["queue"] = f"{services.jobs.queue.name}, {services.jobs.queue.pending()} waiting"
    except Exception as e:  # noqa: BLE001
        checks["queue"] = f"unreachable: {type(e).__name__}"
        problems.append("the job queue cannot be reached")
    problems += _machine(services, checks)
    return {"status": "degraded" if problems else "ok", **(checks if caller else {}), "problems": problems}


def _machine(services, checks: dict) -> list[str]:
    """Redis, the disk and the model: what is wrong with them, the figures into `checks`."""
    problems = []
    if url := services.settings.redis_url:
        checks["redis"] = redis_state(url)
        if checks["redis"] != "ok":
            problems.append("Redis cannot be reached (the large model's budget, shared rate limits, the job queue)")
    free = shutil.disk_usage(services.settings.data_dir).free
    checks["disk_free_mb"] = round(free / 2**20)
    if free < LOW_DISK_BYTES:
        problems.append(f"the data directory's disk has {free / 2**20:.0f} MB free")
    busy = services.llm.busy_for() if services.llm_loaded and hasattr(services.llm, "busy_for") else 0.0
    checks["llm_busy_s"] = round(busy, 1)
    if busy > BUSY_S:
        problems.append(f"the model has been held by one answer for {busy:.0f} s")
    return problems
