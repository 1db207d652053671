"""Which of the model's own signals tells an answer its passages state from one they do not? Records, for
seeded samples of the five dev sets and for docugami's long questions asked without their company's filings
(benchmarks/wrong_documents.py), every candidate signal on the same answers, then replays decisions:

- hesitation: P(NOT FOUND) before the model writes, and the question's mean log-prob after the sources
  (today's signals);
- judge: P(yes) of a yes/no judgement over the question, the proposed answer and only its cited passages
  (rag.answer.verify);
- gain: the answer's mean log-prob given its cited passages minus without any (and its lowest token's);
- confidence: the answer's mean log-prob as the model wrote it after all the passages.

The proposal is the model's best answer even where it would write NOT FOUND (its first token may not start
it). Long answers are also judged sentence by sentence. Rows are appended to --out as they are made; a
re-run skips those done, so it resumes.

    .venv/bin/python benchmarks/verifier.py record --out /tmp/verifier.jsonl --squad 80 --cmu 40 \\
        --hotpotqa 40 --docugami 20 --aragog 20 --wrong 30
    .venv/bin/python benchmarks/verifier.py replay /tmp/verifier.jsonl
"""

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.datasets import load_dataset, sample  # noqa: E402
from evals.grounded import groundedness  # noqa: E402
from evals.metrics import answer_in, f1  # noqa: E402
from evals.runner import COLLECTION, eval_settings, open_pipeline, strip_citations  # noqa: E402
from rag.answer import NOT_FOUND, answer_style, build_prompt, by_document, cite, context_size  # noqa: E402
from rag.text import MARKER, sentences  # noqa: E402
from rag.answer.prompt import SYSTEM, SYSTEM_LONG, build_sources  # noqa: E402
from rag.answer.refusal import RefusalPolicy, is_refusal  # noqa: E402
from rag.answer.verify import JUDGE, Verifier, judge_prompt  # noqa: E402
from rag.llm import get_llm, second_reader, without_loops  # noqa: E402
from rag.settings import get_settings  # noqa: E402


def _gain(llm, question, answer, cited, style) -> dict:
    text = strip_citations(answer)
    if not text:
        return {}
    with_ = llm.logprobs(build_prompt(question, cited, style) + [{"role": "assistant", "content": text}], text)
    system = SYSTEM_LONG if style == "long" else SYSTEM
    without = llm.logprobs([{"role": "system", "content": system}, {"role": "user", "content": f"Question: {question}"},
                            {"role": "assistant", "content": text}], text)
    if not with_ or not without:
        return {}
    return {"with_mean": sum(with_) / len(with_), "with_min": min(with_),
            "without_mean": sum(without) / len(without),
            "gain_mean": sum(with_) / len(with_) - sum(without) / len(without),
            "gain_min": min(a - b for a, b in zip(with_, without))}


def record_one(llm, retriever, settings, verifier, policy, q, dataset, document_ids=None) -> dict:
    style = answer_style(q.question, settings.answer_style)
    k, budget = context_size(settings, style)
    got = retriever.retrieve(q.question, COLLECTION, k, document_ids, budget, named=style == "long")
    passages = by_document(got.passages)
    row = {"dataset": dataset.name, "question": q.question, "unanswerable": q.unanswerable, "style": style,
           "answers": q.answers, "best": got.best_similarity, "passages": len(passages),
           "answer_hit": answer_in([p.text for p in passages], q.answers) if q.answers and dataset.answer_kind == "short"
           else None,
           "doc_hit": bool(dataset.gold_in(q, [p.source for p in passages])) if q.documents else None}
    if not passages or got.best_similarity < retriever.min_relevance:
        return {**row, "gated": True}
    prompt = build_prompt(q.question, passages, style)
    at = time.perf_counter()
    hesitation = policy.hesitation(prompt, q.question)
    row.update(chance=hesitation.chance, likelihood=hesitation.likelihood, read_s=time.perf_counter() - at)
    max_tokens = settings.long_answer_tokens if style == "long" else settings.max_answer_tokens
    at = time.perf_counter()
    natural = None
    if style != "long":
        natural = "".join(without_loops(llm.stream(prompt, max_tokens))).strip()
    proposal = natural
    if natural is None or is_refusal(natural):
        proposal = "".join(without_loops(llm.stream(prompt, max_tokens, avoid_start=NOT_FOUND))).strip()
    row.update(natural=natural, proposal=proposal, propose_s=time.perf_counter() - at)
    answer = llm.logprobs(prompt + [{"role": "assistant", "content": strip_citations(proposal)}],
                          strip_citations(proposal)) if strip_citations(proposal) else None
    row["confidence_mean"] = sum(answer) / len(answer) if answer else None
    row["confidence_min"] = min(answer) if answer else None
    cited_numbers = [c.number for c in cite(proposal, passages)]
    cited = [passages[n - 1] for n in cited_numbers]
    at = time.perf_counter()
    row["judge"] = verifier.score(q.question, proposal, cited)
    row["judge_s"] = time.perf_counter() - at
    at = time.perf_counter()
    row.update(_gain(llm, q.question, proposal, cited, style))
    row["gain_s"] = time.perf_counter() - at
    grounded = groundedness(proposal, cited, q.question, long=style == "long")
    row.update(cited=cited_numbers, unsupported_facts=grounded.unsupported_facts,
               f1=f1(strip_citations(proposal), q.answers) if q.answers else None,
               natural_f1=f1(strip_citations(natural), q.answers) if q.answers and natural is not None
               and not is_refusal(natural) else None)
    if style == "long":
        judged = []
        at = time.perf_counter()
        for sentence in sentences(proposal):
            marks = [int(n) for n in MARKER.findall(sentence) if 1 <= int(n) <= len(passages)]
            numbers = marks or [c.number for c in cite(sentence, passages)]
            own = [passages[n - 1] for n in numbers]
            g = groundedness(sentence, own, q.question, long=True)
            judged.append({"sentence": sentence, "judge": verifier.score(q.question, sentence, own),
                           "unsupported": bool(g.unsupported_sentences), "judged": bool(g.sentences)})
        row["sentences"] = judged
        row["sentences_s"] = time.perf_counter() - at
    return row


def record(args) -> None:
    settings = get_settings()
    done = set()
    if args.out.exists():
        done = {(r["dataset"], r["question"]) for r in map(json.loads, args.out.read_text().splitlines())}
    plans = [("squad", args.squad), ("cmu", args.cmu), ("hotpotqa", args.hotpotqa), ("docugami", args.docugami),
             ("aragog", args.aragog), ("wrong", args.wrong)]
    llm = None
    for name, limit in plans:
        if not limit:
            continue
        dataset = load_dataset("docugami" if name == "wrong" else name, workdir=Path(tempfile.gettempdir()))
        retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
        s = retriever.settings
        if llm is None:
            llm = get_llm(s)
            judge = second_reader(llm)
        verifier, policy = Verifier(judge, 0.5, s.min_support), RefusalPolicy(llm)
        questions = sample(dataset.questions, limit if name != "wrong" else 60)
        documents = None
        if name == "wrong":
            from rag.catalog import open_catalog

            documents = open_catalog(s).list(COLLECTION)
            questions = [q for q in questions if answer_style(q.question) == "long"][:limit]
        for q in questions:
            label = "wrong_documents" if name == "wrong" else dataset.name
            if (label, q.question) in done:
                continue
            ids = None
            if name == "wrong":
                companies = {t for doc in q.documents for t in re.findall(r"\b[A-Z]{3,5}\b", doc)}
                ids = [d.id for d in documents if not any(t in Path(d.source).name for t in companies)]
                q = type(q)(q.question, [], [], True)
            row = record_one(llm, retriever, s, verifier, policy, q, dataset, ids)
            row["dataset"] = label
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(label, round(row.get("judge") or -1, 3), (row.get("proposal") or "")[:80], file=sys.stderr)


VARIANTS = {
    # the question restated with the answer as one claim, sources without their places
    "claim": lambda q, a, cited, top=None, **_: [
        {"role": "system", "content": "You check claims against a source. Reply yes if the source states the claim, "
                                      "no if it does not."},
        {"role": "user", "content": f"Source:\n{build_sources(cited)}\n\nClaim: the answer to \"{q}\" is "
                                    f"\"{strip_citations(a)}\".\nDoes the source state this claim? Reply yes or no."}],
    # as rag.answer.verify, with the best-ranked passage too where the answer does not cite it (a second hop)
    "with_top": lambda q, a, cited, top=None, **_: judge_prompt(q, a, ([top] if top and top.id not in {c.id for c in cited}
                                                                  else []) + cited),
    # the answer's own prompt (all passages: its reading is cached), then the proposal as the user's turn
    "in_context": lambda q, a, cited, top=None, passages=(): build_prompt(q, list(passages)) + [
        {"role": "user", "content": f"Proposed answer: {strip_citations(a)}\nDo the sources state this answer to the "
                                    "question? Reply yes or no."}],
    # as rag.answer.verify, sources without their places
    "plain": lambda q, a, cited, top=None, **_: [
        {"role": "system", "content": JUDGE},
        {"role": "user", "content": f"Source:\n\n{build_sources(cited)}\n\nQuestion: {q}\n"
                                    f"Proposed answer: {strip_citations(a)}\n\n"
                                    "Does the source state this answer to the question? Reply yes or no."}],
}


def rescore(args) -> None:
    """Other judge prompts on recorded rows: the same retrieval, proposal and cited passages."""
    settings = get_settings()
    rows = [json.loads(line) for line in args.rows.read_text().splitlines()]
    judge = None
    for name in dict.fromkeys(r["dataset"] for r in rows):
        dataset = load_dataset("docugami" if name == "wrong_documents" else name, workdir=Path(tempfile.gettempdir()))
        retriever, _ = open_pipeline(eval_settings(settings, dataset), dataset)
        judge = judge or get_llm(retriever.settings)
        mine = [r for r in rows if r["dataset"] == name and not r.get("gated") and r.get("judge") is not None]
        for r in mine[: args.limit]:
            if r["style"] != "short":
                continue
            k, budget = context_size(retriever.settings, r["style"])
            # wrong_documents' rows were asked without their company's filings: not replayed here
            ranked = retriever.retrieve(r["question"], COLLECTION, k, None, budget).passages
            first = ranked[0] if ranked else None
            passages = by_document(ranked)
            if name == "wrong_documents" or len(passages) != r["passages"]:
                continue
            cited = [passages[n - 1] for n in r["cited"]]
            for variant in args.variant:
                extra = {"top": first} if variant == "with_top" else {}
                if variant == "in_context":
                    extra = {"passages": passages}
                prompt = VARIANTS[variant](r["question"], r["proposal"], cited, **extra)
                at = time.perf_counter()
                yes, no = judge.start_probability(prompt, "yes"), judge.start_probability(prompt, "no")
                r[f"judge_{variant}"] = yes / (yes + no) if yes + no > 0 else None
                r[f"judge_{variant}_s"] = time.perf_counter() - at
            print(json.dumps(r), file=sys.stdout, flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", type=Path, required=True)
    for name, default in [("squad", 80), ("cmu", 40), ("hotpotqa", 40), ("docugami", 20), ("aragog", 20),
                          ("wrong", 30)]:
        r.add_argument(f"--{name}", type=int, default=default)
    p = sub.add_parser("replay")
    p.add_argument("rows", type=Path)
    v = sub.add_parser("rescore", help="other judge prompts on recorded short answers; rows to stdout")
    v.add_argument("rows", type=Path)
    v.add_argument("--variant", action="append", choices=list(VARIANTS), required=True)
    v.add_argument("--limit", type=int, default=40, help="rows per set")
    args = parser.parse_args()
    if args.command == "record":
        record(args)
    elif args.command == "rescore":
        rescore(args)
    else:
        from benchmarks.verifier_replay import replay

        replay(args.rows)


if __name__ == "__main__":
    main()
