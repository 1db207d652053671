"""How often a question's passages were read for an earlier question (issue 35): the dev sets' questions
replayed in a seeded order through retrieval alone (the answers' context at today's defaults), each passage
counted as a hit when a kept reading of it would still be there: with no bound, and with a least-recently-used
bound of N passages (a passage's three readings, short, long and judge, take ~5.4 MB with qwen2.5-1.5b, so
RAG_PASSAGE_CACHE_MB=8000 holds about 1,500).

    .venv/bin/python benchmarks/passage_hits.py [--sets squad hotpotqa ...] [--limit N] [--bounds 200 1500]
"""

import argparse
import tempfile
from collections import OrderedDict
from pathlib import Path

from evals.datasets import load_dataset, sample
from evals.runner import COLLECTION, eval_settings, open_pipeline
from rag.answer import steps
from rag.settings import Settings

SETS = ["squad", "hotpotqa", "cmu", "docugami", "aragog"]


def contexts(name: str, limit: int | None) -> tuple[list[list[str]], int]:
    """Each question's passages (their texts), and the collection's chunks."""
    settings = Settings()
    dataset = load_dataset(name, None, workdir=Path(tempfile.gettempdir()))
    retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
    out = []
    for q in sample(dataset.questions, limit):
        context = steps.gather(retriever, steps.plan(q.question, retriever.settings), COLLECTION)
        out.append([p.text for p in context.passages])
    return out, retriever.lexical.count(COLLECTION)


def hit_rate(questions: list[list[str]], bound: int | None) -> float:
    kept: OrderedDict[str, None] = OrderedDict()
    hits = total = 0
    for passages in questions:
        for text in passages:
            total += 1
            if text in kept:
                hits += 1
                kept.move_to_end(text)
            else:
                kept[text] = None
                if bound is not None and len(kept) > bound:
                    kept.popitem(last=False)
    return hits / total if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of N questions (default: all)")
    parser.add_argument("--bounds", type=int, nargs="+", default=[200, 1500])
    args = parser.parse_args()
    print("| set | questions | chunks | distinct passages read | hit rate, no bound | "
          + " | ".join(f"hit rate, {b} kept" for b in args.bounds) + " |")
    print("|---" * (5 + len(args.bounds)) + "|")
    for name in args.sets:
        questions, chunks = contexts(name, args.limit)
        distinct = len({t for passages in questions for t in passages})
        rates = [hit_rate(questions, None)] + [hit_rate(questions, b) for b in args.bounds]
        print(f"| {name} | {len(questions)} | {chunks} | {distinct} | " + " | ".join(f"{r:.2f}" for r in rates) + " |",
              flush=True)


if __name__ == "__main__":
    main()
