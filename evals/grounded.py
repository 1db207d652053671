"""Is a generated answer grounded in the passages it cites? Two figures per answer, for `rag eval`:

- unsupported facts: a figure, date or name in the answer that none of its cited passages (nor the
  question) contains — rag.answer.grounding's check, the one escalation uses;
- unsupported sentences (long answers): a sentence of the answer is unsupported when it holds such a fact,
  or when fewer than half of its content words (words of 3+ letters, and figures) occur in the cited
  passages. Sentences of fewer than 3 content words are not judged ("Yes.", a date).

Neither needs a model or an English word list; both miss a wrong span copied from the right passage.
"""

from dataclasses import dataclass

from rag.text import MARKER, WORD as _WORD, sentences
from rag.answer.grounding import check
from rag.chunks import Chunk

MIN_SENTENCE_SUPPORT = 0.5


@dataclass
class Groundedness:
    unsupported_facts: list[str]
    sentences: int  # judged sentences (long answers)
    unsupported_sentences: int


def groundedness(answer: str, cited: list[Chunk], question: str = "", long: bool = False) -> Groundedness:
    facts = check(answer, cited, question).unsupported
    if not long:
        return Groundedness(facts, 0, 0)
    known = set(_WORD.findall(" ".join(p.text for p in cited).lower() + " " + question.lower()))
    judged = unsupported = 0
    for sentence in sentences(MARKER.sub(" ", answer)):
        said = [w for w in _WORD.findall(sentence.lower()) if len(w) >= 3 or w.isdigit()]
        if len(said) < 3:
            continue
        judged += 1
        share = sum(w in known for w in said) / len(said)
        if share < MIN_SENTENCE_SUPPORT or check(sentence, cited, question).unsupported:
            unsupported += 1
    return Groundedness(facts, judged, unsupported)
