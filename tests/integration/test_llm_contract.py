"""One contract for every LLM backend: the fake, SmolLM2 in process, and SmolLM2 behind a real
OpenAI-compatible server (llama-cpp-python's own server, started on a free local port)."""

import pytest

from rag.errors import BackendUnavailable
from rag.llm import FakeLLM, LlamaCppLLM, OpenAICompatibleLLM, generate
from tests.helpers.servers import free_port, llama_server, smollm2_path

pytestmark = pytest.mark.integration
MESSAGES = [
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "Sources:\n\n[1] notes.txt\nThe sky is blue.\n\nQuestion: What colour is the sky?"},
]


@pytest.fixture(scope="module")
def server_url():
    with llama_server() as url:
        yield url


@pytest.fixture(params=["fake", "llamacpp", "openai"])
def llm(request):
    if request.param == "fake":
        return FakeLLM()
    if request.param == "llamacpp":
        return LlamaCppLLM(smollm2_path(), n_ctx=2048)
    return OpenAICompatibleLLM(request.getfixturevalue("server_url"), "smollm2")


def test_streams_a_deterministic_reply(llm):
    first = list(llm.stream(MESSAGES, max_tokens=16))
    assert first and all(isinstance(piece, str) for piece in first)
    assert "".join(first).strip()
    assert generate(llm, MESSAGES, max_tokens=16) == "".join(first)


def test_start_probability_is_a_probability_and_keeps_generation_intact(llm):
    before = generate(llm, MESSAGES, max_tokens=16)
    chance = llm.start_probability(MESSAGES, "NOT FOUND")
    assert chance is None or 0.0 <= chance <= 1.0
    assert generate(llm, MESSAGES, max_tokens=16) == before  # the cached prompt is not corrupted


def test_avoid_start_changes_only_the_opening(llm):
    before = generate(llm, MESSAGES, max_tokens=16)
    opening = before.split()[0]
    avoided = "".join(llm.stream(MESSAGES, max_tokens=16, avoid_start=opening))
    if isinstance(llm, LlamaCppLLM):
        assert avoided.strip() and not avoided.lstrip().startswith(opening)
    else:  # the fake and chat servers cannot steer the first token: they reply as usual
        assert avoided == before
    assert generate(llm, MESSAGES, max_tokens=16) == before  # the cached prompt is not corrupted


def test_max_tokens_bounds_the_reply(llm):
    long_request = [{"role": "user", "content": "Count from one to one hundred in words."}]
    assert len("".join(llm.stream(long_request, max_tokens=5)).split()) <= 8


def test_unreachable_server_is_backend_unavailable():
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        generate(OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}", "m"), MESSAGES, max_tokens=4)


def test_mean_logprob_scores_the_question_after_the_sources(llm):
    question = "What colour is the sky?"
    before = generate(llm, MESSAGES, max_tokens=16)
    chance = llm.start_probability(MESSAGES, "NOT FOUND")  # after a generation: the prompt is read again
    expected = llm.mean_logprob(MESSAGES, question)
    assert llm.start_probability(MESSAGES, "NOT FOUND") == pytest.approx(chance, rel=1e-3)  # from the same read
    assert generate(llm, MESSAGES, max_tokens=16) == before  # the cached prompt is not corrupted
    if isinstance(llm, LlamaCppLLM):
        odd = MESSAGES[-1]["content"].replace("the sky?", "the zebra's trombone?")
        odd_question = "What colour is the zebra's trombone?"
        unexpected = llm.mean_logprob([MESSAGES[0], {"role": "user", "content": odd}], odd_question)
        assert expected < 0 and unexpected < expected - 0.5
        assert llm.mean_logprob(MESSAGES, "not in the prompt") is None
    else:
        assert expected is None or expected <= 0


def long_messages(llm, length):
    """MESSAGES with sources padded until the prompt is `length` tokens or just over."""
    sources = ""
    while True:
        messages = [MESSAGES[0], {"role": "user", "content": f"Sources:\n\n[1] notes.txt\n{sources}The sky is blue."
                                                               "\n\nQuestion: What colour is the sky?"}]
        if len(llm._tokens(messages)[0]) >= length:  # noqa: SLF001
            return messages
        sources += "The sea is grey. "


@pytest.mark.parametrize("length", [0, 500], ids=["short", "just under one batch"])
@pytest.mark.parametrize("cached", [False, True], ids=["fresh", "sources cached"])
def test_mean_logprob_is_the_models_own_reading(length, cached):
    """Checked against llama.cpp scoring every position of the same prompt."""
    import numpy as np
    from llama_cpp import Llama

    llm = LlamaCppLLM(smollm2_path(), n_ctx=2048, flash_attn=False)
    messages = long_messages(llm, length)
    if cached:  # the same sources with another question were read just before
        other = messages[-1]["content"].replace("the sky?", "the sea?")
        llm.mean_logprob([messages[0], {"role": "user", "content": other}], "What colour is the sea?")
    tokens, _ = llm._tokens(messages)  # noqa: SLF001
    assert len(tokens) < 512
    reference = Llama(model_path=str(smollm2_path()), n_ctx=512, logits_all=True, verbose=False)
    reference.eval(tokens)
    span = reference.tokenize(b" What colour is the sky?", add_bos=False, special=False)
    start = max(i for i in range(len(tokens)) if tokens[i : i + len(span)] == span)
    scores = []
    for j, token in enumerate(span):
        logits = np.array(reference.scores[start + j - 1], dtype=np.float64)
        scores.append(logits[token] - logits.max() - np.log(np.exp(logits - logits.max()).sum()))
    assert llm.mean_logprob(messages, "What colour is the sky?") == pytest.approx(np.mean(scores), abs=1e-4)


def test_openai_backend_reports_usage(server_url):
    llm = OpenAICompatibleLLM(server_url, "smollm2", max_retries=0)
    text, usage = llm.complete(MESSAGES, max_tokens=8)
    assert text == generate(llm, MESSAGES, max_tokens=8)
    assert usage.reported and usage.prompt_tokens > 10 and 0 < usage.completion_tokens <= 8


def test_a_prompt_longer_than_the_context_is_a_clear_error():
    from rag.errors import ContextTooLong

    llm = LlamaCppLLM(smollm2_path(), n_ctx=128)
    messages = long_messages(llm, 200)
    for call in (lambda: generate(llm, messages, 16), lambda: llm.start_probability(messages, "NOT FOUND"),
                 lambda: llm.mean_logprob(messages, "What colour is the sky?")):
        with pytest.raises(ContextTooLong, match="more than the model reads at once"):
            call()


def test_the_model_says_how_long_it_has_been_busy():
    llm = LlamaCppLLM(smollm2_path(), n_ctx=512)
    assert llm.busy_for() == 0.0
    pieces = llm.stream(MESSAGES, max_tokens=16)
    next(pieces)  # mid-answer: the model is held
    assert llm.busy_for() > 0.0
    pieces.close()
    assert llm.busy_for() == 0.0


def test_a_second_reader_judges_while_the_first_writes(llm):
    """A long answer's sentences are verified while the model goes on writing it (rag.answer.checks) where the
    backend has a second reader: its reading must neither wait for the writer's lock nor disturb what it
    writes. Other backends are one reader (a server may drop a stream for a new request): the service then
    verifies once the answer is written."""
    from rag.answer.verify import Verifier
    from rag.chunks import Chunk
    from rag.llm import second_reader

    reader = second_reader(llm)
    if not isinstance(llm, LlamaCppLLM):
        assert reader is llm
        return
    question = [{"role": "user", "content": "Count from one to twenty in words, separated by commas."}]
    alone = generate(llm, question, max_tokens=24)
    judge = Verifier(reader, 0.5, 0.5)
    sky = Chunk("c1", "d1", "c", "notes.txt", "The sky is blue.", 0, 0, 16)
    scores, written = [], ""
    for piece in llm.stream(question, max_tokens=24):
        written += piece
        scores.append(judge.score("What colour is the sky?", "blue", [sky]))
    assert written == alone
    assert scores[0] is not None and 0.0 <= scores[0] <= 1.0 and len(set(scores)) == 1  # the same judgement
