"""What a client asks of an answer's form (an OpenAI request's system message, max_tokens, temperature), and
timings that add up: with the fake model, deterministic."""

import pytest

from rag.answer import Form, build_prompt
from rag.answer.prompt import FORM, SYSTEM
from rag.answer.steps import STEPS
from rag.catalog import open_catalog
from rag.llm import FakeLLM
from rag.settings import Settings
from service.openai_api import ChatCompletionRequest, InvalidParameter
from tests.unit.test_answer import PASSAGES
from tests.unit.test_cascade import ASK, service


def test_an_instruction_follows_the_question_and_leaves_the_rules_alone():
    plain = build_prompt("Capital?", PASSAGES[:1])
    shaped = build_prompt("Capital?", PASSAGES[:1], instruction="Answer in French.")
    assert shaped[0] == plain[0] == {"role": "system", "content": SYSTEM}
    assert shaped[1]["content"] == plain[1]["content"] + f"\n\n{FORM}Answer in French."


def test_the_answer_is_cut_at_the_clients_max_tokens_and_says_so():
    llm = FakeLLM(["Paris is the capital [1]"], support=0.9)
    cut = service(llm, escalation="never").ask(ASK, "c", form=Form(max_tokens=2))
    assert (cut.answer, cut.finish_reason, cut.timings["answer_tokens"]) == ("Paris is [1]", "length", 2)
    whole = service(FakeLLM(["Paris [1]"], support=0.9), escalation="never").ask(ASK, "c")
    assert whole.finish_reason == "stop"


def test_a_sampled_answer_is_neither_served_from_nor_kept_in_the_cache(tmp_path):
    conn = open_catalog(Settings(_env_file=None, data_dir=tmp_path))
    llm = FakeLLM(["Paris [1]"] * 3, support=0.9)
    svc = service(llm, conn=conn, escalation="never")
    assert svc.ask(ASK, "c", form=Form(temperature=0.8)).answered_by == "local"
    assert svc.ask(ASK, "c").answered_by == "local"  # nothing was kept by the sampled one
    assert svc.ask(ASK, "c", form=Form(temperature=0.8)).answered_by == "local"  # nor served to one
    assert llm.temperatures == [0.8, 0.0, 0.8]
    assert svc.ask(ASK, "c", form=Form(instruction="In French.")).answered_by == "local"  # another form: apart


@pytest.mark.parametrize("reply", ["Paris [1]", "NOT FOUND"])
def test_every_second_of_an_answer_is_in_a_named_step(reply):
    answer = service(FakeLLM([reply], support=0.9), escalation="never").ask(ASK, "c")
    timings = answer.timings
    steps = sum(timings.get(step, 0.0) for step in STEPS)
    assert abs(steps + timings["other_s"] - timings["total_s"]) < 0.005
    assert set(timings) - set(STEPS) <= {"total_s", "other_s", "first_token_s", "answer_tokens"}


def test_an_openai_request_becomes_a_form_or_is_refused():
    request = ChatCompletionRequest(model="rag", max_tokens=50, max_completion_tokens=20, temperature=0.3, messages=[
        {"role": "system", "content": "Answer in German."}, {"role": "user", "content": "Wie viele Urlaubstage?"}])
    assert request.form() == Form("Answer in German.", 20, 0.3)
    assert request.as_messages() == [{"role": "user", "content": "Wie viele Urlaubstage?"}]
    for extra in ({"n": 3}, {"top_p": 0.5}, {"presence_penalty": 1}, {"logit_bias": {"1": 2}}):
        with pytest.raises(InvalidParameter) as caught:
            ChatCompletionRequest(model="rag", messages=[{"role": "user", "content": "Q?"}], **extra).check_supported()
        assert caught.value.param == next(iter(extra))
    ChatCompletionRequest(model="rag", n=1, top_p=1, seed=3, user="u", messages=[
        {"role": "user", "content": "Q?"}]).check_supported()  # defaults and harmless ones pass


def test_an_answer_in_line_says_how_many_are_ahead_until_its_turn():
    import threading

    svc = service(FakeLLM(["Paris [1]"], support=0.9), escalation="never")
    holder = svc.turns.join()
    assert svc.turns.wait(holder, 0)  # another answer holds the model
    threading.Timer(1.5, svc.turns.leave, args=(holder, 1.5)).start()
    events = list(svc.stream(ASK, "c"))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "waiting" and events[0]["ahead"] == 1 and events[0]["expected_s"] >= 1
    assert kinds.count("waiting") >= 2 and kinds[-1] == "done"  # told again while in line
    assert events[-1]["timings"]["queued_s"] >= 1.0
