"""The cascade measured: always-local, always-large and when_needed on a seeded sample of dev questions.

Local = qwen2.5-0.5b in process; "large" = qwen2.5-1.5b behind llama-cpp-python's OpenAI-compatible server
(started here on loopback). Every question is answered once by each model on the same retrieved prompt,
the local one with its refusal gates off so that its hesitation and its answer are both recorded; the
policies are then replayed from those records, which also gives F1 against the share escalated as the
escalation threshold (P(NOT FOUND) above which a local answer is refused and escalated) moves.

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
    open_gates = retriever.settings.model_copy(update={"refusal_threshold": 1.0, "min_question_logprob": float("-inf")})
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
            "local_refused": answer.refused, "grounded": check.ok(settings.min_support),
            "local_f1": 0.0 if answer.refused or not refs else f1(strip_citations(answer.answer), refs),
            "large_refused": RefusalPolicy.refuses(big, answer.style),
            "large_f1": 0.0 if RefusalPolicy.refuses(big, answer.style) or not refs else f1(strip_citations(big), refs),
            "large_tokens": usage.prompt_tokens + usage.completion_tokens, "local_s": local_s, "large_s": large_s,
        })
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def replay(rows: list[dict], policy: str, threshold: float) -> dict:
    """F1 (answerable), refusal accuracy (unanswerable), share escalated and large tokens under a policy."""
    f1s, refusals, escalated, tokens = [], [], 0, 0
    for r in rows:
        refused = r["local_refused"] or (r["chance"] is not None and r["chance"] >= threshold)
        up = policy == "always" or (policy == "when_needed" and r["relevant"] and (refused or not r["grounded"]))
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
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_model_path("qwen2.5-1.5b", settings.models_dir)),
         "--model_alias", "large", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(server, f"http://127.0.0.1:{port}/v1/models", "llama.cpp server", timeout=180)
    try:
        local = LlamaCppLLM(resolve_model_path("qwen2.5-0.5b", settings.models_dir), settings.llm_context, 2)
        large = OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1", "large", timeout=600, max_retries=0)
        rows = []
        for name, limit in (("squad", args.squad), ("cmu", args.cmu)):
            if limit:
                rows += records(name, limit, local, large, settings.model_copy(update={"llm_model": "qwen2.5-0.5b"}))
    finally:
        server.terminate()
    (args.out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    default = settings.refusal_threshold
    for name in sorted({r["dataset"] for r in rows}):
        part = [r for r in rows if r["dataset"] == name]
        print(f"{name}: {len(part)} questions; local p50 {sorted(r['local_s'] for r in part)[len(part) // 2]:.1f} s, "
              f"large p50 {sorted(r['large_s'] for r in part)[len(part) // 2]:.1f} s")
        for policy in ("never", "always", "when_needed"):
            print("  ", replay(part, policy, default))
    curve = [replay(rows, "when_needed", t / 20) for t in range(1, 21)]
    for point in curve:
        print("   curve", point)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    always = replay(rows, "always", default)["f1"]
    plt.figure(figsize=(6, 4))
    plt.plot([p["escalated"] for p in curve], [p["f1"] for p in curve], "o-", label="when_needed, threshold 0.05–1")
    plt.axhline(always, color="grey", linestyle="--", label=f"always large ({always:.3f})")
    plt.axhline(0.95 * always, color="grey", linestyle=":", label="95 % of always large")
    plt.axvline(0.30, color="red", linestyle=":", label="30 % escalated")
    plt.xlabel("share of questions escalated")
    plt.ylabel("F1 (answerable questions)")
    plt.legend(fontsize=8)
    plt.tight_layout()
    plt.savefig(args.out / "cascade.png", dpi=100)
    print(f"plot: {args.out / 'cascade.png'}")


if __name__ == "__main__":
    main()
