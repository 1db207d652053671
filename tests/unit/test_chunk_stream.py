"""Chunking works a window at a time: past the chunk cap a file fails without the rest of it being split."""

import pytest

from ingest.chunking import WINDOW_CHARS, Chunker, windows
from ingest.loaders import Loaded, Section
from rag.errors import UnsupportedFile


class Measured:
    """A deterministic tokenizer (a token per 4 characters) that counts the characters it was given."""

    def __init__(self):
        self.chars = 0

    def __call__(self, text: str) -> int:
        self.chars += len(text)
        return len(text) // 4 + 2


def one_line_csv(size: int) -> str:
    """Fields that differ (repeated chunks are kept once), on one line."""
    return ",".join(f"{i},alpha" for i in range(size // 10 + 1))[:size]


def test_a_huge_one_line_csv_stops_at_the_cap_having_read_a_bounded_share():
    text = one_line_csv(25_000_000)
    tokens = Measured()
    chunker = Chunker(tokens, chunk_tokens=64, overlap=12, max_tokens=254, max_chunks=2_000)
    with pytest.raises(UnsupportedFile, match="RAG_MAX_FILE_CHUNKS"):
        chunker.split(Loaded("text", [Section(text, None)]), "d", "c", "big.csv")
    # 2,000 chunks of ~250 characters is ~0.5 MB of the 25 MB: the splitter measured a few times that, not all.
    assert tokens.chars < 40 * 2_000 * 250


def test_windows_cover_the_text_exactly_and_cut_where_text_ends():
    text = ("A sentence of some words. " * 3000) + one_line_csv(70_000) + "x" * 50_000
    pieces = list(windows(text))
    assert "".join(w for w, _ in pieces) == text
    assert all(text[at:at + len(w)] == w for w, at in pieces)
    assert all(len(w) <= WINDOW_CHARS for w, _ in pieces)
    assert pieces[0][0].endswith(". ")


def test_a_small_block_is_one_window():
    assert list(windows("short text")) == [("short text", 0)]


def test_a_parsers_time_is_bounded_by_the_files_size():
    from rag.settings import Settings

    settings = Settings(_env_file=None, parse_timeout_s=300, parse_seconds_per_mb=30)
    assert settings.parse_timeout(45) == pytest.approx(20, abs=0.01)  # a 45-byte file
    assert settings.parse_timeout(int(1.5 * 2**20)) == pytest.approx(65)  # the 200,000-paragraph .docx: not 300
    assert settings.parse_timeout(50 * 2**20) == 300
