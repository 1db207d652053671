"""Answer quality and time against the size of the context (issue 35, item 4): `rag eval` on each set at each
scale of today's context (RAG_CONTEXT_TOKENS, RAG_LONG_CONTEXT_TOKENS and RAG_TOP_K multiplied together), in
one run, one process per set and scale.

    .venv/bin/python benchmarks/context_size.py --limit 20 --scales 1 2 3 [--sets squad hotpotqa ...]

Extra environment (RAG_PASSAGE_CACHE_MB=..., say) passes through to every run.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ["squad", "hotpotqa", "cmu", "docugami", "aragog"]
FIELDS = ["answer_recall", "f1", "false_refusals", "refusal_accuracy", "answer_p50_s", "answer_p95_s",
          "first_token_p50_s", "context_chars_mean"]


def run(dataset: str, limit: int, scale: float) -> dict:
    from rag.settings import Settings

    base = Settings(_env_file=None)
    env = os.environ | {
        "RAG_CONTEXT_TOKENS": str(round(base.context_tokens * scale)),
        "RAG_LONG_CONTEXT_TOKENS": str(round(base.long_context_tokens * scale)),
        "RAG_TOP_K": str(round(base.top_k * scale)),
    }
    done = subprocess.run([str(ROOT / ".venv/bin/rag"), "eval", dataset, "--limit", str(limit), "--json"],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 2, 3])
    parser.add_argument("--sets", nargs="+", default=SETS)
    args = parser.parse_args()
    print("| set | scale | " + " | ".join(FIELDS) + " |")
    print("|---" * (len(FIELDS) + 2) + "|")
    for dataset in args.sets:
        for scale in args.scales:
            summary = run(dataset, args.limit, scale)
            print(f"| {dataset} | {scale:g}× | " + " | ".join(str(summary.get(f)) for f in FIELDS) + " |", flush=True)
            print(json.dumps({"dataset": dataset, "scale": scale, **summary}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
