"""When an answer is a refusal: before the model writes (its own hesitation, the question's likelihood)
and after (what it wrote).

Policy without scoring: a backend that cannot read its own probabilities (most OpenAI-compatible servers
report no prompt log-probabilities; some report none at all) is never refused before it writes. Then only
the retrieval gate (nothing relevant) and the model's own reply ("NOT FOUND", or a sentence saying the
sources do not answer) refuse, so such backends refuse less often than the in-process model.
"""

import re
from dataclasses import dataclass

from rag.answer.prompt import NOT_FOUND
from rag.llm import LLM, scorer

REFUSAL = "The documents do not contain an answer to this question."

# "NO FOUND" too: NOT FOUND written around the ban on its first token (rag.answer.steps.propose)
_NOT_FOUND = re.compile(r"^\W*not?[\s_]+found\b", re.IGNORECASE)
# A refusal speaks about the sources or about the one answering, not about the world: "The plan does not
# include dental coverage [2]" is an answer, "The sources do not mention dental coverage" is not.
_SOURCES = r"(?:sources?|documents?|context|passages?|texts?|information|data|excerpts?)"
_REFUSAL = re.compile(
    rf"\b{_SOURCES}\b(?: \w+){{0,3}} (?:do|does|did|is|are|was|were|can|could)(?: not|n't)"
    r" (?:\w+ ){0,2}(?:contain|include|mention|provide|say|state|specify|answer|give|have|address|cover|tell)"
    rf"|\b(?:no|not enough|insufficient) (?:information|mention|details?|answer)\b(?: \w+){{0,6}} (?:in|from) the {_SOURCES}"
    rf"|^\W*(?:there is |there's )?no (?:information|mention|answer)\b"
    r"|\b(?:I|we) (?:do not|don't|cannot|can't|am unable to|are unable to) (?:know|answer|find|determine|tell)\b"
    r"|\bunanswerable\b|\bnot enough information\b|\bcannot be (?:answered|determined)\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """The reply says the sources do not answer: empty, NOT FOUND, or a sentence about the sources or the
    answerer not knowing. A negative statement about the world ("No dental coverage [2]") is an answer."""
    text = text.strip()
    return not text or bool(_NOT_FOUND.match(text) or _REFUSAL.search(text))


def split_opening(text: str) -> tuple[str, bool]:
    """The first sentence, and whether it is complete (something follows it)."""
    parts = re.split(r"(?<=[.!?])\s+|\n", text.strip(), maxsplit=1)
    return parts[0], len(parts) == 2


def opening(text: str) -> str | None:
    """The first sentence once it is complete, else None: what a long answer's refusal is read from."""
    first, complete = split_opening(text)
    return first if complete else None


@dataclass(frozen=True)
class Hesitation:
    """What the model's own signals said before it wrote (rag.answer.verify folds the first into an answer's
    support)."""

    chance: float | None = None  # P(the reply starts with NOT FOUND)
    likelihood: float | None = None  # mean log-prob of the question's words after the sources (reported)


class RefusalPolicy:
    def __init__(self, llm: LLM):
        self.scorer = scorer(llm)

    def hesitation(self, prompt, question: str) -> Hesitation:
        """Read from the model's reading of the prompt, which the proposal then finds cached. The question's
        likelihood no longer refuses by itself: on SQuAD the support (verifier × hesitation) refused as many
        unanswerable questions with fewer false refusals (docs/BENCHMARKS.md)."""
        if self.scorer is None:
            return Hesitation()
        # Read first: it evaluates the whole prompt, which start_probability then finds cached.
        likelihood = self.scorer.mean_logprob(prompt, question)
        return Hesitation(self.scorer.start_probability(prompt, NOT_FOUND), likelihood)

    @staticmethod
    def refuses(text: str, style: str) -> bool:
        """A long answer may end on what the sources leave out: only its opening sentence can refuse."""
        if style != "long":
            return is_refusal(text)
        return is_refusal(split_opening(text)[0])
