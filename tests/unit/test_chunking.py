import random

import pytest

from ingest.chunking import Chunker, markdown_blocks
from ingest.loaders import Loaded, Section


def words(text: str) -> int:
    return len(text.split()) + 2


def test_markdown_blocks_follow_heading_path_and_ignore_code_fences():
    text = "# Guide\n\nintro\n\n## Install\nrun it\n```\n# not a heading\n```\n### Linux\napt\n## Use\ncall it\n"
    blocks = markdown_blocks(text)
    assert [b.headings for b in blocks] == ["Guide", "Guide > Install", "Guide > Install > Linux", "Guide > Use"]
    for block in blocks:
        assert text[block.offset : block.offset + len(block.text)] == block.text
    assert "# not a heading" in blocks[1].text


@pytest.mark.parametrize("chunk_tokens,overlap", [(20, 0), (50, 10), (120, 30)])
def test_chunks_fit_the_budget_and_spans_point_into_the_source(chunk_tokens, overlap):
    body = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(400))
    chunker = Chunker(words, chunk_tokens, overlap, max_tokens=chunk_tokens + 5)
    chunks = chunker.split(Loaded("text", [Section(body)]), "doc", "c", "s.txt")
    assert len(chunks) > 5
    assert all(words(c.text) <= chunk_tokens + 5 for c in chunks)
    assert all(body[c.start : c.end] == c.text for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert len(covered) >= len(body.strip()) - len(chunks)  # everything but the joins is covered


def test_pdf_pages_stay_apart_and_boilerplate_is_kept_once():
    footer = "ACME Corp quarterly report, confidential"
    pages = [Section(f"Page {i} reports revenue of {i} million dollars.\n\n{footer}", page=i) for i in (1, 2)]
    pages.append(Section(footer, page=3))
    chunker = Chunker(words, 12, 0, 256)
    chunks = chunker.split(Loaded("pdf", pages), "doc", "c", "a.pdf")
    assert [(c.page, c.text) for c in chunks] == [
        (1, "Page 1 reports revenue of 1 million dollars."),
        (1, footer),
        (2, "Page 2 reports revenue of 2 million dollars."),
    ]
    assert len({c.id for c in chunks}) == len(chunks)


def test_identical_text_in_different_documents_gets_different_ids():
    chunker = Chunker(words, 200, 0, 256)
    loaded = Loaded("text", [Section("The same words in two documents.")])
    a = chunker.split(loaded, "doc-a", "c", "a.txt")
    b = chunker.split(loaded, "doc-b", "c", "b.txt")
    assert a[0].id != b[0].id
    assert a[0].id == chunker.split(loaded, "doc-a", "c", "a.txt")[0].id


def test_text_without_separators_is_cut_to_fit():
    chunker = Chunker(lambda t: len(t) // 4 + 2, 50, 0, max_tokens=52)
    rng = random.Random(7)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2000))
    chunks = chunker.split(Loaded("text", [Section(text)]), "d", "c", "s")
    assert all(len(c.text) // 4 + 2 <= 52 for c in chunks)
    assert "".join(c.text for c in chunks) == text
    assert all(text[c.start : c.end] == c.text for c in chunks)
