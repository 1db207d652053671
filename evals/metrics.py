"""Metric definitions as in shared/eval/README.md (SQuAD normalisation, recall@k, EM/F1, refusal)."""

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)
# Chinese and Japanese are written without spaces: each character is a token (XQuAD's F1 over characters), and
# their full-width punctuation is punctuation.
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_CJK_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")


def normalize(text: str) -> str:
    """SQuAD: lower-case, drop punctuation and the articles a/an/the, collapse white space; CJK characters one
    token each."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _CJK.sub(r" \1 ", _CJK_PUNCTUATION.sub(" ", text))
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, references: list[str]) -> float:
    return float(any(normalize(prediction) == normalize(r) for r in references))


def _f1(prediction: str, reference: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref:
        return float(pred == ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, references: list[str]) -> float:
    return max((_f1(prediction, r) for r in references), default=0.0)


def answer_in(texts: list[str], references: list[str]) -> bool:
    """A normalised gold answer occurs in the normalised text of the passages (answer-recall@k)."""
    haystack = " " + " ".join(normalize(t) for t in texts) + " "
    return any(f" {normalize(r)} " in haystack for r in references if normalize(r))


def first_hit_rank(hits: list[bool]) -> float:
    """Reciprocal rank of the first relevant passage, 0 when none is."""
    for rank, hit in enumerate(hits, start=1):
        if hit:
            return 1.0 / rank
    return 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def auc(positive: list[float], negative: list[float]) -> float | None:
    """Probability that a positive scores above a negative (ties count half): 0.5 is chance."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 4)
