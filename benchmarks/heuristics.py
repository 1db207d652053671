"""Record every question's signals once, with every refusal rule off, so that each heuristic and threshold
can be judged on all five dev sets offline (issue 25's table in docs/BENCHMARKS.md).

    .venv/bin/python benchmarks/heuristics.py record --out DIR                           # ~1 hour
    .venv/bin/python benchmarks/heuristics.py record --out DIR --forced                  # ~8 min
    .venv/bin/python benchmarks/heuristics.py record --out DIR --style short --only-long # ~8 min
    .venv/bin/python benchmarks/heuristics.py table DIR     # each rule's effect on each set
    .venv/bin/python benchmarks/heuristics.py sweep DIR     # refusal thresholds on the union of the sets

`record` answers each question with the refusal thresholds off and keeps, per question: the model's
P(NOT FOUND), the question's log-prob, its raw reply, whether the answer (or gold document) was in the context, F1 and groundedness. `--forced` answers again the
short questions the model refused, with NOT FOUND barred from the start; `--style short --only-long` the
questions the form rule makes long, as short answers. `table` and `sweep` replay the rules on those rows.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SETS = {"squad": 100, "cmu": 100, "hotpotqa": 100, "docugami": 40, "aragog": 40}


def record(args) -> None:
    from evals.datasets import load_dataset, sample
    from evals.grounded import groundedness
    from evals.metrics import answer_in, f1
    from evals.runner import COLLECTION, eval_settings, open_pipeline, strip_citations
    from rag.answer import AnswerService, steps
    from rag.answer.citations import cite
    from rag.llm import get_llm
    from rag.question import answer_style
    from rag.settings import get_settings

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.sets:
        dataset = load_dataset(name, None, workdir=Path(tempfile.gettempdir()))
        settings = get_settings().model_copy(update={"verify_threshold": 0.0, "cache": False, "answer_style": "auto"})
        retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
        service = AnswerService(retriever, get_llm(retriever.settings), retriever.settings)
        path = out / f"{name}-{'forced' if args.forced else args.style}{'-long' if args.only_long else ''}.jsonl"
        done = {json.loads(line)["question"] for line in path.open()} if path.exists() else set()
        refused = {r["question"] for r in load(out).get(name, []) if r["style"] == "short" and not r["unanswerable"]
                   and model_refuses(r["text"], "short", True)} if args.forced else set()
        with path.open("a") as f:
            for q in sample(dataset.questions, SETS[name]):
                auto = answer_style(q.question)
                if q.question in done or (args.only_long and auto != "long") or (args.forced and q.question not in refused):
                    continue
                plan = steps.plan(q.question, service.settings, auto if args.style == "auto" else args.style)
                context = steps.gather(retriever, plan, COLLECTION)
                texts = [p.text for p in context.passages]
                answer_hit = answer_in(texts, q.answers) if dataset.answer_kind == "short" and q.answers else None
                doc_hit = bool(dataset.gold_in(q, [p.source for p in context.passages])) if q.documents else None
                at = time.perf_counter()
                hesitation = steps.hesitate(service.refusal, plan, context)
                text = _reply(service, plan, context, barred=args.forced)  # forced: may not start with NOT FOUND
                cited = [context.passages[c.number - 1] for c in cite(text, context.passages)] or context.passages
                grounded = groundedness(text, cited, q.question, long=plan.long)
                row = {
                    "set": name, "question": q.question, "unanswerable": q.unanswerable, "auto": auto,
                    "style": plan.style, "answer_hit": answer_hit, "doc_hit": doc_hit, "best": round(context.best, 4),
                    "chance": hesitation.chance, "likelihood": hesitation.likelihood,
                    "text": text, "f1": f1(strip_citations(text), q.answers) if q.answers else None,
                    "facts": grounded.unsupported_facts, "sentences": grounded.sentences,
                    "unsupported_sentences": grounded.unsupported_sentences,
                    "seconds": round(time.perf_counter() - at, 2),
                }
                f.write(json.dumps(row) + "\n")
                f.flush()
        print(f"{name}: {path}", file=sys.stderr)


def _reply(service, plan, context, barred: bool) -> str:
    """The model's reply as written, before any refusal rule reads it."""
    from rag.answer.prompt import NOT_FOUND
    from rag.llm import without_loops

    tokens = service.settings.long_answer_tokens if plan.long else service.settings.max_answer_tokens
    pieces = service.llm.stream(context.prompt, tokens, avoid_start=NOT_FOUND if barred else None)
    return "".join(without_loops(pieces)).strip()


def load(folder: Path, style: str = "auto", only_long: bool = False) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for name in SETS:
        path = folder / f"{name}-{style}{'-long' if only_long else ''}.jsonl"
        if path.exists() and (read := [json.loads(line) for line in path.open()]):
            rows[name] = read
    return rows


def model_refuses(text: str, style: str, pattern: bool) -> bool:
    from rag.answer.refusal import _NOT_FOUND, RefusalPolicy, split_opening

    if pattern:
        return RefusalPolicy.refuses(text, style)
    head = split_opening(text)[0] if style == "long" else text
    return not head.strip() or bool(_NOT_FOUND.match(head))


def refused(row: dict, policy: dict) -> bool:
    threshold = policy["long"] if row["style"] == "long" else policy["short"]
    return bool(
        row["best"] < policy.get("min_relevance", 0.2)
        or (row["chance"] is not None and row["chance"] >= threshold)
        or (row["likelihood"] is not None and row["likelihood"] < policy["floor"])
        or model_refuses(row["text"], row["style"], policy.get("pattern", True))
    )


def figures(rows: list[dict], policy: dict) -> dict:
    answerable = [r for r in rows if not r["unanswerable"]]
    unanswerable = [r for r in rows if r["unanswerable"]]
    retrieved = [r for r in answerable if (r["answer_hit"] if r["answer_hit"] is not None else r["doc_hit"])]
    answered = [r for r in rows if not refused(r, policy)]

    def share(flags):
        flags = list(flags)
        return round(sum(flags) / len(flags), 3) if flags else None

    return {
        "f1": round(sum(0 if refused(r, policy) else (r["f1"] or 0) for r in answerable) / len(answerable), 3),
        "refusal_accuracy": share(refused(r, policy) for r in unanswerable),
        "false_refusals": share(refused(r, policy) for r in retrieved),
        "unsupported_facts": share(bool(r["facts"]) for r in answered),
    }


def barred(rows: list[dict], forced: list[dict]) -> list[dict]:
    """The rows as if a short answer could not start with NOT FOUND: the model's forced reply where it gave
    NOT FOUND (unanswerable questions: some answer, refused only by the thresholds)."""
    again = {r["question"]: r for r in forced}
    out = []
    for r in rows:
        if r["style"] == "short" and model_refuses(r["text"], "short", True):
            if r["unanswerable"]:
                r = {**r, "text": "(an answer)", "facts": []}
            elif r["question"] in again:
                r = {**r, **{k: again[r["question"]][k] for k in ("text", "f1", "facts")}}
        out.append(r)
    return out


def sweep(folder: Path) -> None:
    """Refusal thresholds on the union of the sets, with the model free to start with NOT FOUND or barred."""
    auto, forced = load(folder), load(folder, "forced")
    print("| NOT FOUND at the start | P(NOT FOUND) short | floor | union: refusal / answered when retrieved | "
          + " | ".join(f"{n} F1 / false refusals" for n in auto) + " | SQuAD refusal |")
    print("|---|---|---|---|" + "---|" * len(auto) + "---|")
    for bar in (False, True):
        for floor in (float("-inf"), -3.5, -3.3, -3.0):
            for short in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 2.0):
                policy = {**TODAY, "short": short, "floor": floor}
                sets = {n: barred(rows, forced.get(n, [])) if bar else rows for n, rows in auto.items()}
                union = [r for rows in sets.values() for r in rows]
                u = figures(union, policy)
                cells = [figures(rows, policy) for rows in sets.values()]
                print(f"| {'barred' if bar else 'allowed'} | {short} | {floor} | {u['refusal_accuracy']} / "
                      f"{1 - u['false_refusals']:.3f} | " + " | ".join(f"{c['f1']:.3f} / {c['false_refusals']}" for c in cells)
                      + f" | {cells[0]['refusal_accuracy']} |")


CURRENT = {"short": 0.3, "long": 0.8, "floor": -3.3, "pattern": True, "min_relevance": 0.2}  # before
TODAY = {**CURRENT, "short": 2.0}


def with_style(rows: list[dict], short: list[dict], long_if) -> list[dict]:
    """The rows as if `long_if(question)` chose the style: questions it makes short take their short row."""
    swapped = {r["question"]: r for r in short}
    return [r if r["auto"] == "short" or long_if(r["question"]) else swapped.get(r["question"], r) for r in rows]


def rules(folder: Path) -> list[tuple]:
    """(rule, policy with it, policy without it, rows for a set with / without) for every rule we keep or drop."""
    from rag.question import answer_style

    short = load(folder, "short", only_long=True)
    def same(name, rows):
        return rows, rows

    def form(rule):
        return lambda name, rows: (with_style(rows, short.get(name, []), rule),
                                   with_style(rows, short.get(name, []), lambda q: False))

    out = [
        ("question-form rule as recorded (21 forms) vs every question short", TODAY, TODAY, form(lambda q: True)),
        ("question-form rule today (rag/question.py) vs every question short", TODAY, TODAY,
         form(lambda q: answer_style(q) == "long")),
    ]
    out += [(label, {**TODAY, **on}, {**TODAY, **off}, same) for label, on, off in [
        ("refusal text pattern besides NOT FOUND", {}, {"pattern": False}),
        ("question log-prob floor -3.3", {}, {"floor": float("-inf")}),
        ("P(NOT FOUND) >= 0.3 refuses a short answer (before; off today)", {"short": 0.3}, {}),
        ("P(NOT FOUND) >= 0.5 refuses a short answer", {"short": 0.5}, {}),
        ("P(NOT FOUND) >= 0.8 refuses a long answer", {}, {"long": 2.0}),
        ("relevance gate: best cosine < 0.2 refuses", {}, {"min_relevance": 0.0}),
    ]]
    return out


def table(folder: Path) -> None:
    auto = load(folder)
    names = list(auto)
    print("| rule | " + " | ".join(f"{n} F1" for n in names) + " | SQuAD refusal | false refusals (worst set) |")
    print("|---|" + "---|" * (len(names) + 2))
    for label, on, off, rows_for in rules(folder):
        cells, refusal, worst = [], "", ""
        for name in names:
            with_rule, without = rows_for(name, auto[name])
            a, b = figures(with_rule, on), figures(without, off)
            cells.append(f"{100 * (a['f1'] - b['f1']):+.1f}")
            if name == "squad":
                refusal = f"{b['refusal_accuracy']:.2f} → {a['refusal_accuracy']:.2f}"
        fr_on = max(figures(rows_for(n, auto[n])[0], on)["false_refusals"] or 0 for n in names)
        fr_off = max(figures(rows_for(n, auto[n])[1], off)["false_refusals"] or 0 for n in names)
        worst = f"{fr_off:.2f} → {fr_on:.2f}"
        print(f"| {label} | " + " | ".join(cells) + f" | {refusal} | {worst} |")
    print()
    for label, policy in (("before", CURRENT), ("today", TODAY)):
        print(f"{label}: {policy}")
        for name in names:
            print(f"  {name:9} {figures(auto[name], policy)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", required=True)
    rec.add_argument("--sets", nargs="+", default=list(SETS))
    rec.add_argument("--style", choices=["auto", "short", "long"], default="auto")
    rec.add_argument("--only-long", action="store_true", help="only the questions auto makes long")
    rec.add_argument("--forced", action="store_true", help="the short answers the model refused, again with "
                     "NOT FOUND barred from the start")
    for command in ("table", "sweep"):
        sub.add_parser(command).add_argument("folder")
    args = parser.parse_args()
    if args.command == "record":
        record(args)
    elif args.command == "sweep":
        sweep(Path(args.folder))
    else:
        table(Path(args.folder))


if __name__ == "__main__":
    main()
