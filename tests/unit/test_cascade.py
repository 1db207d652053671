"""The answer path's steps with fakes: stream = final answer, escalation, the budget, the cache."""

import pytest

from rag.answer import REFUSAL, AnswerService
from rag.answer.cache import AnswerCache, same_terms
from rag.answer.escalation import LargeModel
from rag.catalog import open_catalog
from rag.errors import BackendUnavailable, RateLimited
from rag.llm import FakeLLM
from rag.llm.limiter import Budget
from rag.llm.openai_api import Usage
from rag.retrieval import Retrieved
from rag.settings import Settings
from tests.unit.test_answer import PASSAGES, FixedRetriever, streamed

ASK = [{"role": "user", "content": "What is the capital of France?"}]


class FakeProvider:
    """The large model's server: replies, or errors, in order; counts the calls it got."""

    name = "big"

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0
        self.prompts = []

    def complete(self, messages, max_tokens, stop=None):
        self.calls += 1
        self.prompts.append(messages)
        outcome = self.outcomes.pop(0) if self.outcomes else "Paris [1]"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome, Usage(100, 5, True)


def service(llm, provider=None, escalation="when_needed", rpm=60, conn=None, **overrides):
    # A hesitant model's proposal is unsupported here (refusal_chance 0.9: its support is at most 0.1): the
    # cascade is what is tested.
    settings = Settings(_env_file=None, escalation=escalation, large_retry_wait_s=0.1, **overrides)
    retriever = FixedRetriever(Retrieved(PASSAGES, 0.6))
    large = None
    if provider is not None:
        large = LargeModel(provider, Budget(rpm, 10_000, 200), retriever.embedder.count_tokens, settings)
    cache = AnswerCache(conn, threshold=0.84) if conn is not None else None
    return AnswerService(retriever, llm, settings, large, cache)


@pytest.mark.parametrize(
    "reply,style,answer",
    [
        ("Paris [1]", "short", "Paris [1]"),
        ("  Paris  ", "short", "Paris [1]"),  # the marker it lacked is streamed too
        ("NOT FOUND", "short", REFUSAL),  # decided after generation: nothing of the reply was streamed
        ("Paris grew fast [1]. It has 2 million people [1]. ", "long", "Paris grew fast [1]. It has 2 million people [1]."),
        ("NOT FOUND. The sources say nothing about it.", "long", REFUSAL),
        ("The sources do not mention it. Paris is a capital.", "long", REFUSAL),
    ],
)
def test_the_stream_says_exactly_what_the_final_event_says(reply, style, answer):
    events = list(service(FakeLLM([reply], support=0.9), escalation="never").stream(ASK, "c", style=style))
    assert events[0]["type"] == "sources" and [s["number"] for s in events[0]["sources"]] == [1, 2]
    assert events[-1]["type"] == "done" and events[-1]["answer"] == answer
    assert streamed(events) == answer


def test_a_long_answer_streams_while_it_is_written():
    events = list(service(FakeLLM(["Paris grew fast [1]. It has two million people now [1]."], support=0.9),
                          escalation="never")
                  .stream(ASK, "c", style="long"))
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert tokens == ["Paris grew fast [1].", " It has two million people now [1]."]  # a sentence once verified


def test_no_escalation_for_a_verified_local_answer():
    provider = FakeProvider()
    answer = service(FakeLLM(["Paris [1]"], support=0.9), provider).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason, provider.calls) == ("local", "verified", 0)
    assert answer.saved_tokens > 0 and answer.large_tokens == 0


def test_an_unsupported_local_answer_goes_to_the_large_model_with_the_same_prompt():
    provider = FakeProvider("Paris [1]")
    llm = FakeLLM(refusal_chance=0.9, support=0.9)
    answer = service(llm, provider).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason, answer.answer) == ("large", "unsupported", "Paris [1]")
    assert answer.citations[0].document_id == "d1" and answer.model == "big" and answer.large_tokens == 105
    assert "P(NOT FOUND) 0.90" in answer.answered_by_detail
    assert provider.prompts == [llm.history[0]]


def test_a_local_refusal_goes_to_the_large_model():
    answer = service(FakeLLM(["The sources do not say."], support=0.9), FakeProvider("Paris [1]")).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason) == ("large", "local_refused")


def test_without_probabilities_an_answer_with_figures_or_names_its_sources_lack_goes_to_the_large_model():
    answer = service(FakeLLM(["It is Lyon, with 7 million people [1]"]), FakeProvider("Paris [1]")).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason) == ("large", "unsupported")
    assert "not in its sources: 7, Lyon" in answer.answered_by_detail


def test_nothing_relevant_is_refused_without_any_model():
    provider = FakeProvider()
    svc = service(FakeLLM(), provider)
    svc.retriever.retrieved = Retrieved(PASSAGES, 0.05)
    answer = svc.ask(ASK, "c")
    assert answer.refused and answer.answered_by_reason == "nothing_relevant" and provider.calls == 0


def test_a_spent_budget_answers_locally_and_says_so():
    provider = FakeProvider()
    svc = service(FakeLLM(refusal_chance=0.9, support=0.9), provider, rpm=1)
    assert svc.ask(ASK, "c").answered_by == "large"
    second = svc.ask(ASK, "c")
    assert (second.answered_by, second.answered_by_reason, second.refused) == ("local", "budget_spent", True)
    assert "budget is spent" in second.answered_by_detail and provider.calls == 1
    assert svc.large.budget.stats.deferred == 1


def test_rate_limits_and_timeouts_are_retried_within_bounds_then_answered_locally():
    provider = FakeProvider(RateLimited("429", retry_after=0.01), BackendUnavailable("timed out"), "Paris [1]")
    answer = service(FakeLLM(refusal_chance=0.9, support=0.9), provider, large_retries=2).ask(ASK, "c")
    assert answer.answered_by == "large" and provider.calls == 3
    down = FakeProvider(*[BackendUnavailable("down")] * 3)
    answer = service(FakeLLM(refusal_chance=0.9, support=0.9), down, large_retries=1).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason, down.calls) == ("local", "large_unavailable", 2)
    slow = FakeProvider(RateLimited("429", retry_after=3600))  # longer than we wait: no retry
    answer = service(FakeLLM(refusal_chance=0.9, support=0.9), slow).ask(ASK, "c")
    assert (answer.answered_by_reason, slow.calls) == ("budget_spent", 1)


def test_always_asks_the_large_model_first_and_falls_back_marked():
    llm = FakeLLM(["Paris [1]"])
    answer = service(llm, FakeProvider("Paris [1]"), escalation="always").ask(ASK, "c")
    assert answer.answered_by == "large" and llm.history == []  # the local model never read it
    answer = service(FakeLLM(["Paris [1]"]), FakeProvider(BackendUnavailable("down")), escalation="always",
                     large_retries=0).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason, answer.answer) == ("local", "large_unavailable", "Paris [1]")


def test_the_budget_never_lets_more_through_than_its_limits():
    budget = Budget(rpm=3, tpm=1000, rpd=200)
    assert [budget.try_acquire(100) for _ in range(4)] == [True, True, True, False]
    tokens = Budget(rpm=60, tpm=1000, rpd=200)
    assert tokens.try_acquire(600) and not tokens.try_acquire(600) and tokens.try_acquire(400)
    assert tokens.acquire(10, max_wait_s=0.2) is None and tokens.stats.deferred == 1
    assert 50 < tokens.wait_time(10) <= 63  # a minute and the margin for arrival delays
    assert Budget(rpm=3, tpm=1000, rpd=200).wait_time(5000) == float("inf")  # more than a minute's worth


def test_a_cached_answer_is_served_for_a_paraphrase_until_the_collection_changes(tmp_path):
    conn = open_catalog(Settings(_env_file=None, data_dir=tmp_path))
    llm = FakeLLM(["Paris [1]", "Paris [1]"])
    svc = service(llm, conn=conn, escalation="never")
    first = svc.ask(ASK, "c")
    again = svc.ask([{"role": "user", "content": "what is the capital of France"}], "c")
    assert (first.answered_by, again.answered_by, again.answer) == ("local", "cache", "Paris [1]")
    assert again.saved_tokens == first.saved_tokens > 0 and len(llm.history) == 1
    assert svc.ask(ASK, "other").answered_by == "local"  # nothing shared across collections
    other = service(FakeLLM(["Paris [1]"]), conn=conn, escalation="never", top_k=3)  # would answer otherwise
    assert other.ask(ASK, "c").answered_by == "local"
    conn.remove_chunks("c", "some-document")  # an upload or a delete
    assert svc.ask(ASK, "c").answered_by == "local"


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("What is the capital of France?", "what's the capital city of France", True),
        ("When did Beyonce release her first album?", "Beyonce released her first album when?", True),
        ("What happened in 1990?", "What happened in 1991?", False),
        ("Who founded Apple?", "Who founded Microsoft?", False),
        ("Which plans include dental cover?", "Which plans do not include dental cover?", False),
        ("Which plans include dental cover?", "Which plans don't include dental cover?", False),
        ("How many days of paid leave?", "How many days of unpaid leave?", False),  # one word changed
        ("Who won the first race?", "Who won the last race?", False),
        ("How many day of leave?", "How many days of leave?", True),  # another form of the same word
        ("Who won the first race?", "Who won the first race", True),
    ],
)
def test_near_miss_questions_differ_in_their_key_terms(a, b, same):
    assert same_terms(a, b) is same


@pytest.mark.parametrize("escalation", ["when_needed", "always"])
def test_an_answer_waiting_for_the_large_model_leaves_the_local_one_to_others(escalation):
    """While one answer waits for the large model (its budget, its reply), another is answered locally."""
    import threading

    class SlowProvider(FakeProvider):
        def complete(self, messages, max_tokens, stop=None):
            if entered.is_set():  # the other answer's call
                return super().complete(messages, max_tokens, stop)
            entered.set()
            assert released.wait(10), "the provider was never released"
            raise BackendUnavailable("down")  # so the always policy answers locally: the turn is taken again

    entered, released = threading.Event(), threading.Event()
    answers = service(FakeLLM(["NOT FOUND"] * 4), SlowProvider(), escalation=escalation, large_retries=0,
                      max_wait_s=5)
    first = {}
    waiting = threading.Thread(target=lambda: first.setdefault("done", list(answers.stream(ASK, "c"))[-1]))
    waiting.start()
    assert entered.wait(10)
    other = list(answers.stream(ASK, "c"))[-1]  # not behind the first: it holds no turn while it waits
    assert other["type"] == "done" and other["timings"]["queued_s"] < 5
    released.set()
    waiting.join(10)
    assert first["done"]["answered_by"] == "local" and first["done"]["answered_by_reason"] == "large_unavailable"
