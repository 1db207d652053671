"""Prometheus metrics: requests and latency by route, answers by who answered, the cache, the large
model's budget, tokens spent and saved, the ingest queue."""

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class Metrics:
    def __init__(self, services):
        self.registry = CollectorRegistry()  # one per app: tests build many
        r = self.registry
        self.requests = Counter("rag_http_requests", "HTTP requests", ["route", "method", "status", "tenant"],
                                registry=r)
        self.latency = Histogram("rag_http_request_seconds", "HTTP request latency", ["route", "method"], registry=r,
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64))
        self.answers = Counter("rag_answers", "answers given", ["answered_by", "reason", "refused", "tenant"],
                               registry=r)
        self.cache_hits = Counter("rag_cache_hits", "answers served from the semantic cache", registry=r)
        self.large_tokens = Counter("rag_large_tokens_spent", "large-model tokens spent by answers", registry=r)
        self.saved = Counter("rag_large_tokens_saved",
                             "large-model tokens local and cached answers would have cost", registry=r)
        self.answer_seconds = Histogram("rag_answer_seconds", "time to answer", ["answered_by"], registry=r,
                                        buckets=(0.1, 0.5, 1, 2, 4, 8, 16, 32, 64))
        self.queued = Histogram("rag_answer_queued_seconds", "time an answer waited in line for the model",
                                registry=r, buckets=(0.01, 0.1, 0.5, 1, 2, 4, 8, 16, 32, 64, 128))
        self.prompt_tokens = Counter("rag_local_prompt_tokens", "prompt tokens of local answers, by whether the model "
                                     "read them fresh or still held them from an earlier answer", ["reading"],
                                     registry=r)
        r.register(_Live(services))

    def request(self, route: str, method: str, status: int, seconds: float, tenant: str = "") -> None:
        self.requests.labels(route, method, str(status), tenant).inc()
        self.latency.labels(route, method).observe(seconds)

    def answered(self, done: dict, tenant: str) -> None:
        self.answers.labels(done["answered_by"], done["answered_by_reason"], str(done["refused"]).lower(), tenant).inc()
        if done["answered_by"] == "cache":
            self.cache_hits.inc()
        self.large_tokens.inc(done["large_tokens"])
        self.saved.inc(done["saved_tokens"])
        self.answer_seconds.labels(done["answered_by"]).observe(done["timings"].get("total_s", 0.0))
        if "queued_s" in done["timings"]:
            self.queued.observe(done["timings"]["queued_s"])
        if "read_tokens" in done["timings"]:
            self.prompt_tokens.labels("fresh").inc(done["timings"]["read_tokens"])
            self.prompt_tokens.labels("reused").inc(done["timings"]["reused_tokens"])


class _Live:
    """Figures read when scraped: the large model's calls and budget, the ingest queue's depth."""

    def __init__(self, services):
        self.services = services

    def collect(self):
        large = self.services.large if "large" in self.services.__dict__ else None
        if large is not None:
            stats, budget = large.stats, large.budget.stats
            for name, help_, value in (
                ("rag_large_requests", "requests sent to the large model", stats.calls),
                ("rag_large_rate_limited", "429 answers from the large model's provider", stats.rate_limited),
                ("rag_large_failures", "timeouts and errors from the large model's provider", stats.failures),
                ("rag_large_prompt_tokens", "prompt tokens the provider reported", stats.prompt_tokens),
                ("rag_large_completion_tokens", "completion tokens the provider reported", stats.completion_tokens),
                ("rag_limiter_waits", "large-model calls that waited for the budget", budget.waits),
                ("rag_limiter_deferrals", "large-model calls the budget refused (answered locally)", budget.deferred),
            ):
                yield CounterMetricFamily(name, help_, value=value)
            yield CounterMetricFamily("rag_limiter_wait_seconds", "time spent waiting for the budget",
                                      value=budget.waited_s)
        yield GaugeMetricFamily("rag_ingest_queue_depth", "ingest jobs queued or running",
                                value=self.services.jobs.depth())
        if "answers" in self.services.__dict__:
            answers = self.services.answers
            yield GaugeMetricFamily("rag_answers_waiting", "questions waiting in line for the model",
                                    value=answers.turns.waiting())
            if (states := answers.passage_states) is not None:
                yield CounterMetricFamily("rag_passage_states_hits", "passages whose kept reading was put back",
                                          value=states.hits)
                yield CounterMetricFamily("rag_passage_states_misses", "passages read because no reading was kept",
                                          value=states.misses)
                yield GaugeMetricFamily("rag_passage_states_bytes", "disk the kept passage readings take",
                                        value=states.size())


def timed(metrics: Metrics):
    """ASGI-level middleware recording each request under its route's path template."""

    async def middleware(request, call_next):
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            metrics.request(getattr(route, "path", "unmatched"), request.method, status,
                            time.perf_counter() - started, getattr(request.state, "tenant", ""))

    return middleware
