"""AnswerService: the answer steps (rag.answer.steps) composed, with the model's turn, the cache and the stream.

standalone question → plan → cache lookup → gather → nothing relevant? → propose → verify → (maybe) escalate →
cite → cache store (verified answers and refusals only)

The stream says exactly what the final event says: the token texts joined equal `answer`. A short answer is
held until it is verified; a long one goes out sentence by sentence, each once its cited passages are found
to state it (an unsupported sentence is dropped; an unsupported first sentence refuses or escalates the
answer). A `sources` event goes out before the model reads, so a client has something to show meanwhile.
"""

import time
from collections.abc import Iterator

from rag.answer import steps
from rag.answer.cache import AnswerCache
from rag.answer.citations import Citation
from rag.answer.escalation import LargeModel
from rag.answer.prompt import FILLER, NOT_FOUND, SOURCES, build_prompt
from rag.answer.refusal import REFUSAL, RefusalPolicy
from rag.text import spans
from rag.answer.checks import Check, Out
from rag.answer.steps import STEPS, Answer, By, Form, Plan, Reason, Reply, lap
from rag.answer.turns import Turn, Turns
from rag.answer.verify import Verifier
from rag.chunks import Chunk, short_hash
from rag.embeddings import threshold
from rag.llm import LLM, generate, reading, scorer, second_reader
from rag.llm.passage_states import PassageStates
from rag.retrieval import Retriever

# The settings that change an answer (beyond the models and the collection's content).
ANSWER_SETTINGS = {
    "top_k", "candidates", "rrf_k", "dense_weight", "lexical_weight", "focus_documents", "focus_weight",
    "min_relevance", "context_tokens", "long_context_tokens", "long_answer_tokens",
    "named_documents", "max_answer_tokens", "min_support",
    "context_packing", "verify_threshold", "passage_cache_mb", "passage_reread_tokens",
}


class AnswerService:
    def __init__(self, retriever: Retriever, llm: LLM, settings, large: LargeModel | None = None,
                 cache: AnswerCache | None = None, turns: Turns | None = None, judge: LLM | None = None):
        self.retriever = retriever
        self.llm = llm
        self.settings = settings
        self.large = large
        self.cache = cache
        self.turns = turns or Turns(settings.max_waiting_answers, settings.max_wait_s)
        self.refusal = RefusalPolicy(llm)
        self.min_relevance = threshold(settings.min_relevance, retriever.embedder, "min_relevance")
        # The judge reads with its own context (the same weights) so that a long answer's sentences are verified
        # while the model goes on writing it, and the answer prompt stays cached.
        judge = judge or second_reader(llm)
        self.passage_states = None
        if settings.passage_cache_mb:  # one store for both readers: their instructions differ, so do their keys
            states = PassageStates(settings.data_dir / "passage-states", settings.passage_cache_mb * 2**20)
            self.passage_states = states
            for reader in {id(llm): llm, id(judge): judge}.values():
                if callable(getattr(reader, "keep_passages", None)):
                    reader.keep_passages(states, settings.passage_reread_tokens)
        self.verifier = Verifier(judge, settings.verify_threshold, settings.min_support)
        # With one reader (a server may drop a stream for a new request) a long answer is verified once written.
        self.verify_while_writing = judge is not llm
        made_by = [llm.name, large.name if large else "", settings.escalation,
                   settings.model_dump_json(include=ANSWER_SETTINGS)]
        self.cache_kind = short_hash("answers", *made_by)[:12]

    @property
    def escalation(self) -> str:
        return self.settings.escalation if self.large is not None else "never"

    def warm_up(self) -> None:
        """Load the models and read the fixed instructions into their caches, so the first question is as fast
        as the rest."""
        self.retriever.embedder.embed(["warm-up"])
        self._read(build_prompt("", []))
        self.verifier.score("", "", [Chunk("warm-up", "warm-up", "warm-up", "warm-up.txt", "", 0, 0, 0)])

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
        return steps.standalone(self.llm, messages)

    def stream(self, messages: list[dict[str, str]], collection: str, top_k: int | None = None,
               document_ids: list[str] | None = None, style: str | None = None, cache: bool = True,
               form: Form | None = None) -> Iterator[dict]:
        """Events: {"type": "waiting", "ahead", "expected_s"} when other answers hold the model, {"type": "sources",
        "sources"}, {"type": "token", "text"} ..., then {"type": "done", **Answer}.
        cache=False: a fresh answer (which then replaces the cached one)."""
        answer = yield from self.events(messages, collection, top_k, document_ids, style, cache, form)
        yield {"type": "done", **answer.to_dict()}

    def ask(self, messages, collection, top_k=None, document_ids=None, style=None, cache=True, form=None) -> Answer:
        events = self.events(messages, collection, top_k, document_ids, style, cache, form)
        while True:
            try:
                next(events)
            except StopIteration as done:
                return done.value

    def events(self, messages, collection, top_k, document_ids, style, cache, form: Form | None = None):
        """The stream's events; returns the Answer. Every second of it is in one of its timings' STEPS."""
        started, timings, out = time.perf_counter(), {}, Out()
        form = form or Form()
        cacheable = self.cache is not None and document_ids is None and top_k is None and form.temperature == 0
        with Turn(self.turns, timings) as turn:
            if len(messages) > 1:  # the follow-up is rewritten by the model
                yield from turn.take()
            at = time.perf_counter()
            question = steps.standalone(self.llm, messages)
            plan = steps.plan(question, self.settings, style, top_k, document_ids, form)
            lap(timings, "rewrite_s" if len(messages) > 1 else "plan_s", at)
            vector = version = None
            if cacheable:
                at = time.perf_counter()
                vector = self.retriever.embedder.embed_query([question])[0]
                version = self.cache.version(collection)
                hit = self._lookup(collection, version, plan, vector, timings) if cache else None
                lap(timings, "cache_s", at)
                if hit is not None:
                    yield {"type": "sources", "sources": [c.__dict__ for c in hit.citations]}
                    yield from out.to(hit.answer)
                    _total(timings, started)
                    return hit
            yield from turn.take()
            at = time.perf_counter()
            context = steps.gather(self.retriever, plan, collection, vector)
            lap(timings, "retrieval_s", at)
            yield {"type": "sources", "sources": context.sources()}
            reply = steps.nothing_relevant(context, self.min_relevance)
            if reply is None:
                reply = yield from self._answer(plan, context, turn, out, timings, started)
            model = self.large.name if reply.by == By.LARGE else self.llm.name
            at = time.perf_counter()
            answer = steps.finish(reply, plan, context, model, timings, self.retriever.embedder.count_tokens)
            if reply.by == By.LOCAL and not reply.refused and timings.get("answer_tokens", 0) >= self._max_tokens(plan):
                answer.finish_reason = "length"
            lap(timings, "cite_s", at)
        at = time.perf_counter()
        if cacheable and answer.verified and reply.reason not in (Reason.BUDGET_SPENT, Reason.LARGE_UNAVAILABLE):
            cost = answer.large_tokens or answer.saved_tokens
            kept = {k: v for k, v in answer.to_dict().items() if k not in ("timings", "question")}
            self.cache.store(collection, version, self._kind(plan), question, vector, kept, cost)
        lap(timings, "cache_s", at)
        yield from out.to(answer.answer)
        _total(timings, started)
        return answer

    def _kind(self, plan: Plan) -> str:
        """Answers of other forms (a client's instruction, a shorter limit) are cached apart."""
        form = plan.form
        shape = "" if form.plain else ":" + short_hash("form", form.instruction, str(form.max_tokens))[:8]
        return f"{plan.style}:{self.cache_kind}{shape}"

    def _lookup(self, collection, version, plan: Plan, vector, timings) -> Answer | None:
        hit = self.cache.lookup(collection, version, self._kind(plan), plan.question, vector)
        if hit is None:
            return None
        cached = dict(hit.answer, citations=[Citation(**c) for c in hit.answer["citations"]])
        return Answer(**{
            **cached, "question": plan.question, "timings": timings, "answered_by": By.CACHE.value,
            "answered_by_reason": Reason.CACHE_HIT.value, "large_tokens": 0, "saved_tokens": hit.cost,
            "answered_by_detail": f"{hit.similarity:.2f} similar to an earlier question: {hit.question}",
        })

    def _max_tokens(self, plan: Plan) -> int:
        limit = self.settings.long_answer_tokens if plan.long else self.settings.max_answer_tokens
        return min(limit, plan.form.max_tokens or limit)

    def _answer(self, plan, context, turn: Turn, out: Out, timings: dict, started: float):
        """By the escalation policy: always the large model, when_needed after an unsupported local answer, or
        never."""
        fallback = None
        if self.escalation == "always":
            turn.release()
            fallback = self._escalate(plan, context, Reason.ALWAYS, "the policy is to always ask the large model",
                                      None, timings)
            if fallback.by == By.LARGE:
                return fallback
        yield from turn.take()
        reply = yield from self._local(plan, context, out, timings, started)
        if fallback is not None:  # the large model was wanted and could not be had
            return Reply(reply.text, reply.refused, reply.by, fallback.reason, fallback.detail, reply.hesitation,
                         0, reply.verified, reply.support)
        if self.escalation == "when_needed" and reply.reason in (Reason.UNSUPPORTED, Reason.LOCAL_REFUSED):
            turn.release()
            return self._escalate(plan, context, reply.reason, reply.detail, reply, timings)
        return reply

    def _escalate(self, plan, context, reason, detail, local, timings) -> Reply:
        at = time.perf_counter()
        try:
            return steps.escalate(self.large, plan, context, self._max_tokens(plan), reason, detail, local)
        finally:
            lap(timings, "large_s", at)

    def _count_reading(self, before: dict | None, prompt, timings: dict) -> None:
        """The model's reading of this answer: its prompt's tokens, those read fresh (the rest were still in its
        cache from an earlier answer) and their seconds; the tokens it wrote and theirs."""
        after = reading(self.llm)
        if before is None or after is None:
            return
        for key, value in after.items():
            timings[key] = round(value - before[key], 3)
        timings["prompt_tokens"] = self.llm.prompt_tokens(prompt)
        timings["reused_tokens"] = max(0, timings["prompt_tokens"] - timings["read_tokens"])

    def _local(self, plan: Plan, context, out: Out, timings: dict, started: float):
        """The local model's proposal, verified: whole (short answers) or sentence by sentence (long ones).
        generation_s is the model's reading and writing; the verifier's reading meanwhile is verify_s."""
        at, verifying, before = time.perf_counter(), timings.get("verify_s", 0.0), reading(self.llm)

        def written() -> None:
            timings["generation_s"] = round(time.perf_counter() - at - timings.get("verify_s", 0.0) + verifying, 3)
            self._count_reading(before, context.prompt, timings)

        if callable(prefill := getattr(self.llm, "prefill", None)):
            prefill(context.prompt, [(p.collection, p.text) for p in context.passages], SOURCES)
        hesitation = steps.hesitate(self.refusal, plan, context)
        proposal = steps.propose(self.llm, context, self._max_tokens(plan), plan.form.temperature, timings)
        check = Check(self.verifier, plan, context, hesitation, out, timings)
        text, done = "", 0  # done: characters of text verified
        try:
            for piece in proposal:
                if not text:
                    lap(timings, "first_token_s", started)
                text += piece
                if plan.long and self.verify_while_writing:
                    for sentence in spans(text[done:])[:-1]:  # the last may be unfinished
                        refusal = yield from check.sentence(sentence)
                        done += len(sentence)
                        if refusal:
                            written()
                            return refusal
        finally:
            proposal.close()
        written()
        if RefusalPolicy.refuses(text, plan.style) and not check.kept:
            return Reply(REFUSAL, True, By.LOCAL, Reason.LOCAL_REFUSED, "the model said the sources do not answer",
                         hesitation)
        if not plan.long:
            return check.whole(text.strip())
        for sentence in spans(text[done:]):
            refusal = yield from check.sentence(sentence)
            if refusal:
                return refusal
        return check.kept_reply()


def _total(timings: dict, started: float) -> None:
    """total_s, and other_s: what no step accounts for (the stream's reader, the interpreter)."""
    total = time.perf_counter() - started
    timings["total_s"] = round(total, 3)
    timings["other_s"] = round(max(0.0, total - sum(timings.get(step, 0.0) for step in STEPS)), 3)
