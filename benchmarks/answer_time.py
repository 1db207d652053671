"""Where an answer's time goes at today's defaults: retrieval, waiting for the model, the model reading its
prompt, writing, and the verifier's judgement; with the prompt's tokens, those read fresh, and the model's
reading and writing speeds (llama.cpp's own counters, the answer's `timings`). The baseline that passage
readings kept and reused (issue 35) are measured against, in the same run.

    .venv/bin/python benchmarks/answer_time.py [--short 20] [--long 10] [--json]

Short answers: SQuAD's seeded sample; long ones: docugami's questions that get a long answer. One question
at a time, the answer cache off, the model warmed up as the service does (its fixed instructions read).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.datasets import load_dataset, sample  # noqa: E402
from evals.runner import COLLECTION, eval_settings, open_pipeline  # noqa: E402
from rag.answer import AnswerService, answer_style  # noqa: E402
from rag.llm import get_llm  # noqa: E402
from rag.settings import get_settings  # noqa: E402

PARTS = ("retrieval_s", "queued_s", "read_s", "write_s", "verify_s")


def timings(dataset_name: str, style: str, limit: int, llm, settings) -> list[dict]:
    dataset = load_dataset(dataset_name, workdir=Path(tempfile.gettempdir()))
    retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
    service = AnswerService(retriever, llm, retriever.settings)
    service.warm_up()
    questions = [q for q in sample(dataset.questions, None) if answer_style(q.question) == style]
    rows = []
    for q in sample(questions, limit):
        answer = service.ask([{"role": "user", "content": q.question}], COLLECTION, cache=False)
        rows.append({"style": answer.style, **answer.timings})
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    def p(key: str, q: int = 50) -> float:
        values = sorted(r.get(key, 0.0) for r in rows)
        return round(values[min(len(values) - 1, len(values) * q // 100)], 3)

    out = {"answers": len(rows), "total_p50_s": p("total_s"), "total_p95_s": p("total_s", 95),
           "first_token_p50_s": p("first_token_s")}
    total = sum(r["total_s"] for r in rows)
    for key in PARTS:  # shares of all the answers' time; the verifier may overlap the writing (a second reader)
        out[f"{key[:-2]}_share"] = round(sum(r.get(key, 0.0) for r in rows) / total, 3)
    out["other_share"] = round(1 - sum(out[f"{k[:-2]}_share"] for k in PARTS), 3)
    out.update(prompt_tokens_p50=p("prompt_tokens"), read_tokens_p50=p("read_tokens"),
               reused_share=round(sum(r.get("reused_tokens", 0) for r in rows)
                                  / max(1, sum(r.get("prompt_tokens", 0) for r in rows)), 3),
               read_tokens_per_s=round(sum(r.get("read_tokens", 0) for r in rows)
                                       / max(1e-9, sum(r.get("read_s", 0) for r in rows)), 1),
               write_tokens_per_s=round(sum(r.get("written_tokens", 0) for r in rows)
                                        / max(1e-9, sum(r.get("write_s", 0) for r in rows)), 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=20, help="SQuAD questions (short answers)")
    parser.add_argument("--long", type=int, default=10, help="docugami questions that get long answers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = get_settings()
    llm = get_llm(settings)
    results = {}
    if args.short:
        results["short"] = summary(timings("squad", "short", args.short, llm, settings))
    if args.long:
        results["long"] = summary(timings("docugami", "long", args.long, llm, settings))
    if args.json:
        print(json.dumps({"model": llm.name, **results}))
        return
    print(f"model {llm.name}, context {settings.context_tokens} tokens (long {settings.long_context_tokens})")
    keys = list(next(iter(results.values())))
    print("| | " + " | ".join(results) + " |\n|---|" + "---|" * len(results))
    for key in keys:
        print(f"| {key} | " + " | ".join(str(r[key]) for r in results.values()) + " |")


if __name__ == "__main__":
    main()
