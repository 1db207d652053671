"""AnswerService: one answer is a list of named steps with one exit that builds it.

standalone question → cache lookup → retrieve → gates → local answer → (maybe) escalate → cite → cache store

The stream says exactly what the final event says: the token texts joined equal `answer`. Text is held
back while a later step could still change it (a refusal read from the reply, an escalation), and a
`sources` event goes out before the model reads, so a client has something to show meanwhile.
"""

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, replace

from rag.answer import grounding
from rag.answer.cache import AnswerCache
from rag.answer.citations import Citation, cite, passage_opening, with_markers
from rag.answer.escalation import LargeModel, LargeUnavailable
from rag.answer.prompt import FILLER, NOT_FOUND, REWRITE, build_prompt, by_document, context_size
from rag.answer.refusal import REFUSAL, Hesitation, RefusalPolicy, is_refusal, opening
from rag.answer.turns import Turns
from rag.answer.types import Answer, Reply, Run
from rag.chunks import Chunk, short_hash
from rag.llm import LLM, generate, scorer, without_loops
from rag.question import answer_style
from rag.retrieval import Retriever


# The settings that change an answer (beyond the models and the collection's content).
ANSWER_SETTINGS = {
    "top_k", "candidates", "rrf_k", "dense_weight", "lexical_weight", "focus_documents", "focus_weight",
    "min_relevance", "context_tokens", "refusal_threshold", "long_context_tokens", "long_answer_tokens",
    "named_documents", "long_refusal_threshold", "min_question_logprob", "max_answer_tokens", "min_support",
    "context_packing",
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


class AnswerService:
    def __init__(self, retriever: Retriever, llm: LLM, settings, large: LargeModel | None = None,
                 cache: AnswerCache | None = None, turns: Turns | None = None):
        self.retriever = retriever
        self.llm = llm
        self.settings = settings
        self.large = large
        self.cache = cache
        self.turns = turns or Turns(settings.max_waiting_answers, settings.max_wait_s)
        self.refusal = RefusalPolicy(settings, llm)
        # A cached answer is served only to a service that would answer the same way.
        made_by = [llm.name, large.name if large else "", settings.escalation,
                   settings.model_dump_json(include=ANSWER_SETTINGS)]
        self.cache_kind = short_hash("answers", *made_by)[:12]

    @property
    def escalation(self) -> str:
        return self.settings.escalation if self.large is not None else "never"

    def warm_up(self) -> None:
        """Load both models and read the fixed instructions into the model's cache, so the first question
        is as fast as the rest."""
        self.retriever.embedder.embed(["warm-up"])
        self._read(build_prompt("", []))

    def _read(self, prompt) -> None:
        if (s := scorer(self.llm)) is not None:
            s.start_probability(prompt, NOT_FOUND)
        else:
            generate(self.llm, prompt, max_tokens=1)

    def read_time(self) -> tuple[int, float]:
        """Tokens in the largest context a short answer gets, and the seconds the model takes to read one:
        what such an answer spends before its first word, which depends mostly on the CPU."""
        s = self.settings
        tokens = min(s.context_tokens, s.top_k * s.chunk_tokens)
        text = FILLER * max(1, tokens // self.retriever.embedder.count_tokens(FILLER))
        filler = Chunk("warm-up", "warm-up", "warm-up", "warm-up.txt", text, 0, 0, len(text))
        at = time.perf_counter()
        self._read(build_prompt("When did the committee meet?", [filler]))
        return tokens, time.perf_counter() - at

    def standalone_question(self, messages: list[dict[str, str]]) -> str:
        question = messages[-1]["content"]
        history = [m for m in messages[:-1] if m["role"] in ("user", "assistant")]
        if not history:
            return question
        # The last turns, each cut short: a long history must not overflow the model's context.
        turns = "\n".join(f"{m['role']}: {_cut(m['content'], 500)}" for m in history[-6:])
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
        """Events: {"type": "sources", "sources"}, {"type": "token", "text"} ..., then {"type": "done", **Answer}."""
        run = Run(messages, collection, top_k, document_ids, style)
        with ExitStack() as model:
            run.model = model
            if len(messages) > 1:  # the follow-up is rewritten by the model
                self._wait_for_model(run, model)
            self._standalone(run)
            hit = self._lookup(run)
            if hit is not None:
                yield {"type": "sources", "sources": [asdict(c) for c in hit.citations]}
                yield from self._done(run, hit)
                return
            if not run.holding:
                self._wait_for_model(run, model)
            self._retrieve(run)
            yield {"type": "sources", "sources": self._sources(run)}
            reply = self._gates(run)
            if reply is None:
                reply = yield from self._answer(run)
            answer = self._cite(run, reply)
        self._store(run, answer)
        yield from self._done(run, answer)

    def _wait_for_model(self, run: Run, model: ExitStack) -> None:
        """This answer's turn on the model, held to its last word (the time in line is reported apart)."""
        at = time.perf_counter()
        model.enter_context(self.turns.turn())
        run.holding = True
        run.timings["queued_s"] = round(run.timings.get("queued_s", 0.0) + time.perf_counter() - at, 3)

    def _let_go_of_model(self, run: Run) -> None:
        """The turn given back while this answer waits for the large model (its budget may take a minute):
        the others' answers go on meanwhile."""
        if run.holding:
            run.model.close()
            run.holding = False

    # -- the steps, in order -------------------------------------------------------------------------

    def _standalone(self, run: Run) -> None:
        run.question = self.standalone_question(run.messages)
        if run.question != run.messages[-1]["content"]:
            run.lap("rewrite_s", run.started)
        run.style = answer_style(run.question, run.style or self.settings.answer_style)

    def _cacheable(self, run: Run) -> bool:
        return self.cache is not None and run.document_ids is None and run.top_k is None

    def _lookup(self, run: Run) -> Answer | None:
        if not self._cacheable(run):
            return None
        at = time.perf_counter()
        run.vector = self.retriever.embedder.embed([run.question])[0]
        run.version = self.cache.version(run.collection)
        hit = self.cache.lookup(run.collection, run.version, f"{run.style}:{self.cache_kind}", run.question, run.vector)
        run.lap("cache_s", at)
        if hit is None:
            return None
        cached = dict(hit.answer, citations=[Citation(**c) for c in hit.answer["citations"]])
        return Answer(**{
            **cached, "question": run.question, "timings": run.timings, "answered_by": "cache",
            "answered_by_reason": "cache_hit", "large_tokens": 0, "saved_tokens": hit.cost,
            "answered_by_detail": f"{hit.similarity:.2f} similar to an earlier question: {hit.question}",
        })

    def _retrieve(self, run: Run) -> None:
        at = time.perf_counter()
        k, budget = context_size(self.settings, run.style, run.top_k)
        long = run.style == "long"
        retrieved = self.retriever.retrieve(run.question, run.collection, k, run.document_ids, budget, named=long,
                                            vector=run.vector)
        run.lap("retrieval_s", at)
        run.passages, run.best = by_document(retrieved.passages), retrieved.best_similarity
        run.prompt = build_prompt(run.question, run.passages, run.style)

    def _sources(self, run: Run) -> list[dict]:
        return [{"number": i, "document_id": p.document_id, "name": p.source.rsplit("/", 1)[-1], "page": p.page,
                 "headings": p.headings, "excerpt": passage_opening(p)} for i, p in enumerate(run.passages, start=1)]

    def _gates(self, run: Run) -> Reply | None:
        """Refused before any model reads: nothing relevant (the large model would have nothing better to
        read: not escalated). A gate on the question's capitalised names was dropped (issue 25): it fired on
        none of 380 questions of five dev sets and could only refuse."""
        if not run.passages or run.best < self.settings.min_relevance:
            return Reply(REFUSAL, True, "local", "nothing_relevant", f"best similarity {run.best:.2f}")
        return None

    def _answer(self, run: Run):
        """By the escalation policy: always the large model, when_needed after a local answer, or never."""
        fallback = None
        if self.escalation == "always":
            fallback = self._escalate(run, None, "always", "the policy is to always ask the large model")
            if fallback.by == "large":
                return fallback
        if not run.holding:  # given back while the large model was tried
            self._wait_for_model(run, run.model)
        reply = yield from self._answer_locally(run)
        if fallback is not None:  # the large model was wanted and could not be had
            return replace(reply, reason=fallback.reason, detail=fallback.detail)
        return self._check(run, reply) if self.escalation == "when_needed" else reply

    def _answer_locally(self, run: Run):
        at = time.perf_counter()
        reason = "local_only" if self.escalation == "never" else "grounded"
        refused = "local_only" if self.escalation == "never" else "local_refused"
        hesitation = self.refusal.hesitation(run.prompt, run.question, run.style)
        if hesitation.refused:
            run.lap("generation_s", at)
            return Reply(REFUSAL, True, "local", refused, hesitation.detail, hesitation)
        long = run.style == "long"
        # Short answers are a phrase: held whole. Long ones show once their opening sentence is not a refusal,
        # unless an escalation may still replace them.
        hold = not long or self.escalation == "when_needed"
        max_tokens = self.settings.long_answer_tokens if long else self.settings.max_answer_tokens
        # Below the threshold a long answer must not open with NOT FOUND: the model puts it first whenever
        # the sources answer only part of the question, and its other openings share the rest.
        avoid = NOT_FOUND if long and hesitation.chance is not None else None
        text = ""
        for piece in without_loops(self.llm.stream(run.prompt, max_tokens, avoid_start=avoid)):
            if not text:
                run.lap("first_token_s", run.started)
            text += piece
            first = None if hold else opening(text)
            if first is not None and not is_refusal(first) and text.strip() != run.sent:
                yield {"type": "token", "text": text.strip()[len(run.sent):]}
                run.sent = text.strip()
        run.lap("generation_s", at)
        text = text.strip()
        if self.refusal.refuses(text, run.style):
            return Reply(REFUSAL, True, "local", refused, "the model said the sources do not answer", hesitation)
        return Reply(text, False, "local", reason, "", hesitation)

    def _check(self, run: Run, reply: Reply) -> Reply:
        """when_needed: escalate a refused local answer, or one its sources do not support."""
        if reply.refused:
            return self._escalate(run, reply, "local_refused", reply.detail)
        cited = [c.number for c in cite(reply.text, run.passages)]
        found = grounding.check(reply.text, [run.passages[n - 1] for n in cited], run.question)
        if not found.ok(self.settings.min_support):
            return self._escalate(run, reply, "ungrounded", found.detail())
        return replace(reply, detail=found.detail())

    def _escalate(self, run: Run, local: Reply | None, reason: str, detail: str) -> Reply:
        """The large model on the same prompt; when it cannot be had, the local reply marked with why (the
        caller answers locally when there is none yet)."""
        self._let_go_of_model(run)
        at = time.perf_counter()
        max_tokens = self.settings.long_answer_tokens if run.style == "long" else self.settings.max_answer_tokens
        try:
            text, tokens = self.large.complete(run.prompt, max_tokens)
        except LargeUnavailable as e:
            run.lap("large_s", at)
            why = f"{detail}; {e}" if detail else str(e)
            return replace(local, reason=e.reason, detail=why) if local else Reply("", False, "local", e.reason, why)
        run.lap("large_s", at)
        text = text.strip()
        refused = self.refusal.refuses(text, run.style)
        hesitation = local.hesitation if local else Hesitation()
        return Reply(REFUSAL if refused else text, refused, "large", reason, detail, hesitation, tokens)

    def _cite(self, run: Run, reply: Reply) -> Answer:
        citations = [] if reply.refused else cite(reply.text, run.passages)
        text = with_markers(reply.text, citations)
        model = self.large.name if reply.by == "large" else self.llm.name
        saved = 0
        if reply.by == "local" and reply.reason != "nothing_relevant":
            count = self.retriever.embedder.count_tokens
            saved = sum(count(m["content"]) for m in run.prompt) + count(text)
        return Answer(text, reply.refused, citations, run.question, run.timings, model, run.style,
                      reply.hesitation.chance, reply.hesitation.likelihood, reply.by, reply.reason, reply.detail,
                      reply.large_tokens, saved)

    def _store(self, run: Run, answer: Answer) -> None:
        """Answers the large model should have given are not kept: its budget may be back next time."""
        if not self._cacheable(run) or answer.answered_by_reason in ("budget_spent", "large_unavailable"):
            return
        cost = answer.large_tokens or answer.saved_tokens
        kept = {k: v for k, v in answer.to_dict().items() if k not in ("timings", "question")}
        kind = f"{run.style}:{self.cache_kind}"
        self.cache.store(run.collection, run.version, kind, run.question, run.vector, kept, cost)

    def _done(self, run: Run, answer: Answer) -> Iterator[dict]:
        answer.timings["total_s"] = round(time.perf_counter() - run.started, 3)
        assert answer.answer.startswith(run.sent), "streamed text the answer does not start with"
        if rest := answer.answer[len(run.sent):]:
            yield {"type": "token", "text": rest}
        yield {"type": "done", **answer.to_dict()}

    def ask(self, messages, collection, top_k=None, document_ids=None, style=None) -> Answer:
        *_, done = self.stream(messages, collection, top_k, document_ids, style)
        done.pop("type")
        done["citations"] = [Citation(**c) for c in done["citations"]]
        return Answer(**done)
