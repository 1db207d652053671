"""The cascade measured: always-local, always-large and when_needed on a seeded sample of dev questions.

Local = qwen2.5-0.5b in process; "large" = qwen2.5-1.5b behind llama-cpp-python's OpenAI-compatible server
(started here on loopback). Every question is answered once by each model on the same retrieved prompt,
the local one with the verifier's threshold at 0 so that its answer and its support are both recorded; the
policies are then replayed from those records, which also gives F1 against the share escalated as the
verifier's threshold (RAG_VERIFY_THRESHOLD: a local answer under it is escalated) moves.

  .venv/bin/python benchmarks/cascade.py --squad 30 --cmu 20 --out /tmp/cascade
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.datasets import load_dataset, sample  # noqa: E402
from evals.metrics import f1  # noqa: E402
from evals.runner import COLLECTION, eval_settings, open_pipeline, strip_citations  # noqa: E402
from rag.answer import AnswerService, build_prompt, by_document, context_size  # noqa: E402
from rag.answer import grounding  # noqa: E402
from rag.answer.citations import cite  # noqa: E402
from rag.answer.refusal import RefusalPolicy  # noqa: E402
from rag.llm.llamacpp import LlamaCppLLM  # noqa: E402
from rag.llm.openai_api import OpenAICompatibleLLM  # noqa: E402
from rag.models import resolve_model_path  # noqa: E402
from rag.settings import get_settings  # noqa: E402
from tests.helpers.servers import free_port, wait_until_up  # noqa: E402



def records(dataset_name: str, limit: int, local, large, settings) -> list[dict]:
    dataset = load_dataset(dataset_name, None, workdir=Path(tempfile.gettempdir()))
    retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
    # Every proposal passes (the verifier's support is recorded): the policies are replayed from the records.
    open_gates = retriever.settings.model_copy(update={"verify_threshold": 0.0})
    service = AnswerService(retriever, local, open_gates)
    rows = []
    for q in sample(dataset.questions, limit):
        started = time.perf_counter()
        answer = service.ask([{"role": "user", "content": q.question}], COLLECTION)
        local_s = time.perf_counter() - started
        k, budget = context_size(retriever.settings, answer.style)
        passages = by_document(retriever.retrieve(q.question, COLLECTION, k, budget=budget,
                                                  named=answer.style == "long").passages)
        prompt = build_prompt(q.question, passages, answer.style)
        started = time.perf_counter()
        big, usage = large.complete(prompt, retriever.settings.max_answer_tokens)
        large_s = time.perf_counter() - started
        cited = [passages[c.number - 1] for c in cite(answer.answer, passages)] if not answer.refused else []
        check = grounding.check(answer.answer, cited, q.question)
        refs = q.answers or []
        rows.append({
            "dataset": dataset.name, "question": q.question, "unanswerable": q.unanswerable,
            "relevant": answer.answered_by_reason != "nothing_relevant", "chance": answer.refusal_probability,
            "support": answer.support,
            "likelihood": answer.question_logprob,
            "local_refused": answer.refused, "grounded": check.ok(settings.min_support),
            "local_f1": 0.0 if answer.refused or not refs else f1(strip_citations(answer.answer), refs),
            "large_refused": RefusalPolicy.refuses(big, answer.style),
            "large_f1": 0.0 if RefusalPolicy.refuses(big, answer.style) or not refs else f1(strip_citations(big), refs),
            "large_tokens": usage.prompt_tokens + usage.completion_tokens, "local_s": local_s, "large_s": large_s,
            "local_answer": answer.answer, "large_answer": big,
        })
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def live(dataset_name: str, limit: int, local, large_url: str, settings) -> dict:
    """when_needed for real, the large model behind the budget (3 RPM / 10,000 TPM / 200 RPD by default),
    answers waiting up to RAG_LARGE_WAIT_S for it: F1, refusal accuracy, escalated, wall time, errors."""
    from rag.answer.escalation import open_large_model

    dataset = load_dataset(dataset_name, None, workdir=Path(tempfile.gettempdir()))
    retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
    live_settings = retriever.settings.model_copy(update={
        "escalation": "when_needed", "large_url": large_url, "large_model": "large", "large_timeout_s": 600})
    large = open_large_model(live_settings, retriever.embedder.count_tokens)
    service = AnswerService(retriever, local, live_settings, large)
    f1s, refusals, by, errors = [], [], {}, []
    started = time.perf_counter()
    for q in sample(dataset.questions, limit):
        try:
            answer = service.ask([{"role": "user", "content": q.question}], COLLECTION)
        except Exception as e:  # noqa: BLE001 - what a client would see
            errors.append(repr(e))
            continue
        key = f"{answer.answered_by}/{answer.answered_by_reason}"
        by[key] = by.get(key, 0) + 1
        if q.unanswerable:
            refusals.append(answer.refused)
        else:
            f1s.append(0.0 if answer.refused else f1(strip_citations(answer.answer), q.answers))
    stats = large.budget.stats
    busiest = max((sum(1 for u in stats.times if t <= u < t + 60) for t in stats.times), default=0)
    return {"dataset": dataset.name, "questions": limit, "f1": round(sum(f1s) / max(1, len(f1s)), 4),
            "refusal_accuracy": round(sum(refusals) / len(refusals), 4) if refusals else None,
            "answered_by": by, "client_errors": len(errors), "wall_s": round(time.perf_counter() - started, 1),
            "large_calls": large.stats.calls, "rate_limited": large.stats.rate_limited,
            "most_calls_in_60s": busiest, "budget_waits": stats.waits, "waited_s": round(stats.waited_s, 1),
            "deferred": stats.deferred, "large_tokens": large.stats.prompt_tokens + large.stats.completion_tokens}


def unsupported(r: dict, threshold: float) -> bool:
    """The local answer is not given: the model refused, or its support is under the threshold."""
    return r["local_refused"] or (r.get("support") is not None and r["support"] < threshold)


def replay(rows: list[dict], policy: str, threshold: float) -> dict:
    """F1 (answerable), refusal accuracy (unanswerable), share escalated and large tokens under a policy, the
    verifier deciding: an unsupported local answer is refused (never) or escalated (when_needed); nothing
    relevant is refused without either model."""
    f1s, refusals, escalated, tokens = [], [], 0, 0
    for r in rows:
        refused = not r["relevant"] or unsupported(r, threshold)
        up = r["relevant"] and (policy == "always" or (policy == "when_needed" and refused))
        escalated += up
        tokens += r["large_tokens"] if up else 0
        if r["unanswerable"]:
            refusals.append(r["large_refused"] if up else refused)
        else:
            f1s.append(r["large_f1"] if up else (0.0 if refused else r["local_f1"]))
    return {"policy": policy, "threshold": threshold, "f1": round(sum(f1s) / max(1, len(f1s)), 4),
            "refusal_accuracy": round(sum(refusals) / len(refusals), 4) if refusals else None,
            "escalated": round(escalated / len(rows), 4), "large_tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--squad", type=int, default=30)
    parser.add_argument("--cmu", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cascade"))
    parser.add_argument("--live", action="store_true", help="also run when_needed for real behind the budget")
    parser.add_argument("--wait", type=float, default=60.0, help="RAG_LARGE_WAIT_S for the live run")
    parser.add_argument("--replay", type=Path, help="only replay the policies from a rows.jsonl of an earlier run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    if args.replay:
        report([json.loads(line) for line in args.replay.read_text().splitlines()], [], settings, args.out)
        return
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_model_path("qwen2.5-1.5b", settings.models_dir)),
         "--model_alias", "large", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(server, f"http://127.0.0.1:{port}/v1/models", "llama.cpp server", timeout=180)
    try:
        local = LlamaCppLLM(resolve_model_path("qwen2.5-0.5b", settings.models_dir), settings.llm_context, 2)
        large = OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1", "large", timeout=600, max_retries=0)
        rows, runs = [], []
        small = settings.model_copy(update={"llm_model": "qwen2.5-0.5b", "large_wait_s": args.wait})
        for name, limit in (("squad", args.squad), ("cmu", args.cmu)):
            if limit:
                rows += records(name, limit, local, large, small)
                if args.live:
                    runs.append(live(name, limit, local, f"http://127.0.0.1:{port}/v1", small))
                    print(json.dumps(runs[-1]), file=sys.stderr)
    finally:
        server.terminate()
    (args.out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report(rows, runs, settings, args.out)


def report(rows: list[dict], runs: list[dict], settings, out: Path) -> None:
    for run in runs:
        print("live when_needed:", json.dumps(run))
    default = settings.verify_threshold
    for name in sorted({r["dataset"] for r in rows}):
        part = [r for r in rows if r["dataset"] == name]
        print(f"{name}: {len(part)} questions; local p50 {sorted(r['local_s'] for r in part)[len(part) // 2]:.1f} s, "
              f"large p50 {sorted(r['large_s'] for r in part)[len(part) // 2]:.1f} s")
        for policy in ("never", "always", "when_needed"):
            print("  ", replay(part, policy, default))
    # One knob decides an escalation: the verifier's threshold. Every value is a point; the curve is their
    # upper frontier.
    points = [replay(rows, "when_needed", t / 20) for t in range(0, 21)]
    curve = []
    for p in sorted(points, key=lambda p: (p["escalated"], -p["f1"])):
        if not curve or p["f1"] > curve[-1]["f1"]:
            curve.append(p)
    for point in curve:
        print("   frontier", point)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    always = replay(rows, "always", default)["f1"]
    plt.figure(figsize=(6, 4))
    plt.scatter([p["escalated"] for p in points], [p["f1"] for p in points], s=6, color="lightgrey",
                label="when_needed, each verifier threshold")
    plt.plot([p["escalated"] for p in curve], [p["f1"] for p in curve], "o-", label="their frontier")
    plt.axhline(always, color="grey", linestyle="--", label=f"always large ({always:.3f})")
    plt.axhline(0.95 * always, color="grey", linestyle=":", label="95 % of always large")
    plt.axvline(0.30, color="red", linestyle=":", label="30 % escalated")
    plt.xlabel("share of questions escalated")
    plt.ylabel("F1 (answerable questions)")
    plt.legend(fontsize=8)
    plt.tight_layout()
    plt.savefig(out / "cascade.png", dpi=100)
    print(f"plot: {out / 'cascade.png'}")


if __name__ == "__main__":
    main()
