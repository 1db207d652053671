"""The FastAPI application: routes, error mapping, and the components' lifetime."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ingest.files import clear_scratch, scratch
from rag.errors import BackendUnavailable, RagError
from service.container import Services
from service.auth import GateKeeper
from service.limits import BodyLimit
from service.origin import SameOrigin
from service.server import RequestHead
from service.metrics import timed
from service.errors import error_response, rag_error_response
from service.routes import chat, collections, conversations, documents, health, v1, web

log = logging.getLogger(__name__)
SLOW_READ_S = 4.0  # reading the context takes longer than a short answer should


def warm_up_answers(answers) -> None:
    """Load the models before the first question, and tell how fast this machine reads a context."""
    try:
        answers.warm_up()
    except BackendUnavailable as e:  # an LLM server that is not up yet: serve, answer 503 until it is
        log.warning("warm-up skipped: %s", e)
        return
    try:
        tokens, seconds = answers.read_time()
    except Exception as e:  # noqa: BLE001 - advice only: the service serves all the same
        log.warning("could not time the model reading a context: %s", e)
        return
    log.info("%s reads a %d-token context in %.1f s", answers.llm.name, tokens, seconds)
    if seconds > SLOW_READ_S:
        log.warning(
            "answers will be slow here: the model takes %.1f s to read its sources before it writes. A smaller"
            " model (RAG_LLM_MODEL=qwen2.5-0.5b) or less context (RAG_CONTEXT_TOKENS) reads faster: "
            "docs/REFERENCE.md, Models",
            seconds,
        )


def _lifespan(services: Services, warm_up: bool):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if removed := clear_scratch(services.settings):
            log.info("removed %d files a stopped process left staged in %s", removed, scratch(services.settings))
        if services.runs_worker:
            services.jobs.start()
        else:
            log.info("ingest jobs go to the queue at RAG_REDIS_URL: `ingest worker` processes run them")
        if services.settings.redis_url and services.runs_worker and not services.settings.chroma_host:
            log.info("the store is embedded (no RAG_CHROMA_HOST): this service ingests its own uploads")
        services.gate.announce()
        if warm_up:
            warm_up_answers(services.answers)  # a local model that cannot load fails here, at start
        if url := getattr(app.state, "url", None):  # `rag serve`: where people open it
            logging.getLogger("uvicorn.error").info("ready: open %s in a browser (the API's docs: %sdocs)", url, url)
        yield
        services.jobs.stop()

    return lifespan


def create_app(services: Services, warm_up: bool = False) -> FastAPI:
    app = FastAPIOffline(  # the docs pages' Swagger and ReDoc assets served from here: no CDN, works offline
        title="smallrag",
        description="Ask questions about your documents; answers come from a small local model, with citations.",
        version="0.1.0",
        lifespan=_lifespan(services, warm_up),
    )
    app.state.services = services
    for module in (documents, collections, conversations, chat, health, v1, web):
        app.include_router(module.router)
    app.mount("/web", web.assets, name="web")
    _add_middleware(app, services)
    _add_error_handlers(app)
    return app


def _add_middleware(app: FastAPI, services: Services) -> None:
    """Added inside out: the last added runs first."""
    app.add_middleware(GateKeeper, gate=services.gate)  # inside the metrics: refused requests are counted
    app.middleware("http")(timed(services.metrics))
    mb = 2**20
    app.add_middleware(BodyLimit, upload_bytes=int(services.settings.max_upload_mb * mb),
                       json_bytes=int(services.settings.max_body_mb * mb))
    if services.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=services.settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["Retry-After"])
    app.add_middleware(SameOrigin, allowed=services.settings.cors_origins)  # outside CORS: its preflights pass
    app.add_middleware(RequestHead)  # added last, so outermost: a head too large is refused before anything else


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError):
        return rag_error_response(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        detail = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return error_response(request.url.path, 422, "ValidationError", detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # a bug: still JSON, and logged with its trace
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request.url.path, 500, "InternalError", "the server failed on this request; its log "
                              "says why")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return error_response(request.url.path, exc.status_code, "HTTPError", exc.detail)
