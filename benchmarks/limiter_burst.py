"""A burst of questions against a fault-injecting stand-in provider (429 with Retry-After, and requests
that hang past the timeout, in a seeded random order), through the real answer path with a local stand-in
that always hesitates, so that every question wants the large model. Prints client-visible errors, who
answered, and the most requests the provider saw in any 60 s (never above RAG_LARGE_RPM).

  .venv/bin/python benchmarks/limiter_burst.py --questions 40 --rpm 10 --clients 4
"""

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rag.answer import AnswerService  # noqa: E402
from rag.answer.escalation import open_large_model  # noqa: E402
from rag.llm import FakeLLM  # noqa: E402
from rag.retrieval import Retrieved  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.helpers.flaky_provider import flaky_provider  # noqa: E402
from tests.helpers.servers import serve_app  # noqa: E402
from tests.unit.test_answer import PASSAGES, FixedRetriever  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rpm", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--wait", type=float, default=30.0, help="RAG_LARGE_WAIT_S")
    args = parser.parse_args()
    provider = flaky_provider(rate_limited=0.2, hangs=0.1, hang_s=4.0, retry_after=2)
    with serve_app(provider) as url:
        settings = Settings(_env_file=None, escalation="when_needed", large_url=f"{url}/v1", large_model="big",
                            large_rpm=args.rpm, large_wait_s=args.wait, large_timeout_s=2.0, large_retry_wait_s=5)
        retriever = FixedRetriever(Retrieved(PASSAGES, 0.6))
        large = open_large_model(settings, retriever.embedder.count_tokens)
        service = AnswerService(retriever, FakeLLM(refusal_chance=0.9), settings, large)
        errors, by = [], {}
        started = time.time()

        def one(i: int) -> None:
            try:
                answer = service.ask([{"role": "user", "content": f"What is the capital of France? ({i})"}], "c")
                key = f"{answer.answered_by}/{answer.answered_by_reason}"
                by[key] = by.get(key, 0) + 1
            except Exception as e:  # noqa: BLE001 - what a client would see
                errors.append(repr(e))

        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, range(args.questions)))
        elapsed = time.time() - started
        times = sorted(t for t, _ in provider.state.requests)
        busiest = max((sum(1 for u in times if t <= u < t + 60) for t in times), default=0)
        ours = large.budget.stats.times
        reserved = max((sum(1 for u in ours if t <= u < t + 60) for t in ours), default=0)
        outcomes = {o: sum(1 for _, x in provider.state.requests if x == o) for o in ("ok", "429", "hang")}
    print(f"{args.questions} questions from {args.clients} clients in {elapsed:.0f} s; RPM limit {args.rpm}, "
          f"wait bound {args.wait:.0f} s")
    print(f"client-visible errors: {len(errors)} {errors[:3]}")
    print(f"answered by: {by}")
    print(f"provider saw {len(times)} requests ({outcomes}); most in any 60 s: {busiest} (limit {args.rpm}; "
          f"{reserved} by the budget's own clock)")
    print(f"budget: {large.budget.stats.allowed} let through, {large.budget.stats.waits} waited "
          f"({large.budget.stats.waited_s:.0f} s), {large.budget.stats.deferred} deferred; "
          f"429s {large.stats.rate_limited}, timeouts/errors {large.stats.failures}")


if __name__ == "__main__":
    main()
