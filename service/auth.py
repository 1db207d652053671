"""Who is calling: the API key's tenant (or the default tenant with auth off), and whether they may call
again now (per-key rate limits on the limits library's moving windows, shared through Redis if set)."""

import logging
import time
from dataclasses import dataclass

from rag.catalog.keys import ApiKey
from service.errors import Forbidden, TooManyRequests, Unauthorized, rag_error_response
from rag.tenants import DEFAULT

log = logging.getLogger(__name__)
CHAT_PATHS = ("/chat", "/v1/chat/completions")
# Every path needs a caller but these: the page and its assets, the API's docs and schema, and /health (which
# tells a caller without a key less). A route added at a new path is guarded without anyone remembering to.
PUBLIC = frozenset({"/", "/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
PUBLIC_UNDER = ("/web/", "/static-offline-docs/")


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_UNDER)


@dataclass
class Caller:
    tenant: str
    key: ApiKey | None  # None: auth is off
    client: str  # who the rate limits count: the key's id, or the client's address with auth off


class Gate:
    def __init__(self, settings, keys):
        from limits import parse_many
        from limits.strategies import MovingWindowRateLimiter

        from rag.llm.limiter import limit_storage

        self.settings = settings
        self.keys = keys
        self._warned = float("-inf")
        self.limiter = MovingWindowRateLimiter(limit_storage(settings.redis_url))
        self.all = parse_many(settings.rate_limit) if settings.rate_limit else []  # "" = no limit
        self.chat = parse_many(settings.chat_rate_limit) if settings.chat_rate_limit else []
        self.embedded = parse_many(settings.embed_rate_limit) if settings.embed_rate_limit else []

    def auth_on(self) -> bool:
        mode = self.settings.auth
        return mode == "on" or (mode == "auto" and self.keys.any_made())

    def caller(self, authorization: str | None, client: str) -> Caller | None:
        """The caller's key and tenant; None when auth is on and no valid key was given."""
        if not self.auth_on():
            return Caller(DEFAULT, None, client)
        scheme, _, secret = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        key = self.keys.find(secret.strip())
        return Caller(key.tenant, key, key.id) if key else None

    def admit(self, authorization: str | None, client: str, path: str) -> Caller:
        """The caller, or Unauthorized; TooManyRequests (with Retry-After) past their rate limit."""
        caller = self.caller(authorization, client)
        if caller is None:
            raise Unauthorized("an API key is required: send 'Authorization: Bearer KEY' (`rag keys create TENANT` "
                               "makes one)" if not authorization else "this API key is not valid (unknown or revoked)")
        items = self.all + (self.chat if path in CHAT_PATHS else [])
        for item in items:
            self._charge(item, caller, "api", 1, "requests")
        return caller

    def charge_embedding(self, caller: Caller, tokens: int) -> None:
        """The tokens a caller asks /v1/embeddings to read, against its own limit (TooManyRequests past it).
        A request larger than the whole limit passes only into an empty window, and fills it."""
        for item in self.embedded:
            self._charge(item, caller, "embed", min(tokens, item.amount), "embedded tokens")

    def _charge(self, item, caller: Caller, space: str, cost: int, what: str) -> None:
        if not self._hit(item, space, caller.client, cost):
            reset, _ = self.limiter.get_window_stats(item, space, caller.client)
            raise TooManyRequests(f"more than {item} {what} for this {'key' if caller.key else 'client'}; "
                                  "try again later", retry_after=max(1.0, reset - time.time()))

    def _hit(self, item, space: str, client: str, cost: int = 1) -> bool:
        """Counted, and within the limit. With the limits' Redis away, requests pass uncounted: a limit
        protects the service, and the service itself still works (what needs Redis answers its own 503)."""
        import redis.exceptions

        try:
            return self.limiter.hit(item, space, client, cost=cost)
        except (redis.exceptions.RedisError, OSError) as e:
            if time.monotonic() - self._warned > 60:
                log.warning("rate limits not applied: their storage is unreachable (%s)", e)
                self._warned = time.monotonic()
            return True

    @staticmethod
    def admin(caller: Caller) -> None:
        """Every tenant's figures (/metrics): anyone with auth off, an admin key with it on."""
        if caller.key is not None and not caller.key.admin:
            raise Forbidden("only an admin key (`rag keys create TENANT --admin`) may read every tenant's metrics")

    def announce(self) -> None:
        mode = self.settings.auth
        if self.auth_on():
            log.info("auth is on: requests need 'Authorization: Bearer KEY' (rag keys list)")
        elif mode == "off":
            log.warning("auth is off (RAG_AUTH=off): anyone who can reach this port can read and delete every document")
        else:
            log.warning("auth is off: no API key exists, so anyone who can reach this port can read and delete every "
                        "document. `rag keys create TENANT` makes a key and turns it on")


class GateKeeper:
    """Pure ASGI middleware: the caller admitted (key, tenant, rate limit) before any body is read, so that
    an unauthenticated client cannot make the service spool a 200 MB upload before its 401."""

    def __init__(self, app, gate: Gate):
        self.app = app
        self.gate = gate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_public(scope["path"]):
            return await self.app(scope, receive, send)
        from starlette.concurrency import run_in_threadpool

        from rag.errors import RagError

        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            caller = await run_in_threadpool(self.gate.admit, authorization, client, scope["path"])
        except RagError as e:  # 401, 429, or 503 when the catalog is away
            return await rag_error_response(scope["path"], e)(scope, receive, send)
        state = scope.setdefault("state", {})
        state["caller"], state["tenant"] = caller, caller.tenant  # the tenant: for the metrics' labels
        await self.app(scope, receive, send)
