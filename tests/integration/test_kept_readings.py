"""Kept passage readings (rag.llm.prefill) with the real SmolLM2 in llama.cpp."""

import pytest

from rag.answer import build_prompt
from rag.answer.prompt import SOURCES, SYSTEM
from rag.chunks import Chunk
from rag.llm.passage_states import PassageStates
from rag.llm.prefill import pieces

pytestmark = pytest.mark.integration

VACATION = "Every employee has 28 days of paid vacation per calendar year. Up to 5 unused days carry over."
LEAVE = "Parental leave is 16 weeks, fully paid, for every parent."
HOURS = "The office opens at 8 am and closes at 6 pm on weekdays."


def model(states=None):
    from rag.llm import LlamaCppLLM
    from rag.models import BUNDLED, locate

    llm = LlamaCppLLM(locate(BUNDLED["smollm2-135m"], "models"), n_ctx=2048)
    if states is not None:
        llm.keep_passages(states)
    return llm


def prompt(question, texts):
    return build_prompt(question, [Chunk(str(i), "d", "c", f"doc{i}.md", t, i, 0, 0) for i, t in enumerate(texts)])


def answer(llm, messages, texts):
    llm._llama.reset()  # noqa: SLF001 - nothing left from the last answer
    kept = llm.prefill(messages, [("c", t) for t in texts], SOURCES)
    return kept, "".join(llm.stream(messages, 24))


def test_a_passage_put_back_where_it_was_read_gives_the_answer_read_fresh(tmp_path):
    # the passage's first token right after the fixed instructions: its kept reading is where it is read
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"{SOURCES}{LEAVE}\n\nQuestion: How long is parental leave?"}]
    # read fresh in the same three parts (llama.cpp's sums differ in their last bits between batch sizes)
    reader = model()
    tokens, fixed, split = pieces(reader, messages, [LEAVE], SOURCES)
    assert [len(part) > 0 for part, _ in split] == [False, True, True]
    for part in (tokens[:fixed], split[1][0], split[2][0]):
        reader._llama.eval(part)  # noqa: SLF001
    fresh = "".join(reader.stream(messages, 24))
    states = PassageStates(tmp_path, 10**9)
    llm = model(states)
    assert answer(llm, messages, [LEAVE]) == (True, fresh)  # read apart and kept
    assert answer(llm, messages, [LEAVE]) == (True, fresh) and states.hits == 1  # put back from disk


def test_kept_readings_are_reused_a_changed_passage_is_read_again_and_a_spoiled_one_is_a_miss(tmp_path):
    states = PassageStates(tmp_path, 10**9)
    llm = model(states)
    texts = [VACATION, LEAVE, HOURS]
    question = "How many days of paid vacation does an employee get?"
    cold = answer(llm, prompt(question, texts), texts)
    cold_read = llm.reading()["read_tokens"]
    assert cold[0] and (states.hits, states.misses) == (0, 3)
    assert answer(llm, prompt(question, texts), texts) == cold and (states.hits, states.misses) == (3, 3)
    passages = sum(len(llm._llama.tokenize(t.encode(), add_bos=False)) for t in texts)  # noqa: SLF001
    assert llm.reading()["read_tokens"] - cold_read < cold_read - passages / 2  # the passages not read again

    changed = [VACATION.replace("28", "30"), LEAVE, HOURS]
    edited = answer(llm, prompt(question, changed), changed)
    assert edited[0] and (states.hits, states.misses) == (5, 4)  # the edited passage missed; the others were kept
    llm.passage_states = PassageStates(tmp_path / "empty", 10**9)
    assert answer(llm, prompt(question, changed), changed) == edited  # as from nothing kept: no old state served
    llm.passage_states = states

    for f in tmp_path.glob("*.kv"):
        f.write_bytes(f.read_bytes()[:100])
    assert answer(llm, prompt(question, texts), texts) == cold and states.misses == 7


def test_the_service_keeps_readings_within_its_bound(settings, embedder, tmp_path):
    from rag.answer import AnswerService
    from rag.retrieval import Retrieved
    from tests.unit.test_answer import FixedRetriever

    chunks = [Chunk(str(i), "d", "c", f"doc{i}.md", t, i, 0, 0) for i, t in enumerate([VACATION, LEAVE, HOURS])]
    bounded = settings.model_copy(update={"passage_cache_mb": 2, "data_dir": tmp_path})  # SmolLM2: ~0.5 MB a passage
    llm = model()
    service = AnswerService(FixedRetriever(Retrieved(chunks, 0.6)), llm, bounded)
    ask = [{"role": "user", "content": "How long is parental leave?"}]
    first = service.ask(ask, "c", cache=False)
    llm._llama.reset()  # noqa: SLF001
    again = service.ask(ask, "c", cache=False)
    assert again.answer == first.answer and again.timings["read_tokens"] < first.timings["read_tokens"]
    assert first.timings["passages_kept"] < again.timings["passages_kept"] == 3
    assert again.timings["passages_read"] == 0 < first.timings["passages_read"]
    kept = sum(f.stat().st_size for f in (tmp_path / "passage-states").glob("*.kv"))
    assert 0 < kept <= 2 * 2**20 and service.passage_states.size() == kept


def test_metrics_show_the_kept_readings(settings, embedder, tmp_path):
    from types import SimpleNamespace

    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from rag.answer import AnswerService
    from rag.retrieval import Retrieved
    from service.metrics import Metrics
    from tests.unit.test_answer import FixedRetriever

    chunks = [Chunk(str(i), "d", "c", f"doc{i}.md", t, i, 0, 0) for i, t in enumerate([VACATION, HOURS])]
    kept = settings.model_copy(update={"passage_cache_mb": 50, "data_dir": tmp_path})
    service = AnswerService(FixedRetriever(Retrieved(chunks, 0.6)), model(), kept)
    service.ask([{"role": "user", "content": "When does the office open?"}], "c", cache=False)
    services = SimpleNamespace(answers=service, jobs=SimpleNamespace(depth=lambda: 0))
    text = generate_latest(Metrics(services).registry).decode()
    shown = {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}
    states = service.passage_states
    assert states.misses >= 2 and states.size() > 0
    assert shown["rag_passage_states_misses_total"] == states.misses
    assert shown["rag_passage_states_hits_total"] == states.hits
    assert shown["rag_passage_states_bytes"] == states.size()


def test_a_passages_last_tokens_can_be_read_again_in_context(tmp_path):
    llm = model(PassageStates(tmp_path, 10**9))
    texts = [VACATION, LEAVE, HOURS]
    messages = prompt("How long is parental leave?", texts)
    tokens, fixed, whole = pieces(llm, messages, texts, SOURCES)
    _, _, reread = pieces(llm, messages, texts, SOURCES, reread=4)
    assert [len(p) for p, _ in reread] == [len(p) + (4 if i % 2 == 0 and i else -4 if i % 2 else 0)
                                          for i, (p, _) in enumerate(whole)]
    assert [t for p, _ in reread for t in p] == tokens[fixed:]
    llm.reread = 4
    assert answer(llm, messages, texts)[0] and llm.passage_states.misses == 3


@pytest.fixture
def warm_env(tmp_path, monkeypatch):
    from rag.settings import get_settings

    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("RAG_LLM_MODEL", "smollm2-135m")
    monkeypatch.setenv("RAG_LLM_CONTEXT", "2048")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_ingest_warm_keeps_every_passage_so_the_first_question_reads_none(warm_env, monkeypatch):
    from typer.testing import CliRunner

    from ingest.cli import app
    from rag.answer import AnswerService
    from rag.catalog import open_catalog
    from rag.retrieval import Retrieved
    from rag.settings import get_settings
    from tests.conftest import SAMPLES
    from tests.unit.test_answer import FixedRetriever

    monkeypatch.setenv("RAG_PASSAGE_CACHE_MB", "300")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, [str(SAMPLES / "employee-handbook.md"), "--collection", "hr", "--warm"])
    assert result.exit_code == 0, result.output
    settings = get_settings()
    chunks = open_catalog(settings).lexical.chunks("hr")
    assert f"{len(chunks)} passages' readings kept" in result.output and len(chunks) >= 2
    service = AnswerService(FixedRetriever(Retrieved(chunks[:3], 0.6)), model(), settings)
    answer = service.ask([{"role": "user", "content": "How many vacation days are there?"}], "hr", cache=False)
    assert answer.timings["passages_read"] == 0 < answer.timings["passages_kept"]
    assert service.passage_states.misses == 0


@pytest.mark.parametrize("cache_mb,args,expected", [
    ("0", [], "kept passage readings are off"),
    ("1", [], "too large to warm"),
    ("300", ["--enqueue"], "without --enqueue"),
])
def test_ingest_warm_says_why_it_cannot(warm_env, monkeypatch, cache_mb, args, expected):
    from typer.testing import CliRunner

    from ingest.cli import app
    from rag.settings import get_settings

    from tests.conftest import SAMPLES

    monkeypatch.setenv("RAG_PASSAGE_CACHE_MB", cache_mb)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, [str(SAMPLES), "--collection", "all", "--warm", *args])
    assert result.exit_code == 2 and expected in result.output, result.output


def test_uploads_are_read_ahead_when_the_service_is_told_to(settings, embedder):
    from service.container import build_services
    from tests.conftest import SAMPLES

    told = settings.model_copy(update={"passage_cache_mb": 300, "warm_uploads": True, "queue": "immediate",
                                       "cache": False})
    services = build_services(told, embedder, model())
    services.jobs.queue.start(services.jobs.run)  # each job runs when submitted
    library = services.library.for_tenant("default")
    with open(SAMPLES / "release-notes.txt", "rb") as f:
        job_id, _, _ = library.upload([("release-notes.txt", f)], None)
    assert library.job(job_id)["status"] == "done"
    states = services.answers.passage_states
    assert states.size() > 0 and states.hits == 0  # every passage read ahead, none yet asked about
    answer = services.answers.ask([{"role": "user", "content": "When was version 3.2.0 released?"}],
                                  library.collection(None))
    assert answer.timings["passages_read"] == 0 < answer.timings["passages_kept"]
