"""The `rag` command: models, ask, and an end-to-end `rag eval` on a tiny generated dataset."""

import json

import pytest
from typer.testing import CliRunner

from ingest.cli import app as ingest_app
from rag.lock import StoreLock
from service.cli import app
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path, monkeypatch):
    from rag.settings import get_settings

    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("RAG_LLM_BACKEND", "fake")
    monkeypatch.setenv("RAG_SERVICE_URL", "http://127.0.0.1:9")  # no service: whatever runs on :8000 here
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_models_list(env):
    result = CliRunner().invoke(app, ["models", "list", "--json"])
    models = {m["name"]: m for m in json.loads(result.stdout)}
    assert set(models) == {"smollm2-135m", "qwen2.5-0.5b", "qwen2.5-1.5b"}
    assert models["smollm2-135m"]["installed"] and models["smollm2-135m"]["path"].endswith(".gguf")


def test_ask_answers_with_citations(env):
    assert CliRunner().invoke(ingest_app, [str(SAMPLES)]).exit_code == 0
    result = CliRunner().invoke(app, ["ask", "What is the daily meal allowance abroad?", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["refused"] and answer["citations"][0]["name"] == "travel-expense-policy.pdf"
    text = CliRunner().invoke(app, ["ask", "What is the daily meal allowance abroad?"]).stdout
    assert "[1] travel-expense-policy.pdf, page 2" in text
    assert answer["style"] == "short"
    result = CliRunner().invoke(app, ["ask", "What is the daily meal allowance abroad?", "--style", "long", "--json"])
    assert json.loads(result.stdout)["style"] == "long"
    result = CliRunner().invoke(app, ["ask", "What is the daily meal allowance abroad?", "--style", "essay"])
    assert result.exit_code == 2 and "essay" in result.output


@pytest.mark.parametrize(
    "args,expected",
    [
        (["ask", "hi", "--collection", "no/way"], "invalid collection name"),
        (["ask", "hi", "--collection", "typo"], "no collection 'typo'"),
        (["eval", "nonexistent.jsonl"], "no dataset"),
        (["eval", "squad", "--sets", "/nowhere/eval"], "/nowhere/eval, which is missing: pass --sets FOLDER"),
        (["models", "install", "gpt-5"], "unknown model"),
    ],
)
def test_errors_exit_2_with_a_reason(env, args, expected):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and expected in result.output


def test_ask_while_another_process_holds_the_store(env):
    with StoreLock(env / "store", "ingest"):
        result = CliRunner().invoke(app, ["ask", "anything"])
    assert result.exit_code == 2 and "in use by pid" in result.output


DOCS = {
    "volcanoes.txt": "Mount Etna is the tallest active volcano in Europe. It stands on the island of Sicily.",
    "rivers.txt": "The Danube flows through ten countries. It ends in the Black Sea.",
    "bridges.md": "# Bridges\n\nThe Golden Gate Bridge opened in 1937. Its main span is 1280 metres long.",
}
QUESTIONS = [
    {"question": "Which island is Mount Etna on?", "answers": ["Sicily"], "documents": ["volcanoes.txt"]},
    {"question": "Into which sea does the Danube flow?", "answers": ["the Black Sea"], "documents": ["rivers.txt"]},
    {"question": "When did the Golden Gate Bridge open?", "answers": ["1937"], "documents": ["bridges.md"]},
    {"question": "Who designed the Golden Gate Bridge?", "unanswerable": True},
]


def tiny_dataset(env):
    docs = env / "set" / "documents"
    docs.mkdir(parents=True)
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    dataset = env / "set" / "tiny.jsonl"
    dataset.write_text("\n".join(json.dumps(q) for q in QUESTIONS))
    return dataset


def test_eval_end_to_end_on_a_tiny_dataset(env):
    dataset = tiny_dataset(env)
    out = env / "report"
    result = CliRunner().invoke(app, ["eval", str(dataset), "--k", "1", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    # k=1: each answerable question's single passage is its own document, holding the answer.
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (4, 3, 1)
    assert summary["answer_recall"] == 1.0 and summary["doc_recall"] == 1.0 and summary["mrr"] == 1.0
    assert summary["long_answers"] == 0.0 and summary["answer_style"] == "auto"  # four factoid questions
    # The fake model quotes the first sentence of source 1, so F1 is known: none of those sentences
    # holds its question's answer.
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert [r["answer"] for r in rows[:3]] == [
        "Mount Etna is the tallest active volcano in Europe [1]",
        "The Danube flows through ten countries [1]",
        "# Bridges [1]",
    ]
    assert [r["f1"] for r in rows[:3]] == [0.0, 0.0, 0.0]
    assert summary["f1"] == 0.0 and summary["em"] == 0.0
    assert summary["refusal_accuracy"] == 0.0  # the fake never refuses the bridge question
    assert summary["answered_when_retrieved"] == 1.0
    assert 0 <= summary["verify_share"] < 1 and "support_auc" in summary  # the fake cannot judge: no AUC
    assert (out / "report.md").read_text().startswith("# rag eval: tiny")
    assert (out / "chart.png").read_bytes()[:4] == b"\x89PNG"
    retrieval = json.loads(CliRunner().invoke(app, ["eval", str(dataset), "--retrieval-only", "--json"]).stdout)[0]
    assert "f1" not in retrieval and retrieval["doc_recall"] == 1.0
    logged = CliRunner().invoke(app, ["eval", str(dataset), "--retrieval-only"])  # not a terminal: progress lines
    assert logged.exit_code == 0 and "tiny retrieval: 4/4 questions in" in logged.stderr
    assert any("doc_recall" in line and "1.000" in line for line in logged.stdout.splitlines())  # 80 columns


def test_eval_without_its_extra_says_how_to_get_it(env, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as installed without the eval extra
    result = CliRunner().invoke(app, ["eval", str(tiny_dataset(env)), "--retrieval-only"])
    assert result.exit_code == 2 and "smallrag[eval]" in result.output


def test_eval_interrupted_reports_the_questions_done(env, monkeypatch):
    from rag.llm import FakeLLM

    dataset = tiny_dataset(env)
    (dataset.parent / "documents" / "empty.txt").write_text("")
    answer = FakeLLM.stream
    calls = []

    def ctrl_c_on_the_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        yield from answer(self, *args, **kwargs)

    monkeypatch.setattr(FakeLLM, "stream", ctrl_c_on_the_third)
    out = env / "report"
    result = CliRunner().invoke(app, ["eval", str(dataset), "--k", "1", "--json", "--out", str(out)])
    assert result.exit_code == 130
    [summary] = json.loads(result.stdout)
    assert summary["interrupted"] and summary["questions"] == 2 and summary["doc_recall"] == 1.0
    assert len((out / "rows.jsonl").read_text().splitlines()) == 2
    assert "first 2 of its 4 questions" in result.stderr
    assert "k=1 cover only the questions done before (questions: 2)." in (out / "report.md").read_text()
    assert "not ingested:" in result.stderr and "empty.txt: empty file" in result.stderr


def test_eval_interrupted_while_ingesting_reports_nothing(env, monkeypatch):
    from ingest.pipeline import Ingestor

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Ingestor, "_run", ctrl_c)
    result = CliRunner().invoke(app, ["eval", str(tiny_dataset(env)), "--json"])
    assert result.exit_code == 130 and result.stdout == ""
    assert "interrupted before the questions" in result.stderr


def test_commands_find_the_models_and_the_store_from_any_directory(tmp_path):
    """Run from elsewhere, the defaults are the checkout's models and store, not folders under the cwd."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("RAG_")}
    probe = "from rag.settings import Settings; s = Settings(); print(s.models_dir); print(s.data_dir)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(ROOT / "models"), str(ROOT / "data" / "store")]
    listed = subprocess.run([sys.executable, "-m", "service", "models", "list", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert {m["name"]: m["installed"] for m in json.loads(listed)}["smollm2-135m"] is True
