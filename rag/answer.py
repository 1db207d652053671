"""Grounded answers: retrieve, prompt with numbered sources, cite, and refuse when unsupported."""

import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.chunks import Chunk
from rag.llm import LLM, generate, without_loops
from rag.models import question_logprob_floor
from rag.retrieval import Retriever

REFUSAL = "The documents do not contain an answer to this question."
NOT_FOUND = "NOT FOUND"

# Small models answer best when asked for a short extractive answer and nothing else; the sources it used
# are found afterwards (markers it writes are honoured, missing ones are added). Questions that ask for an
# explanation, a comparison or a change over time get a few sentences instead, and are refused only when the
# sources say nothing about them: a phrase cannot answer them, and sources rarely answer them completely.
SYSTEM = (
    "You answer questions using only the numbered sources the user gives you. "
    "Reply with the answer only: the shortest phrase from the sources that answers the question. "
    f"If the sources do not contain the answer, reply exactly: {NOT_FOUND}"
)
SYSTEM_LONG = (
    "You answer questions using only the numbered sources the user gives you. "
    "Reply in three to five sentences with the facts and figures from the sources that answer the question, "
    "each figure with its period or date. "
    f"If the sources say nothing about the question, reply exactly: {NOT_FOUND}"
)
_AUX = r"(?:has|have|had|do|does|did|is|are|was|were|can|could|might|may|would|should|will)"
_CHANGE = r"(?:changes?|changed|shifts?|shifted|trends?|fluctuat\w*|alterations?|movements|patterns)"
_OPEN_QUESTION = re.compile(
    # instructions, and why / how-did questions, also after a leading clause ("In the 2023 report, compare ...")
    r"(?:^|[,;:]\s)\W*(?:why|describe|explain|summari[sz]e|outline|discuss|compare|contrast|elaborate|analy[sz]e|"
    rf"assess|evaluate|examine|list|identify|correlate|combine|align)\b|(?:^|[,;:]\s)\W*how {_AUX}\b|\bhow might\b"
    # changes, trends, effects, causes and connections
    r"|\b(?:how|in what ways?) (?:\S+ ){0,10}?(?:changed?|evolved?|compared?|compares|relates?|correlates?|"
    r"affect(?:ed|s)?|impact(?:ed|s)?|differ)\b"
    r"|\b(?:changed?|evolved?|shifted|trended) over\b|\bover time\b|\btrends?\b"
    r"|\b(?:relationship|correlation|connection) between\b"
    rf"|\bany (?:\w+ ){{0,2}}{_CHANGE}\b|\bany (?:significant|notable|major|substantial|considerable)\b"
    r"|\bwhat (?:\w+ ){0,2}(?:changes|shifts|trends|patterns)\b"
    r"|\b(?:what|which) (?:is|are|was|were|has been|have been) the (?:\w+ )?(?:impact|effects?|implications?|role|"
    r"factors|drivers|reasons|causes|consequences)\b"
    r"|\b(?:what|which) (?:\w+ )?(?:role|factors|drivers|reasons|implications|relationship|insights|details|effects|"
    r"impacts|consequences)\b|\bthe (?:main|primary|key|principal) (?:driver|reason|cause)\b"
    r"|\bwhat do (?:\S+ ){1,10}(?:suggest|indicate|imply|say)\b"
    r"|^\W*what (?:are|were) the (?:main|key|principal|major|primary) \w+s\b"
    # several asks in one question, or one per item
    r"|,? and (?:what|how|why|which) \w|\?.+\?|\bif so\b|\bfor each\b|\bbreakdown\b",
    re.IGNORECASE,
)
REWRITE = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation. Reply with the question only."
)
_REFUSAL_PATTERNS = re.compile(
    r"not found|not (?:contain|include|mention|provide|say|state|specif)|no (?:information|mention|answer)|"
    r"(?:do not|don't|cannot|can't|unable to) (?:know|answer|find|determine)|unanswerable|not enough information",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\[(\d+)\]")
# Text of no interest: what read_time and benchmarks/llm_speed.py time the model reading.
FILLER = "The committee met in the spring and again in the autumn to review the accounts of the society. "


@dataclass
class Citation:
    number: int
    document_id: str
    source: str
    name: str
    page: int | None
    headings: str
    excerpt: str


@dataclass
class Answer:
    answer: str
    refused: bool
    citations: list[Citation]
    question: str  # the standalone question used for retrieval
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    style: str = "short"  # short: a phrase; long: a few sentences
    refusal_probability: float | None = None  # the model's own chance of starting with NOT FOUND
    question_logprob: float | None = None  # how expected the question's words are after the sources

    def to_dict(self) -> dict:
        return asdict(self)


def is_refusal(text: str) -> bool:
    return not text.strip() or bool(_REFUSAL_PATTERNS.search(text))


def answer_style(question: str, style: str = "auto") -> str:
    """short (a phrase) or long (a few sentences); auto picks long for questions a phrase cannot answer: why
    and how-did questions, instructions (describe, compare...), changes, trends, effects and their causes,
    several asks at once. It goes by the question's form only."""
    if style != "auto":
        return style
    return "long" if _OPEN_QUESTION.search(question) else "short"


def context_size(settings, style: str, top_k: int | None = None) -> tuple[int, int]:
    """Passages and token budget of the context: long answers draw on more of the sources."""
    if style != "long":
        return top_k or settings.top_k, settings.context_tokens
    scaled = round(settings.top_k * settings.long_context_tokens / settings.context_tokens)
    return top_k or scaled, settings.long_context_tokens


def by_document(passages: list[Chunk]) -> list[Chunk]:
    """Each document's passages side by side (best first), documents in the order of their best passage."""
    order = {d: n for n, d in enumerate(dict.fromkeys(p.document_id for p in passages))}
    return sorted(passages, key=lambda p: order[p.document_id])


def build_prompt(question: str, passages: list[Chunk], style: str = "short") -> list[dict[str, str]]:
    """Numbered passages under their document's name, written once per run of passages from one document:
    every prompt token costs reading time. For short answers a passage's page and headings are written only
    where they change; long answers, which name the period or section of each fact, answered worse so.
    A passage with no place (text before a document's first heading) after one with a place starts its
    document's block again, so that it does not read as sharing that place."""
    blocks: list[list[str]] = []
    last = ""
    for i, p in enumerate(passages, start=1):
        where = ", ".join(filter(None, [f"page {p.page}" if p.page else "", p.headings]))
        if i == 1 or p.document_id != passages[i - 2].document_id or (last and not where):
            blocks.append([f"Document: {Path(p.source).stem}"])
            last = ""
        shown = where if where != last or style == "long" else ""
        blocks[-1].append(f"[{i}] {f'({shown}) ' if shown else ''}{p.text.strip()}")
        last = where
    sources = "\n\n".join("\n".join(block) for block in blocks)
    return [
        {"role": "system", "content": SYSTEM_LONG if style == "long" else SYSTEM},
        {"role": "user", "content": f"Sources:\n\n{sources}\n\nQuestion: {question}"},
    ]


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def supporting_excerpt(answer: str, passage: Chunk, limit: int = 300) -> str:
    """The sentence of the passage that shares the most words with the answer."""
    words = set(re.findall(r"\w+", answer.lower()))
    best = max(_sentences(passage.text) or [passage.text], key=lambda s: len(words & set(re.findall(r"\w+", s.lower()))))
    return best[:limit]


def cite(answer: str, passages: list[Chunk]) -> list[Citation]:
    numbers = [int(n) for n in _CITATION.findall(answer) if 1 <= int(n) <= len(passages)]
    if not numbers and passages:  # the model answered without a marker: credit the passage it drew on
        words = set(re.findall(r"\w+", answer.lower()))
        overlap = [len(words & set(re.findall(r"\w+", p.text.lower()))) for p in passages]
        numbers = [overlap.index(max(overlap)) + 1]
    citations = []
    for n in dict.fromkeys(numbers):
        p = passages[n - 1]
        citations.append(Citation(n, p.document_id, p.source, Path(p.source).name, p.page, p.headings,
                                  supporting_excerpt(answer, p)))
    return citations


class AnswerService:
    def __init__(self, retriever: Retriever, llm: LLM, settings):
        self.retriever = retriever
        self.llm = llm
        self.settings = settings
        self.min_question_logprob = question_logprob_floor(settings, llm.name)

    def warm_up(self) -> None:
        """Load both models and read the fixed instructions into the model's cache, so the first question
        is as fast as the rest."""
        self.retriever.embedder.embed(["warm-up"])
        self.llm.start_probability(build_prompt("", []), NOT_FOUND)

    def read_time(self) -> tuple[int, float]:
        """Tokens in the largest context a short answer gets, and the seconds the model takes to read one:
        what such an answer spends before its first word, which depends mostly on the CPU."""
        s = self.settings
        tokens = min(s.context_tokens, s.top_k * s.chunk_tokens)
        text = FILLER * max(1, tokens // self.retriever.embedder.count_tokens(FILLER))
        filler = Chunk("warm-up", "warm-up", "warm-up", "warm-up.txt", text, 0, 0, len(text))
        at = time.perf_counter()
        self.llm.start_probability(build_prompt("When did the committee meet?", [filler]), NOT_FOUND)
        return tokens, time.perf_counter() - at

    def standalone_question(self, messages: list[dict[str, str]]) -> str:
        question = messages[-1]["content"]
        history = [m for m in messages[:-1] if m["role"] in ("user", "assistant")]
        if not history:
            return question
        turns = "\n".join(f"{m['role']}: {m['content']}" for m in history[-6:])
        rewritten = generate(
            self.llm,
            [{"role": "system", "content": REWRITE},
             {"role": "user", "content": f"Conversation:\n{turns}\n\nLast question: {question}"}],
            max_tokens=64, stop=["\n"],
        ).strip()
        return rewritten or question

    def stream(
        self, messages: list[dict[str, str]], collection: str, top_k: int | None = None,
        document_ids: list[str] | None = None, style: str | None = None,
    ) -> Iterator[dict]:
        """Events: {"type": "token", "text"} ... then {"type": "done", **Answer}."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = self.standalone_question(messages)
        if question != messages[-1]["content"]:
            timings["rewrite_s"] = round(time.perf_counter() - started, 3)
        style = answer_style(question, style or self.settings.answer_style)
        long = style == "long"
        at = time.perf_counter()
        k, budget = context_size(self.settings, style, top_k)
        retrieved = self.retriever.retrieve(question, collection, k, document_ids, budget, named=long)
        timings["retrieval_s"] = round(time.perf_counter() - at, 3)
        passages = by_document(retrieved.passages)
        # Refused without the model: nothing relevant; or, for a long answer (which the model refuses only
        # when it is sure), documents that do not name what the question names: asked about one company with
        # only another's reports, it would describe the other. That refusal says which names: one may be
        # misspelt.
        relevant = bool(passages) and retrieved.best_similarity >= self.settings.min_relevance
        missing = self.retriever.unmentioned(question, passages) if relevant and long else []
        if not relevant or missing:
            text = f"The documents do not mention {_either(missing)}." if missing else REFUSAL
            timings["total_s"] = round(time.perf_counter() - started, 3)
            yield {"type": "token", "text": text}
            yield {"type": "done", **Answer(text, True, [], question, timings, self.llm.name, style).to_dict()}
            return
        at = time.perf_counter()
        prompt = build_prompt(question, passages, style)
        # Read first: it evaluates the whole prompt, which start_probability then finds cached.
        likelihood = self.llm.mean_logprob(prompt, question) if self.min_question_logprob is not None else None
        chance = self.llm.start_probability(prompt, NOT_FOUND)
        threshold = self.settings.long_refusal_threshold if long else self.settings.refusal_threshold
        if (chance is not None and chance >= threshold) or (
            likelihood is not None and likelihood < self.min_question_logprob
        ):
            # Small models answer unanswerable questions with a confident-looking guess. Trust their
            # hesitation even if another start is likelier, and refuse a question whose words are unexpected
            # after the sources (a swapped name or an added negation makes a near-miss question unlikely).
            timings["generation_s"] = round(time.perf_counter() - at, 3)
            timings["total_s"] = round(time.perf_counter() - started, 3)
            yield {"type": "token", "text": REFUSAL}
            yield {"type": "done", **Answer(REFUSAL, True, [], question, timings, self.llm.name, style, chance,
                                            likelihood).to_dict()}
            return
        pieces: list[str] = []
        max_tokens = self.settings.long_answer_tokens if long else self.settings.max_answer_tokens
        # Below the threshold a long answer must not open with NOT FOUND: the model puts it first whenever
        # the sources answer only part of the question, and its other openings share the rest.
        avoid = NOT_FOUND if long and chance is not None else None
        for piece in without_loops(self.llm.stream(prompt, max_tokens, avoid_start=avoid)):
            if not pieces:
                timings["first_token_s"] = round(time.perf_counter() - started, 3)
            pieces.append(piece)
            yield {"type": "token", "text": piece}
        timings["generation_s"] = round(time.perf_counter() - at, 3)
        text = "".join(pieces).strip()
        # A long answer may end on what the sources leave out: only its opening sentence can make it a refusal.
        refused = is_refusal((_sentences(text) or [""])[0] if long else text)
        citations = [] if refused else cite(text, passages)
        if citations and not _CITATION.search(text):
            text = f"{text} " + " ".join(f"[{c.number}]" for c in citations)
        answer = Answer(
            REFUSAL if refused else text, refused, citations, question, timings,
            self.llm.name, style, chance, likelihood,
        )
        timings["total_s"] = round(time.perf_counter() - started, 3)
        yield {"type": "done", **answer.to_dict()}

    def ask(self, messages, collection, top_k=None, document_ids=None, style=None) -> Answer:
        *_, done = self.stream(messages, collection, top_k, document_ids, style)
        done.pop("type")
        done["citations"] = [Citation(**c) for c in done["citations"]]
        return Answer(**done)
