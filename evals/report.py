"""Show results: a terminal table, JSON, and a Markdown report with a PNG chart."""

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

QUALITY = ["answer_recall", "doc_recall", "all_docs_recall", "mrr", "f1", "refusal_accuracy", "answered_when_retrieved",
           "false_refusals", "unsupported_facts", "unsupported_sentences", "support_auc"]
LATENCY = ["retrieval_p50_s", "answer_p50_s", "answer_p95_s"]
COLUMNS = ["dataset", "model", "k", "questions", *QUALITY, "em", "context_chars_max", "retrieval_p95_s",
           "first_token_p50_s", "verify_share", *LATENCY[1:]]


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _label(summary: dict, sep: str = " ") -> str:
    return f"{summary['dataset']}{sep}{summary.get('model') or 'retrieval'} k={summary.get('k')}"


def table(summaries: list[dict]):
    """A metric per row and a configuration per column: it fits a terminal (or a log) of any width."""
    from rich.table import Table

    t = Table("", *(_label(s) for s in summaries))
    for c in COLUMNS[3:]:  # dataset, model and k are in the column's label
        if any(c in s for s in summaries):
            t.add_row(c, *(_cell(s.get(c)) for s in summaries))
    return t


def write_report(results, out: Path, command: str) -> tuple[Path, Path]:
    """report.md, chart.png, results.json (summaries) and rows.jsonl (every question's outcome)."""
    summaries = [r.summary() for r in results]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rows.jsonl", "w") as f:
        for result in results:
            for row in result.rows:
                f.write(json.dumps({"dataset": result.dataset, **result.config, **asdict(row)}) + "\n")
    chart = out / "chart.png"
    _chart(summaries, chart)
    columns = [c for c in COLUMNS if any(c in s for s in summaries)]
    interrupted = [f"Interrupted: the figures for {_label(s)} cover only the questions done before (questions: "
                   f"{s['questions']})." for s in summaries if s.get("interrupted")]
    lines = [
        f"# rag eval: {', '.join(sorted({s['dataset'] for s in summaries}))}",
        "",
        f"Date: {date.today().isoformat()}. Command: `{command}`",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(_cell(s.get(c)) for c in columns) + " |" for s in summaries),
        "",
        *([*interrupted, ""] if interrupted else []),
        "![quality and latency](chart.png)",
        "",
        "Metrics as defined in shared/eval/README.md; `answered_when_retrieved` is the share of answerable",
        "questions whose answer was in the context that the model did answer (not refuse).",
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(summaries, indent=2))
    return report, chart


def _chart(summaries: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [_label(s, "\n") for s in summaries]
    quality = [m for m in QUALITY if any(s.get(m) is not None for s in summaries)]
    latency = [m for m in LATENCY if any(s.get(m) is not None for s in summaries)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(len(summaries), 1)
    for i, (s, label) in enumerate(zip(summaries, labels)):
        left.bar([x + i * width for x in range(len(quality))], [s.get(m) or 0 for m in quality], width, label=label)
        right.bar([x + i * width for x in range(len(latency))], [s.get(m) or 0 for m in latency], width, label=label)
    left.set_xticks([x + width * (len(summaries) - 1) / 2 for x in range(len(quality))], quality, rotation=20)
    right.set_xticks([x + width * (len(summaries) - 1) / 2 for x in range(len(latency))], latency, rotation=20)
    left.set_ylim(0, 1)
    left.set_title("quality (higher is better)")
    right.set_title("latency, seconds (lower is better)")
    left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
