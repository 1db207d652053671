"""Which files a run reads, and the names they get in a collection: never where they lie on this disk."""

from ingest.files import collect_files, source_names
from rag.catalog import document_id


def test_files_are_named_from_the_folder_given_and_alone_by_their_name(tmp_path, monkeypatch):
    (tmp_path / "docs" / "2024").mkdir(parents=True)
    (tmp_path / "docs" / "2024" / "a.md").write_text("a")
    (tmp_path / "docs" / ".hidden").mkdir()
    (tmp_path / "docs" / ".hidden" / "b.md").write_text("b")
    (tmp_path / "handbook.txt").write_text("h")
    monkeypatch.chdir(tmp_path)
    paths = [tmp_path / "docs", tmp_path / "handbook.txt"]
    files, skipped = collect_files(paths)
    names = source_names(paths, files)
    assert sorted(names.values()) == ["docs/2024/a.md", "handbook.txt"]
    # The same folder elsewhere (another machine's mount, a relative argument) gives the same names.
    elsewhere = tmp_path / "mnt" / "share"
    elsewhere.mkdir(parents=True)
    (tmp_path / "docs").rename(elsewhere / "docs")
    moved = [elsewhere / "docs"]
    assert list(source_names(moved, collect_files(moved)[0]).values()) == ["docs/2024/a.md"]
    relative = [elsewhere.relative_to(tmp_path) / "docs"]
    assert list(source_names(relative, collect_files(relative)[0]).values()) == ["docs/2024/a.md"]
    assert document_id("c", "docs/2024/a.md") != document_id("other", "docs/2024/a.md")
