"""Does a passage state this answer to this question? Asked of the local model over the question, the proposed
answer and only the passages it cites, and read from its own probabilities: P(yes) against P(no) of its
first word. A fresh prompt without the other passages: asked in the conversation that wrote the answer, the
model says yes to its own answers (AUC 0.60, docs/tuning-log.md).

A backend that cannot read its probabilities gets the check on the answer's own text
(rag.answer.grounding): its figures and names must be in the cited passages.
"""

from dataclasses import dataclass

from rag.answer import grounding
from rag.text import MARKER
from rag.answer.prompt import build_sources
from rag.chunks import Chunk
from rag.errors import ContextTooLong
from rag.llm import LLM, Messages, scorer

SOURCE = "Source:"  # what the passages follow in the judgement's prompt
JUDGE = (
    "You check answers against sources. Given a source, a question and a proposed answer, reply yes if the "
    "source states that answer to that question, and no otherwise."
)


def judge_prompt(question: str, answer: str, passages: list[Chunk]) -> Messages:
    return [
        {"role": "system", "content": JUDGE},
        {"role": "user", "content": f"{SOURCE}\n\n{build_sources(passages, 'long')}\n\nQuestion: {question}\n"
                                    f"Proposed answer: {MARKER.sub('', answer).strip()}\n\n"
                                    "Does the source state this answer to the question? Reply yes or no."},
    ]


@dataclass(frozen=True)
class Verdict:
    supported: bool
    score: float | None  # P(yes) / (P(yes) + P(no)); None where the backend cannot tell
    detail: str


class Verifier:
    def __init__(self, llm: LLM, threshold: float, min_support: float):
        self.scorer = scorer(llm)
        self.threshold = threshold
        self.min_support = min_support

    def score(self, question: str, answer: str, passages: list[Chunk]) -> float | None:
        if self.scorer is None or not passages:
            return None
        prompt = judge_prompt(question, answer, passages)
        if callable(prefill := getattr(self.scorer, "prefill", None)):  # the passages' kept readings (issue 35)
            prefill(prompt, [(p.collection, p.text) for p in passages], SOURCE)
        try:
            yes = self.scorer.start_probability(prompt, "yes")
            no = self.scorer.start_probability(prompt, "no")
        except ContextTooLong:  # passages too long to read again: the check on the answer's text decides
            return None
        if yes is None or no is None or yes + no <= 0:
            return None
        return yes / (yes + no)

    def verify(self, question: str, answer: str, passages: list[Chunk], hesitation: float | None = None) -> Verdict:
        """`hesitation`: the model's P(NOT FOUND) before it wrote, for an answer's first claim. The support is
        then P(yes) × (1 − P(NOT FOUND)): that the passages hold an answer, and state this one."""
        score = self.score(question, answer, passages)
        if score is None:
            found = grounding.check(answer, passages, question)
            return Verdict(found.ok(self.min_support), None, found.detail())
        how = f"P(yes) {score:.2f}"
        if hesitation is not None:
            how += f" × (1 − P(NOT FOUND) {hesitation:.2f})"
            score *= 1 - hesitation
        supported = score >= self.threshold
        sign = ">=" if supported else "<"
        return Verdict(supported, score, f"support {score:.2f} = {how} {sign} {self.threshold:.2f}")
