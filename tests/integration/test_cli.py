"""The batch ingest command: arguments, summaries, exit codes, the store lock and resuming."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from ingest.cli import app
from rag.lock import StoreLock
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.integration


def catalog_of(env):
    from rag.catalog import open_catalog
    from rag.settings import Settings

    return open_catalog(Settings(_env_file=None, data_dir=env / "store"))


@pytest.fixture
def env(tmp_path, monkeypatch):
    from rag.settings import get_settings

    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "store"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "args,exit_code,expected",
    [
        ([str(SAMPLES), "--json"], 0, '"ingested": 5'),
        ([str(SAMPLES / "release-notes.txt"), "--json", "--collection", "notes"], 0, '"collection": "notes"'),
        (["/no/such/folder"], 2, "no such file or folder"),
        ([str(SAMPLES), "--collection", "bad name!"], 2, "invalid collection name"),
        ([str(SAMPLES), "--workers", "0"], 2, "Invalid value"),
        ([], 2, "give files or folders to ingest (or --reembed)"),
        (["--reembed", str(SAMPLES)], 2, "--reembed reads no file"),
    ],
)
def test_arguments_and_exit_codes(env, args, exit_code, expected):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == exit_code, result.output
    assert expected in result.output


def test_the_samples_go_into_their_collection_once(env):
    first = CliRunner().invoke(app, [str(SAMPLES), "--collection", "samples", "--unless-exists", "--json"])
    assert first.exit_code == 0 and json.loads(first.stdout)["ingested"] == 5
    again = CliRunner().invoke(app, [str(SAMPLES), "--collection", "samples", "--unless-exists", "--json"])
    assert again.exit_code == 0 and again.stdout == "" and "exists: nothing ingested" in again.output
    assert {d.collection for d in catalog_of(env).list()} == {"samples"}  # never the user's default


def test_json_summary_lists_every_file_and_failure(env):
    folder = env / "docs"
    shutil.copytree(SAMPLES, folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    result = CliRunner().invoke(app, [str(folder), "--json", "--prune"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["ingested"], summary["failed"]) == (5, 1)
    assert summary["failures"][0]["source"].endswith("broken.pdf") and summary["failures"][0]["reason"]
    (folder / "broken.pdf").unlink()
    summary = json.loads(CliRunner().invoke(app, [str(folder), "--json", "--prune"]).stdout)
    assert summary["unchanged"] == 5 and [p.rsplit("/", 1)[-1] for p in summary["pruned"]] == ["broken.pdf"]


def test_second_process_gets_a_clear_error(env):
    with StoreLock(env / "store", "another ingest"):
        result = CliRunner().invoke(app, [str(SAMPLES)])
    assert result.exit_code == 2
    assert "in use by pid" in result.output and "another ingest" in result.output
    assert CliRunner().invoke(app, [str(SAMPLES), "--json"]).exit_code == 0


def test_killed_run_resumes_without_duplicates(env):
    folder = env / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"note-{i:02d}.txt").write_text(
            f"Note {i}. " + " ".join(f"Observation {i}-{j} about sensor {j % 9}." for j in range(150))
        )
    command = [sys.executable, "-m", "ingest", str(folder), "--json"]
    environment = {**os.environ, "RAG_DATA_DIR": str(env / "store")}
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = env / "store" / "rag.sqlite3"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        if db.exists():
            done = len(catalog_of(env).list(status="ingested"))
            if done >= 3:
                break
        time.sleep(0.2)
    assert process.poll() is None, "the run finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 3 <= done < 40

    rerun = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["unchanged"] >= done and summary["unchanged"] + summary["ingested"] == 40

    import chromadb

    chroma = chromadb.PersistentClient(path=str(env / "store" / "chroma")).get_collection("rag_default")
    catalog = catalog_of(env)
    lexical = {c.id for c in catalog.lexical.chunks("default")}
    per_doc = sum(d.chunks for d in catalog.list())
    chroma_ids = chroma.get(include=[])["ids"]
    assert len(chroma_ids) == len(set(chroma_ids)) == len(lexical) == per_doc
    assert set(chroma_ids) == lexical


def test_sigterm_stops_cleanly_and_reports_interruption(env):
    folder = env / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"n{i}.txt").write_text(" ".join(f"Fact {i}-{j} about topic {j}." for j in range(150)))
    environment = {**os.environ, "RAG_DATA_DIR": str(env / "store")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", str(folder), "--json"], cwd=ROOT, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    db = env / "store" / "rag.sqlite3"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if db.exists():
            if catalog_of(env).list(status="ingested"):
                break
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] and 0 < summary["ingested"] < 40
    assert "run the same command to resume" in err


def test_enqueued_files_go_to_the_tenants_collection_within_its_quota(env, monkeypatch):
    from rag.settings import get_settings
    from rag.tenants import collection_key

    monkeypatch.setenv("RAG_TENANT_MAX_DOCUMENTS", "2")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, [str(SAMPLES), "--enqueue", "--tenant", "acme", "--collection", "hr", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["queued"]) == 2
    assert result.output.count("not queued") == 3 and "RAG_TENANT_MAX_DOCUMENTS" in result.output
    pending = catalog_of(env).list()
    assert len(pending) == 2 and {d.status for d in pending} == {"pending"}
    assert {d.collection for d in pending} == {collection_key("acme", "hr")}
