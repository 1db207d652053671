"""Names from callers: file names shortened in bounded time, collection and tenant names matched whole."""

import pytest

from rag.chunks import check_collection
from rag.errors import RagError
from rag.tenants import check_key, check_tenant, collection_key
from ingest.uploads import MAX_NAME_BYTES, safe_name


@pytest.mark.timeout(5)
@pytest.mark.parametrize("name", [
    "Memo for Mr. Smith about the " + "quarterly figures and what they mean " * 8,  # no extension, a '.' early
    "a." + "b" * 300,
    "x" * 400 + ".pdf",
    "é" * 300 + ".txt",  # two bytes a letter: cut on a letter's boundary
    "." + "y" * 250,
])
def test_long_names_are_shortened_not_looped_on(name):
    safe = safe_name(name)
    assert 0 < len(safe.encode()) <= MAX_NAME_BYTES
    assert safe.encode().decode() == safe
    if name.endswith((".pdf", ".txt")):
        assert safe.endswith(name[-4:])


def test_a_name_of_dots_is_refused():
    with pytest.raises(RagError, match="file name"):
        safe_name(". . .")


@pytest.mark.parametrize("bad", ["x\n", "x\r\n", "\nx", "x ", "a.b", "", "-x", "x" * 64, "ä", None, 5])
def test_collection_names_are_matched_whole(bad):
    with pytest.raises(RagError):
        check_collection(bad)
    with pytest.raises(RagError):
        check_tenant(bad)


def test_keys_with_a_trailing_newline_are_refused():
    with pytest.raises(RagError):
        collection_key("acme", "docs\n")
    with pytest.raises(RagError):
        check_key("acme\n.docs")
    assert collection_key("acme", "docs") == "acme.docs"
    assert check_collection("a" * 63) == "a" * 63


def test_the_word_index_reads_cjk_runs_as_pairs_and_other_text_as_its_words():
    from rag.text import index_terms, query_words

    assert index_terms("黑豹队 won 308") == "黑豹 豹队 won 308"
    assert index_terms("Wie viele Tage Urlaub hat jeder Mitarbeiter im Jahr?") == (
        "wie viele tage urlaub hat jeder mitarbeiter im jahr")  # German: no English stems
    assert query_words("黑豹队的防守？") == ["黑豹", "豹队", "队的", "的防", "防守"]
    assert query_words("How did the Panthers defend?") == ["panthers", "defend", "0panther", "0defend"]
