"""Build the paraphrase set the answer cache's threshold is chosen on: pairs of questions that must hit
the same cached answer (paraphrases) and pairs that must not (near misses differing in one name, number
or negation). Questions are SQuAD v2 dev questions, a seeded sample.

  python -m evals.paraphrases --model qwen2.5-1.5b --out evals/data/paraphrases.jsonl

Paraphrases come two ways: rewritten by a bundled model (greedy; kept only when it kept every figure and
name and changed the wording), and the variants users type (lower case without the question mark, a
contraction, "Can you tell me ..."). Near misses are made by rule: a figure changed, a name swapped for
another name asked about in the same article, "not" added after the first auxiliary verb.
"""

import argparse
import json
import random
import re
from pathlib import Path

from rag.answer.cache import key_terms

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad_v2_dev" / "data" / "dev-v2.0.json"
_AUX = re.compile(r"\b(is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b")
REWRITE = ("Rewrite the question in other words, keeping its meaning, every name and every number. "
           "Reply with the rewritten question only.")


# Rewrites read one by one (2026-12-01) and judged to change the question's meaning; left out.
REJECTED = {
    "some debate that there is a correlation between capitalism, imperialism, and what?",
    "What does the inability to separate Islam from Islamism lead many in the West to support?",
    "Though Turabi proclaimed his support for the democratic process, he strictly applied what after coming into power?",
    "When was Warsaw completely razed to the ground by bombing raids?",
    "Along with wear, what development makes it difficult to seal the rotors in an engine that lacks pistons?",
    "What does the highest level of the Vistula plateau contain?",
    "How is the process of allocating seats repeated until all available seats have been determined?",
    "How do you determine the acceleration of a rope when two people are pulling it?",
    "How many people did Hamas kill between 2000 to 2007?",
    "What commission was censured in 1999, and paved the way for Commissioners to abuse their power?",
    "What other scientist influence Frank Burnet when he was formulating his theory of immunity?",
    "What was the ideal duty of a Newcomen engine?",
    "What was the average duty of a low-pressure Watt engine?",
    "In what districts are the registration numbers for cars all of the same type?",
    "What would create a conflict between a problem X and problem C within the context of reduction?",
    "When was the British Nationality Act passed?",
}


def squad_questions(seed: int = 7, count: int = 400) -> list[tuple[str, str]]:
    """(article title, question) for a seeded sample of answerable SQuAD dev questions."""
    data = json.loads(SQUAD.read_text())["data"]
    pool = [(a["title"], q["question"].strip()) for a in data for p in a["paragraphs"] for q in p["qas"]
            if not q.get("is_impossible") and len(q["question"]) > 20]
    return random.Random(seed).sample(pool, count)


def user_variant(question: str, n: int) -> str:
    q = question.rstrip("?").strip()
    if n == 0:
        return q.lower()
    if n == 1 and re.match(r"(?i)what is\b", q):
        return "What's" + q[7:] + "?"
    return f"Can you tell me {q[0].lower()}{q[1:]}?"


# Opposites: near misses no key term tells apart (the guard does not look for them); they show what the
# similarity threshold alone must keep out.
OPPOSITES = {"first": "last", "largest": "smallest", "most": "least", "before": "after", "highest": "lowest",
             "earliest": "latest", "start": "end", "began": "ended", "maximum": "minimum", "more": "less",
             "increase": "decrease", "north": "south", "east": "west", "early": "late", "win": "lose", "won": "lost"}


def opposite(question: str) -> str | None:
    for word, other in [*OPPOSITES.items(), *((b, a) for a, b in OPPOSITES.items())]:
        if re.search(rf"\b{word}\b", question):
            return re.sub(rf"\b{word}\b", other, question, count=1)
    return None


def near_miss(question: str, names_in_article: list[str], rng: random.Random) -> tuple[str, str] | None:
    figures = re.findall(r"\b\d+\b", question)
    if figures:
        f = rng.choice(figures)
        return re.sub(rf"\b{f}\b", str(int(f) + rng.choice([1, 2, 10])), question, count=1), "figure"
    names = [w for w in re.findall(r"\b[A-Z][a-z]{2,}\b", question)[1:]]
    others = [n for n in names_in_article if n not in question]
    if names and others:
        return re.sub(rf"\b{rng.choice(names)}\b", rng.choice(others), question, count=1), "name"
    if _AUX.search(question) and " not " not in question:
        return _AUX.sub(lambda m: f"{m.group()} not", question, count=1), "negation"
    return None


def rewrite(llm, question: str) -> str:
    from rag.llm import generate

    messages = [{"role": "system", "content": REWRITE}, {"role": "user", "content": question}]
    return generate(llm, messages, max_tokens=60, stop=["\n"]).strip().strip('"')


def build(llm, seed: int = 7, per_kind: int = 130) -> list[dict]:
    rng = random.Random(seed)
    questions = squad_questions(seed)
    names: dict[str, list[str]] = {}
    for title, q in questions:
        names.setdefault(title, []).extend(re.findall(r"\b[A-Z][a-z]{2,}\b", q)[1:])
    pairs = []
    for title, q in questions:  # near misses
        made = near_miss(q, names[title], rng)
        if made and sum(p["kind"] == "near_miss" for p in pairs) < per_kind:
            pairs.append({"a": q, "b": made[0], "kind": "near_miss", "how": made[1]})
    for _, q in questions:
        if (b := opposite(q)) is not None:
            pairs.append({"a": q, "b": b, "kind": "near_miss", "how": "opposite"})
    for i, (_, q) in enumerate(questions[: per_kind // 2]):  # what users type
        pairs.append({"a": q, "b": user_variant(q, i % 3), "kind": "paraphrase", "how": "user variant"})
    for _, q in questions[per_kind // 2 : per_kind // 2 + 80]:  # rewritten by the model; kept when faithful
        b = rewrite(llm, q)
        words_b = {w.lower() for w in re.findall(r"\w+", b)}
        faithful = key_terms(q) <= words_b and len(b) < 2 * len(q) and q not in REJECTED
        if b.endswith("?") and b.lower() != q.lower() and faithful:
            pairs.append({"a": q, "b": b, "kind": "paraphrase", "how": "rewritten"})
    return pairs


def main() -> None:
    from rag.llm.llamacpp import LlamaCppLLM
    from rag.models import resolve_model_path
    from rag.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--out", type=Path, default=Path("evals/data/paraphrases.jsonl"))
    args = parser.parse_args()
    llm = LlamaCppLLM(resolve_model_path(args.model, get_settings().models_dir), n_ctx=1024)
    pairs = build(llm)
    args.out.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    print(f"{args.out}: {sum(p['kind'] == 'paraphrase' for p in pairs)} paraphrases, "
          f"{sum(p['kind'] == 'near_miss' for p in pairs)} near misses")


if __name__ == "__main__":
    main()
