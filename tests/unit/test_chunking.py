import random

import pytest

from ingest.chunking import Chunker, markdown_blocks
from ingest.loaders import Loaded, Section
from rag.errors import UnsupportedFile


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


def test_single_line_text_gets_chunks_of_the_configured_size():
    # The splitter adds its pieces' lengths: each counted with the encoder's two special tokens, a one-line
    # text of words made chunks of a fifth of the size asked for.
    body = " ".join(random.Random(3).choice(["revenue", "grew", "in", "the", "quarter"]) for _ in range(3000))
    chunks = Chunker(words, 64, 12, max_tokens=200).split(Loaded("text", [Section(body)]), "d", "c", "s.txt")
    sizes = sorted(words(c.text) - 2 for c in chunks)
    assert sizes[len(sizes) // 2] >= 60 and max(sizes) <= 64


def fields(text: str) -> int:
    return len([f for f in text.replace(",", " ").split() if f]) + 2


def test_a_one_line_csv_is_cut_between_its_fields_and_bounded():
    row = ",".join(f"{i},item-{i},{i * 7}" for i in range(5000))
    chunks = Chunker(fields, 64, 0, max_tokens=200).split(Loaded("text", [Section(row)]), "d", "c", "s.csv")
    assert 200 <= len(chunks) <= 260  # 15,000 fields in chunks of ~64, not in chunks of characters
    for c in chunks:
        before = row[c.start - 1] if c.start else ","
        assert before == "," and row[c.end - 1] == ","  or c.end == len(row)  # whole fields only
    with pytest.raises(UnsupportedFile, match="more than 100 chunks"):
        Chunker(fields, 64, 0, max_tokens=200, max_chunks=100).split(Loaded("text", [Section(row)]), "d", "c", "s")
