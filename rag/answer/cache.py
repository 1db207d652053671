"""Answers cached by (collection, the collection's version, the kind of answer: its style and the models
and settings that made it, the standalone question's embedding). Any add, replace or delete bumps a collection's version, so nothing stale is served; nothing
is shared across collections.

A near-miss question ("... in 1990?" against "... in 1991?", another name, an added "not") embeds almost
like the one cached, closer than many true paraphrases do. So besides the similarity threshold, a hit must
have the same key terms (every figure, capitalised name and negation of either question occurs in the
other), and must not be the other question with one word or two changed: one word swapped for its
opposite ("first"/"last") embeds as close as a paraphrase does, and only the form of the change tells. The threshold and the guard were chosen on evals/paraphrases (docs/BENCHMARKS.md).
"""

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from rag.catalog import AnswerRecords
from rag.text import NEGATIONS, names

_WORD = re.compile(r"\w+(?:['’]\w+)?", re.UNICODE)


def key_terms(question: str) -> set[str]:
    """Figures, names (rag.text.names) and negations: what one word changes the answer of."""
    words = _WORD.findall(question)
    terms = {w.lower() for w in words if any(c.isdigit() for c in w)}
    terms |= {part.lower() for name in names(question) for part in _WORD.findall(name) if part[0].isupper()}
    terms |= {w.lower() for w in words if w.lower() in NEGATIONS or w.lower().endswith("n't")}
    return terms


def _forms(words: list[str]) -> set[str]:
    """The words, and each without its possessive: a name is asked about as Apple or as Apple's."""
    return set(words) | {re.sub(r"['’]s$", "", w) for w in words}


def one_change(a: list[str], b: list[str]) -> bool:
    """The same words but for one word or two swapped, added or dropped: someone changed one thing on
    purpose ("first" for "last", "unpaid" for "paid"). Another form of the same word (its first three
    letters kept: "day"/"days", "what is"/"what's") is not a change."""
    changes = [op for op in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes() if op[0] != "equal"]
    if len(changes) != 1:
        return False
    kind, i1, i2, j1, j2 = changes[0]
    old, new = a[i1:i2], b[j1:j2]
    if kind == "replace" and old[0][:3] == new[0][:3] and len(old[0]) >= 3 and len(new[0]) >= 3:
        return False
    return max(len(old), len(new)) <= 2


def same_terms(a: str, b: str) -> bool:
    """Whether two similar questions may share an answer: the same key terms, and not one change apart."""
    words_a, words_b = [w.lower() for w in _WORD.findall(a)], [w.lower() for w in _WORD.findall(b)]
    if not (key_terms(a) <= _forms(words_b) and key_terms(b) <= _forms(words_a)):
        return False
    return words_a == words_b or not one_change(words_a, words_b)


@dataclass
class Hit:
    question: str
    similarity: float
    answer: dict
    cost: int  # large-model tokens the answer would have cost


class AnswerCache:
    def __init__(self, catalog: AnswerRecords, threshold: float, size: int = 1000):
        self.catalog = catalog
        self.threshold = threshold
        self.size = size

    def version(self, collection: str) -> int:
        return self.catalog.version(collection)

    def lookup(self, collection: str, version: int, kind: str, question: str, vector) -> Hit | None:
        rows = self.catalog.cached_answers(collection, version, kind, self.size)
        if not rows:
            return None
        vectors = np.stack([np.frombuffer(r.vector, dtype=np.float32) for r in rows])
        scores = vectors @ np.asarray(vector, dtype=np.float32)
        for i in np.argsort(-scores):
            if scores[i] < self.threshold:
                return None
            if same_terms(question, rows[i].question):
                return Hit(rows[i].question, float(scores[i]), json.loads(rows[i].answer), rows[i].cost)
        return None

    def store(self, collection: str, version: int, kind: str, question: str, vector, answer: dict, cost: int) -> None:
        self.catalog.cache_answer(collection, version, kind, question, np.asarray(vector, dtype=np.float32).tobytes(),
                                  json.dumps(answer), cost, self.size)
