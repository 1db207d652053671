"""Long answers' instructions and limits, judged by F1 and groundedness on the questions answered long
(issue 25): every variant answers the same questions in one run, so their figures compare on any machine.

    .venv/bin/python benchmarks/long_answers.py [--sets docugami aragog] [--limit 40] [--variants today before]

Variants: `today` (rag.answer.prompt.SYSTEM_LONG and the long_answer_tokens setting), `before` (the
instructions until 2026-12-01, which asked for figures but not that they be copied as the sources write
them), `short` (today's instructions with 128 answer tokens). Prints a JSON summary per set and variant (rag eval's figures on the
long questions of its sample); --out writes every answer.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.datasets import load_dataset, sample
from evals.runner import Result, eval_settings, open_pipeline, score
from rag.answer import AnswerService, answer_style, prompt
from rag.llm import get_llm
from rag.settings import get_settings

TODAY = prompt.SYSTEM_LONG
VARIANTS = {
    "today": (TODAY, None),
    # until 2026-12-01: figures asked for, not how
    "before": (TODAY.replace(
        "each figure copied exactly as the sources write it, with its period or date; "
        "do not add, subtract or compute figures of your own. ", "each figure with its period or date. "), None),
    "short": (TODAY, 128),
}
assert VARIANTS["before"][0] != TODAY, "SYSTEM_LONG changed: say what 'before' means against it"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", default=["docugami", "aragog"])
    parser.add_argument("--limit", type=int, default=40, help="questions sampled per set (the long ones are asked)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = get_settings().model_copy(update={"cache": False, "answer_style": "auto"})
    for name in args.sets:
        dataset = load_dataset(name, None, workdir=Path(tempfile.gettempdir()))
        retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
        questions = [q for q in sample(dataset.questions, args.limit) if answer_style(q.question) == "long"]
        for variant in args.variants:
            system, tokens = VARIANTS[variant]
            prompt.SYSTEM_LONG = system  # build_prompt reads it at each call
            run_settings = retriever.settings.model_copy(
                update={"long_answer_tokens": tokens or settings.long_answer_tokens})
            answers = AnswerService(retriever, get_llm(run_settings), run_settings)
            result = Result(name, {"variant": variant})
            for q in questions:
                result.rows.append(score(dataset, q, retriever, answers, None))
            keys = ("questions", "f1", "false_refusals", "unsupported_facts", "unsupported_sentences",
                    "answer_p50_s", "answer_p95_s")
            print(json.dumps({"set": name, "variant": variant, **{k: result.summary()[k] for k in keys}}), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    for row in result.rows:
                        f.write(json.dumps({"set": name, "variant": variant, "question": row.question,
                                            "answer": row.answer, "f1": row.f1,
                                            "unsupported_facts": row.unsupported_facts}) + "\n")
    prompt.SYSTEM_LONG = TODAY


if __name__ == "__main__":
    main()
