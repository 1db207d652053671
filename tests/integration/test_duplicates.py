"""Copies of one content: deleting the original hands its content to the oldest copy, the others follow it;
a copy whose bytes are gone says so; staged files a killed process left are cleared at the next start."""

import time

import pytest
from fastapi.testclient import TestClient

from rag.llm import FakeLLM
from tests.integration.test_api import upload, wait_for

pytestmark = pytest.mark.integration
NOTE = b"The night porter of the Alder building is Ottavio Brandt. He starts at ten."


@pytest.fixture
def services(settings, embedder):
    from service.container import build_services

    return build_services(settings, embedder, FakeLLM())


def test_deleting_an_original_hands_its_content_to_a_copy(services):
    from service.app import create_app

    with TestClient(create_app(services)) as client:
        ids = []
        for name in ("first.txt", "second.txt", "third.txt"):  # one at a time: arrival order decides the original
            body = upload(client, (name, NOTE)).json()
            assert wait_for(client, body["job_id"])["status"] == "done"
            ids.append(body["documents"][0]["document_id"])
        docs = {d["name"]: d for d in client.get("/documents").json()}
        assert docs["first.txt"]["status"] == "ingested"
        assert docs["second.txt"]["duplicate_of"] == docs["third.txt"]["duplicate_of"] == ids[0]

        assert client.delete(f"/documents/{ids[0]}").status_code == 204
        deadline = time.monotonic() + 60
        while client.get(f"/documents/{ids[1]}").json()["status"] != "ingested":
            assert time.monotonic() < deadline, (client.get(f"/documents/{ids[1]}").json()["status"], client.get(f"/documents/{ids[1]}").json()["error"])
            time.sleep(0.2)
        heir, other = client.get(f"/documents/{ids[1]}").json(), client.get(f"/documents/{ids[2]}").json()
        assert heir["chunks"] >= 1 and heir["duplicate_of"] is None
        assert (other["status"], other["duplicate_of"]) == ("duplicate", ids[1])
        answer = client.post("/chat", json={"question": "Who is the night porter of the Alder building?"}).json()
        assert not answer["refused"] and answer["citations"][0]["name"] == "second.txt"


def two_copies_on_disk(services, tmp_path):
    """a.txt and b.txt of one content, ingested from their files: a the original, b its duplicate."""
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_bytes(NOTE)
    services.ingestor.ingest([folder / "a.txt", folder / "b.txt"], "default")
    return folder


def test_a_copy_whose_bytes_are_gone_fails_saying_so(services, tmp_path):
    folder = two_copies_on_disk(services, tmp_path)
    a, b = (services.catalog.get(services.catalog.list("default")[i].id) for i in (0, 1))
    assert (a.status, b.status) == ("ingested", "duplicate")
    (folder / "b.txt").unlink()  # the copy's file is gone, and it was never uploaded
    assert services.ingestor.delete_document(a.id) is None
    assert services.catalog.get(b.id).status == "failed" and "gone" in services.catalog.get(b.id).error


def test_pruning_an_original_lets_a_copy_on_disk_take_over(services, tmp_path):
    folder = two_copies_on_disk(services, tmp_path)
    (folder / "a.txt").unlink()
    assert services.ingestor.prune("default") == ["a.txt"]
    [b] = services.catalog.list("default")
    assert (b.source, b.status, b.chunks > 0) == ("b.txt", "ingested", True)


def test_staged_files_left_by_a_killed_process_are_cleared_at_start(services):
    from service.app import create_app

    scratch = services.settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / ".upload-abc").write_bytes(b"half an upload")
    (scratch / "tmpjob").mkdir()
    (scratch / "tmpjob" / "0").write_bytes(b"a job's staged file")
    with TestClient(create_app(services)):
        assert list(scratch.iterdir()) == []
