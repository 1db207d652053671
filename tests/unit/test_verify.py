"""Propose, then verify (issue 34) with fakes: one decision from the verifier, long answers sentence by sentence,
the cache keeping only verified answers and refusals."""

import pytest

from rag.answer import REFUSAL, AnswerService
from rag.answer.cache import AnswerCache
from rag.answer.escalation import LargeModel
from rag.text import spans
from rag.answer.verify import judge_prompt
from rag.catalog import open_catalog
from rag.errors import BackendUnavailable
from rag.llm import FakeLLM
from rag.llm.limiter import Budget
from rag.retrieval import Retrieved
from rag.settings import Settings
from tests.unit.test_answer import PASSAGES, FixedRetriever, streamed
from tests.unit.test_cascade import FakeProvider

ASK = [{"role": "user", "content": "What is the capital of France?"}]
WHY = [{"role": "user", "content": "Why is Paris important?"}]


def service(llm, escalation="never", provider=None, conn=None, **settings):
    settings = Settings(_env_file=None, escalation=escalation, **settings)
    retriever = FixedRetriever(Retrieved(PASSAGES, 0.6))
    large = None
    if provider is not None:
        large = LargeModel(provider, Budget(60, 10_000, 200), retriever.embedder.count_tokens, settings)
    cache = AnswerCache(conn, threshold=0.84) if conn is not None else None
    return AnswerService(retriever, llm, settings, large, cache)


def judged(prompt: str) -> str:
    return prompt.split("Proposed answer: ", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize(
    "text,pieces",
    [
        ("Paris is big [1]. It has 2.1 million people [1]. ", ["Paris is big [1]. ", "It has 2.1 million people [1]. "]),
        ("Dr. Smith approves it. Then it is paid.", ["Dr. Smith approves it. ", "Then it is paid."]),
        ("Costs:\n- rent 5\n- food 3", ["Costs:\n", "- rent 5\n", "- food 3"]),
        ("  no end yet", ["  no end yet"]),
        ("", []),
    ],
)
def test_an_answer_is_cut_into_sentences_that_join_back(text, pieces):
    assert spans(text) == pieces and "".join(spans(text)) == text


def test_the_judge_reads_only_the_cited_passages_the_question_and_the_answer():
    system, user = judge_prompt("Capital of France?", "Paris [1]", [PASSAGES[0]])
    assert "reply yes if the source states that answer" in system["content"]
    assert "Paris is the capital" in user["content"] and "Berlin" not in user["content"]
    assert "Proposed answer: Paris\n" in user["content"]  # its markers are not the answer


def test_a_supported_answer_is_given_with_its_support():
    llm = FakeLLM(["Paris [1]"], support=0.9)
    answer = service(llm, verify_threshold=0.5).ask(ASK, "c")
    assert not answer.refused and answer.answer == "Paris [1]"
    assert (answer.answered_by, answer.answered_by_reason, answer.support) == ("local", "verified", 0.9)
    assert llm.avoided == ["NOT FOUND"]  # its best answer is asked for, even where it would write NOT FOUND


def test_an_unsupported_answer_is_refused_never_or_escalated_when_needed():
    answer = service(FakeLLM(["Lyon [1]"], support=0.2), verify_threshold=0.5).ask(ASK, "c")
    assert answer.refused and answer.answer == REFUSAL and answer.answered_by_reason == "unsupported"
    assert answer.support == 0.2 and answer.answered_by_detail.endswith("< 0.50")
    provider = FakeProvider("Paris [1]")
    answer = service(FakeLLM(["Lyon [1]"], support=0.2), "when_needed", provider, verify_threshold=0.5).ask(ASK, "c")
    assert (answer.answered_by, answer.answered_by_reason, answer.answer, provider.calls) == \
        ("large", "unsupported", "Paris [1]", 1)
    provider = FakeProvider()
    answer = service(FakeLLM(["Paris [1]"], support=0.9), "when_needed", provider).ask(ASK, "c")
    assert answer.answered_by == "local" and provider.calls == 0


def test_the_support_is_that_the_passages_hold_an_answer_and_state_this_one():
    """P(yes) of the judgement times 1 - P(NOT FOUND) before the model wrote: a sure judge of a proposal the model
    hesitated to make is not enough."""
    answer = service(FakeLLM(["Paris [1]"], support=0.8, refusal_chance=0.5), verify_threshold=0.5).ask(ASK, "c")
    assert answer.refused and answer.support == pytest.approx(0.4) and answer.refusal_probability == 0.5
    assert "P(yes) 0.80 × (1 − P(NOT FOUND) 0.50)" in answer.answered_by_detail
    answer = service(FakeLLM(["Paris [1]"], support=0.8, refusal_chance=0.1), verify_threshold=0.5).ask(ASK, "c")
    assert not answer.refused and answer.support == pytest.approx(0.72)


def test_without_the_models_probabilities_the_answers_own_text_is_checked():
    """A backend that cannot score (support None) gets the check on figures, names and words."""
    assert not service(FakeLLM(["Paris [1]"])).ask(ASK, "c").refused
    answer = service(FakeLLM(["Lyon has 9 million people [1]"])).ask(ASK, "c")
    assert answer.refused and answer.answered_by_reason == "unsupported" and "9" in answer.answered_by_detail


def test_a_long_answer_loses_its_unsupported_sentences_and_the_stream_says_so_too():
    reply = "Paris is the capital [1]. The scale affects the taste of the coffee [1]. It has 2 million people [1]."
    llm = FakeLLM([reply], support=lambda prompt: 0.1 if "coffee" in judged(prompt) else 0.9)
    events = list(service(llm).stream(WHY, "c"))
    done = events[-1]
    assert done["answer"] == "Paris is the capital [1]. It has 2 million people [1]."
    assert streamed(events) == done["answer"] and "1 unsupported sentence left out" in done["answered_by_detail"]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert tokens[0] == "Paris is the capital [1]."  # each sentence goes out once verified


def test_a_long_answer_whose_first_sentence_is_unsupported_stops_there():
    reply = "The coffee costs 2 euros [2]. " + "It is served hot [2]. " * 20
    llm = FakeLLM([reply], support=lambda prompt: 0.1 if "coffee" in judged(prompt) else 0.9)
    s = service(llm)
    events = list(s.stream(WHY, "c"))
    assert events[-1]["refused"] and events[-1]["answered_by_reason"] == "unsupported"
    assert streamed(events) == REFUSAL
    provider = FakeProvider("Paris matters as the capital [1].")
    llm = FakeLLM([reply], support=lambda prompt: 0.1 if "coffee" in judged(prompt) else 0.9)
    answer = service(llm, "when_needed", provider).ask(WHY, "c")
    assert answer.answered_by == "large" and answer.answer == "Paris matters as the capital [1]."


def test_the_cache_keeps_verified_answers_and_refusals_and_a_fresh_answer_replaces_them(tmp_path):
    conn = open_catalog(Settings(_env_file=None, data_dir=tmp_path))
    conn.create_collection("c")
    llm = FakeLLM(["Lyon [1]", "Paris [1]", "Paris, France [1]"],
                  support=lambda prompt: 0.2 if judged(prompt) == "Lyon" else 0.9)
    s = service(llm, conn=conn)
    assert s.ask(ASK, "c").refused  # a refusal made with this version of the documents: kept
    assert s.ask(ASK, "c").answered_by == "cache"
    fresh = s.ask(ASK, "c", cache=False)
    assert fresh.answer == "Paris [1]" and fresh.answered_by == "local"
    again = s.ask(ASK, "c")
    assert again.answered_by == "cache" and again.answer == "Paris [1]"  # the fresh answer replaced the refusal


def test_an_answer_the_large_model_should_have_given_is_not_cached(tmp_path):
    conn = open_catalog(Settings(_env_file=None, data_dir=tmp_path))
    conn.create_collection("c")
    down = FakeProvider(BackendUnavailable("down"), BackendUnavailable("down"))
    s = service(FakeLLM(["Lyon [1]", "Lyon [1]"], support=0.2), "when_needed", down, conn=conn, large_retries=0)
    first = s.ask(ASK, "c")
    assert first.refused and first.answered_by_reason == "large_unavailable" and "down" in first.answered_by_detail
    assert s.ask(ASK, "c").answered_by == "local" and down.calls == 2


class Counting(FakeLLM):
    """Counts the pieces it was asked for: a generation stopped early asks for fewer."""

    written = 0

    def stream(self, *args, **kwargs):
        for piece in super().stream(*args, **kwargs):
            self.written += 1
            yield piece


def test_with_a_second_reader_a_long_answer_is_verified_while_it_is_written():
    reply = "The coffee costs 2 euros [2]. " + "It is served hot [2]. " * 20
    writer = Counting([reply])
    judge = FakeLLM(support=lambda prompt: 0.1 if "coffee" in judged(prompt) else 0.9)
    s = AnswerService(FixedRetriever(Retrieved(PASSAGES, 0.6)), writer, Settings(_env_file=None), judge=judge)
    assert s.verify_while_writing
    answer = s.ask(WHY, "c")
    assert answer.refused and answer.answered_by_reason == "unsupported"
    assert writer.written < 12 < len(reply.split())  # it stopped once its first sentence failed
    writer = Counting(["Paris is the capital [1]. It has 2 million people [1]."])
    s = AnswerService(FixedRetriever(Retrieved(PASSAGES, 0.6)), writer, Settings(_env_file=None),
                      judge=FakeLLM(support=0.9))
    events = list(s.stream(WHY, "c"))
    first = next(i for i, e in enumerate(events) if e["type"] == "token")
    assert events[first]["text"] == "Paris is the capital [1]." and streamed(events) == events[-1]["answer"]


def test_the_verifiers_time_is_reported_apart_from_the_models_writing():
    import time

    class SlowJudge(FakeLLM):
        def start_probability(self, messages, start):
            time.sleep(0.05)
            return super().start_probability(messages, start)

    writer = FakeLLM(["Paris is the capital [1]. It has 2 million people [1]."])
    s = AnswerService(FixedRetriever(Retrieved(PASSAGES, 0.6)), writer, Settings(_env_file=None),
                      judge=SlowJudge(support=0.9))
    timings = s.ask(WHY, "c").timings
    assert timings["verify_s"] >= 0.2  # two sentences, two readings (yes, no) each
    assert timings["generation_s"] < 0.1  # the fake writes at once: the judge's time is not counted as writing
    assert timings["generation_s"] + timings["verify_s"] + timings["retrieval_s"] <= timings["total_s"]


@pytest.mark.parametrize("text,expected", [
    ("The report by Apple's CFO and R&D in Q3", ["Apple", "CFO", "R&D"]),  # possessive dropped; Q3 is a figure
    ("Sales rose. Margins fell in Europe.\nRevenue: Amazon led", ["Europe"]),  # openings (and after ":") are not
    ('He said "Hamlet" was by Shakespeare; Then I left', ["Hamlet", "Shakespeare"]),  # "I", a letter, is no name
    ("non-GAAP figures of the 10-Qs and NP-complete problems", ["NP-complete"]),
])
def test_a_name_is_a_word_capitalised_inside_a_sentence(text, expected):
    from rag.text import names

    assert names(text) == expected
