"""Replays benchmarks/verifier.py's records: each signal's separation (AUC) and the decisions its thresholds give."""

import json
from pathlib import Path

from evals.metrics import auc

SIGNALS = {  # name: (field, higher means supported)
    "support = P(yes) x (1 - P(NOT FOUND))": ("support", True),  # what rag.answer.verify decides on
    "judge P(yes)": ("judge", True),
    "judge, sources without places": ("judge_plain", True),
    "judge, as a claim": ("judge_claim", True),
    "judge, with the best passage": ("judge_with_top", True),
    "judge in the answer's prompt": ("judge_in_context", True),
    "hesitation P(NOT FOUND)": ("chance", False),
    "question log-prob": ("likelihood", True),
    "answer gain (mean)": ("gain_mean", True),
    "answer gain (min token)": ("gain_min", True),
    "answer log-prob with cited": ("with_mean", True),
    "confidence (mean)": ("confidence_mean", True),
    "confidence (min token)": ("confidence_min", True),
}
SHORT = ("squad", "cmu", "hotpotqa")


def retrieved(r: dict) -> bool:
    return bool(r["answer_hit"] if r.get("answer_hit") is not None else r.get("doc_hit"))


def should_answer(r: dict) -> bool | None:
    """True: answerable and in the context; False: unanswerable; None: neither (not retrieved)."""
    if r["unanswerable"]:
        return False
    return True if retrieved(r) else None


def decide(r: dict, threshold: float, field: str = "judge") -> bool:
    """Answered (True) or refused."""
    if r.get("gated") or r.get(field) is None:
        return False
    return r[field] >= threshold


def figures(rows: list[dict], answered) -> dict:
    out = {}
    for name in sorted({r["dataset"] for r in rows}):
        mine = [r for r in rows if r["dataset"] == name]
        ok = [r for r in mine if should_answer(r)]
        no = [r for r in mine if r["unanswerable"]]
        graded = [r for r in mine if not r["unanswerable"] and r.get("f1") is not None]
        given = [r for r in mine if answered(r)]
        out[name] = {
            "n": len(mine),
            "false_refusals": round(sum(not answered(r) for r in ok) / len(ok), 3) if ok else None,
            "refusal_accuracy": round(sum(not answered(r) for r in no) / len(no), 3) if no else None,
            "f1": round(sum(r["f1"] for r in graded if answered(r)) / len(graded), 3) if graded else None,
            "unsupported_facts": round(sum(bool(r.get("unsupported_facts")) for r in given) / len(given), 3)
            if given else None,
        }
    return out


def with_support(r: dict) -> dict:
    """The shipped score, where the row has both of its parts: a short answer's P(yes) x (1 - P(NOT FOUND)); a
    long one's is its first sentence's (rag.answer.checks: an unsupported first sentence refuses the answer)."""
    judge = r.get("judge")
    if r["style"] == "long" and r.get("sentences"):
        judge = next((s["judge"] for s in r["sentences"] if s.get("judge") is not None), None)
    if judge is not None and r.get("chance") is not None:
        return {**r, "support": judge * (1 - r["chance"])}
    return r


def replay(path: Path) -> None:
    rows = [with_support(json.loads(line)) for line in path.read_text().splitlines()]
    read = [r for r in rows if not r.get("gated")]
    print(f"{len(rows)} rows, {len(read)} read by the model")
    positive = [r for r in read if should_answer(r)]
    negative = [r for r in read if should_answer(r) is False]
    correct = [r for r in read if r.get("f1") is not None and r["f1"] >= 0.5]
    wrong = [r for r in read if r.get("f1") is not None and r["f1"] < 0.5 and retrieved(r)]
    print("\nAUC (answerable in context vs unanswerable | correct vs wrong answers, answer in context):")
    for name, (field, up) in SIGNALS.items():
        def values(group):
            return [(r[field] if up else -r[field]) for r in group if r.get(field) is not None]
        a, b = auc(values(positive), values(negative)), auc(values(correct), values(wrong))
        per = {d: auc(values([r for r in positive if r["dataset"] == d]), values([r for r in negative if r["dataset"] == d]))
               for d in ("squad", "wrong_documents")}
        print(f"  {name:28s} {a if a is None else round(a, 3)!s:>6} | {b if b is None else round(b, 3)!s:>6} | "
              + " ".join(f"{d} {v:.3f}" for d, v in per.items() if v is not None))
    print("\nThe model as it writes today (its own NOT FOUND refuses; long answers at P(NOT FOUND) >= 0.8):")
    print(json.dumps(figures(rows, _today), indent=None))
    for field in ("judge", "support"):
        for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            print(f"\n{field} >= {t}:")
            print(json.dumps(figures(rows, lambda r, t=t: decide(r, t, field))))
    _sentences(rows)
    _cost(rows)


def _today(r: dict) -> bool:
    if r.get("gated"):
        return False
    if r["style"] == "long":
        return (r.get("chance") or 0) < 0.8
    from rag.answer.refusal import is_refusal

    return r.get("natural") is not None and not is_refusal(r["natural"])


def _sentences(rows: list[dict]) -> None:
    judged = [s for r in rows for s in r.get("sentences") or [] if s["judged"] and s.get("judge") is not None]
    if not judged:
        return
    bad = [s["judge"] for s in judged if s["unsupported"]]
    good = [s["judge"] for s in judged if not s["unsupported"]]
    print(f"\nlong answers' sentences: {len(judged)} judged, {len(bad)} unsupported by the word check; "
          f"AUC of P(yes) against that check {auc(good, bad)}")
    for t in (0.2, 0.3, 0.5):
        kept = [s for s in judged if s["judge"] >= t]
        print(f"  kept at P(yes) >= {t}: {len(kept)} of {len(judged)}, unsupported among kept "
              f"{sum(s['unsupported'] for s in kept) / max(1, len(kept)):.3f}")


def _cost(rows: list[dict]) -> None:
    for style in ("short", "long"):
        mine = [r for r in rows if r["style"] == style and not r.get("gated")]
        if not mine:
            continue
        answer = sum(r["read_s"] + r["propose_s"] for r in mine) / len(mine)
        judge = sum(r["judge_s"] for r in mine) / len(mine)
        sentences = sum(r.get("sentences_s", 0) for r in mine) / len(mine)
        print(f"\n{style}: answer {answer:.2f} s (read + propose), judge +{judge:.2f} s ({judge / answer:.0%}), "
              f"sentences +{sentences:.2f} s ({sentences / answer:.0%}), gain +"
              f"{sum(r['gain_s'] for r in mine) / len(mine):.2f} s")
