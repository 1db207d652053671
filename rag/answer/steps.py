"""The steps of one answer, each with its inputs and output: plan → gather → propose → verify → escalate → cite.
AnswerService.stream composes them (and holds the model's turn, the cache and the stream)."""

import time
from dataclasses import dataclass, field
from enum import StrEnum

from rag.answer.citations import Citation, cite, passage_opening, with_markers
from rag.answer.escalation import LargeModel, LargeUnavailable
from rag.answer.prompt import NOT_FOUND, REWRITE, build_prompt, by_document, context_size
from rag.answer.refusal import REFUSAL, Hesitation, RefusalPolicy
from rag.answer.verify import Verdict, Verifier
from rag.chunks import Chunk
from rag.llm import LLM, Messages, generate, without_loops
from rag.question import answer_style
from rag.retrieval import Retriever


class By(StrEnum):
    LOCAL = "local"
    LARGE = "large"
    CACHE = "cache"


class Reason(StrEnum):
    """Why that one answered (docs/REFERENCE.md, "Who answers")."""

    VERIFIED = "verified"  # the local answer's cited passages state it
    UNSUPPORTED = "unsupported"  # they do not: refused (never) or escalated (when_needed)
    LOCAL_REFUSED = "local_refused"  # the local model's reply says the sources do not answer
    NOTHING_RELEVANT = "nothing_relevant"
    ALWAYS = "always"
    BUDGET_SPENT = "budget_spent"
    LARGE_UNAVAILABLE = "large_unavailable"
    CACHE_HIT = "cache_hit"


@dataclass(frozen=True)
class Form:
    """What a client asks of an answer's form, never of what it may say: the grounding rules stay."""

    instruction: str = ""  # e.g. an OpenAI client's system message: the answer's language, tone
    max_tokens: int | None = None  # at most this many tokens written (fewer than the server's own limit)
    temperature: float = 0.0  # above 0: sampled, not greedy (and neither served from nor kept in the cache)

    @property
    def plain(self) -> bool:
        return self == Form()


@dataclass(frozen=True)
class Plan:
    question: str  # standalone: a follow-up rewritten
    style: str  # short | long
    top_k: int
    budget: int  # context tokens
    document_ids: list[str] | None = None
    form: Form = Form()

    @property
    def long(self) -> bool:
        return self.style == "long"


@dataclass(frozen=True)
class Context:
    passages: list[Chunk]  # numbered [1].. as the prompt shows them
    best: float  # similarity of the best dense hit
    prompt: Messages

    def sources(self) -> list[dict]:
        return [{"number": i, "document_id": p.document_id, "name": p.source.rsplit("/", 1)[-1], "page": p.page,
                 "headings": p.headings, "excerpt": passage_opening(p)} for i, p in enumerate(self.passages, start=1)]

    def cited(self, citations: list[Citation]) -> list[Chunk]:
        return [self.passages[c.number - 1] for c in citations]


@dataclass(frozen=True)
class Reply:
    """An answer's text before its citations, who wrote it and why."""

    text: str
    refused: bool
    by: By
    reason: Reason
    detail: str = ""
    hesitation: Hesitation = field(default_factory=Hesitation)
    large_tokens: int = 0
    verified: bool = False  # its passages state it (what the cache keeps, with refusals)
    support: float | None = None  # the verifier's score
    citations: list[Citation] | None = None  # computed where it was verified (None: not yet)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def standalone(llm: LLM, messages: list[dict[str, str]]) -> str:
    """The last question, rewritten by the model to stand alone when there is a conversation before it."""
    question = messages[-1]["content"]
    history = [m for m in messages[:-1] if m["role"] in ("user", "assistant")]
    if not history:
        return question
    # The last turns, each cut short: a long history must not overflow the model's context.
    turns = "\n".join(f"{m['role']}: {_cut(m['content'], 500)}" for m in history[-6:])
    rewritten = generate(
        llm,
        [{"role": "system", "content": REWRITE},
         {"role": "user", "content": f"Conversation:\n{turns}\n\nLast question: {question}"}],
        max_tokens=64, stop=["\n"],
    ).strip()
    return rewritten or question


def plan(question: str, settings, style: str | None = None, top_k: int | None = None,
         document_ids: list[str] | None = None, form: Form | None = None) -> Plan:
    style = answer_style(question, style or settings.answer_style)
    k, budget = context_size(settings, style, top_k)
    return Plan(question, style, k, budget, document_ids, form or Form())


def gather(retriever: Retriever, plan: Plan, collection: str, vector=None) -> Context:
    """The passages the model reads, each document's side by side, and the prompt."""
    got = retriever.retrieve(plan.question, collection, plan.top_k, plan.document_ids, plan.budget,
                             named=plan.long, vector=vector)
    passages = by_document(got.passages)
    return Context(passages, got.best_similarity, build_prompt(plan.question, passages, plan.style,
                                                                  plan.form.instruction))


def nothing_relevant(context: Context, min_relevance: float) -> Reply | None:
    """Refused before any model reads: nothing relevant (the large model would have nothing better to read)."""
    if not context.passages or context.best < min_relevance:
        return Reply(REFUSAL, True, By.LOCAL, Reason.NOTHING_RELEVANT, f"best similarity {context.best:.2f}")
    return None


def hesitate(policy: RefusalPolicy, plan: Plan, context: Context) -> Hesitation:
    """The model's hesitation before it writes: P(NOT FOUND) and how expected the question is after the
    sources. It reads the prompt, which the proposal then finds cached."""
    return policy.hesitation(context.prompt, plan.question)


def propose(llm: LLM, context: Context, max_tokens: int, temperature: float = 0.0, written: dict | None = None):
    """The local model's best answer, piece by piece, even where it would begin with NOT FOUND: it is then
    verified like any other. `written["answer_tokens"]` counts the pieces (tokens) the model wrote."""
    sampling = {"temperature": temperature} if temperature > 0 else {}  # backends decode greedily by default
    pieces = llm.stream(context.prompt, max_tokens, avoid_start=NOT_FOUND, **sampling)

    def counted():
        for piece in pieces:
            if written is not None:
                written["answer_tokens"] = written.get("answer_tokens", 0) + 1
            yield piece

    yield from without_loops(counted())


def verify(verifier: Verifier, plan: Plan, context: Context, text: str, citations: list[Citation],
           hesitation: Hesitation | None = None) -> Verdict:
    """Whether the passages `text` cites (its markers, and those holding its figures and names: cite()) state
    it. With the model's hesitation (an answer's first claim): also whether they hold an answer at all."""
    return verifier.verify(plan.question, text, context.cited(citations), hesitation.chance if hesitation else None)


def escalate(large: LargeModel, plan: Plan, context: Context, max_tokens: int, reason: Reason, detail: str,
             local: Reply | None) -> Reply:
    """The large model on the same prompt; when it cannot be had, the local reply marked with why (an empty
    local reply when there is none yet)."""
    try:
        text, tokens = large.complete(context.prompt, max_tokens)
    except LargeUnavailable as e:
        why = f"{detail}; {e}" if detail else str(e)
        if local is None:
            return Reply("", False, By.LOCAL, Reason(e.reason), why)
        return Reply(local.text, local.refused, By.LOCAL, Reason(e.reason), why, local.hesitation, 0, local.verified,
                     local.support)
    text = text.strip()
    refused = RefusalPolicy.refuses(text, plan.style)
    hesitation = local.hesitation if local else Hesitation()
    return Reply(REFUSAL if refused else text, refused, By.LARGE, reason, detail, hesitation, tokens, True)


def _doc(text: str, **kwargs):
    """A field of what an answer returns, described for its users (the API's response model is made from
    these: service/schemas.py)."""
    return field(metadata={"doc": text}, **kwargs)


@dataclass
class Answer:
    answer: str
    refused: bool = _doc("True when the documents do not contain the answer.")
    citations: list[Citation] = _doc("The passages the answer draws on, each with its supporting sentence.")
    question: str = _doc("The standalone question used for retrieval (a follow-up rewritten).")
    timings: dict[str, float] = _doc("Where its time went, step by step, in seconds (and the model's tokens): "
                                     "docs/REFERENCE.md, The HTTP API.", default_factory=dict)
    model: str = ""
    style: str = _doc("short or long: the kind of answer given.", default="short")
    refusal_probability: float | None = _doc("The model's chance of saying not found.", default=None)
    question_logprob: float | None = _doc("Mean log-probability of the question's words after the sources; low "
                                          "means unexpected.", default=None)
    answered_by: By = _doc("Who answered: docs/REFERENCE.md, Who answers.", default=By.LOCAL)
    answered_by_reason: Reason = _doc("Why: docs/REFERENCE.md, Who answers.", default=Reason.VERIFIED)
    answered_by_detail: str = _doc("The figures behind the reason, for people.", default="")
    large_tokens: int = _doc("Large-model tokens this answer spent.", default=0)
    saved_tokens: int = _doc("Large-model tokens a local or cached answer would have cost.", default=0)
    support: float | None = _doc("The local model's probability that the cited passages state the answer (its "
                                 "first sentence, for long answers); None where it was not asked.", default=None)
    finish_reason: str = _doc("stop, or length when the answer was cut at its token limit (max_tokens).",
                              default="stop")
    # Not returned (to_dict, the API): the context it read, and whether it may be cached.
    passages: list[Chunk] = field(default_factory=list, repr=False, metadata={"internal": True})
    verified: bool = field(default=False, repr=False, metadata={"internal": True})

    def to_dict(self) -> dict:
        from dataclasses import asdict

        out = asdict(self)
        for name in INTERNAL:
            out.pop(name)
        return out


INTERNAL = ("passages", "verified")


def finish(reply: Reply, plan: Plan, context: Context, model: str, timings: dict, count_tokens) -> Answer:
    """The reply with its citations (computed once, here), and what answering locally saved."""
    citations = [] if reply.refused else reply.citations or cite(reply.text, context.passages)
    text = with_markers(reply.text, citations)
    saved = 0
    if reply.by == By.LOCAL and reply.reason != Reason.NOTHING_RELEVANT:
        saved = sum(count_tokens(m["content"]) for m in context.prompt) + count_tokens(text)
    return Answer(text, reply.refused, citations, plan.question, timings, model, plan.style,
                  reply.hesitation.chance, reply.hesitation.likelihood, reply.by, reply.reason,
                  reply.detail, reply.large_tokens, saved, reply.support, passages=context.passages,
                  verified=reply.verified or reply.refused)


# An answer's steps, one after another: their seconds and other_s add up to total_s. first_token_s is a moment,
# not a step; read_s and write_s (the model's reading and writing) are parts of generation_s.
STEPS = ("queued_s", "plan_s", "rewrite_s", "cache_s", "retrieval_s", "generation_s", "verify_s", "large_s",
         "cite_s")


def lap(timings: dict, name: str, since: float) -> None:
    timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - since, 3)


__all__ = ["STEPS", "Answer", "By", "Context", "Form", "Plan", "Reason", "Reply", "escalate", "finish", "gather", "lap",
           "hesitate", "nothing_relevant", "plan", "propose", "standalone", "verify"]
