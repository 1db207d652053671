"""Tables keep their structure: a row per line, each figure beside its column's heading."""

import pytest

from ingest.chunking import Chunker, blocks_of
from ingest.loaders import load
from ingest.tables import grid_table, markdown_tables
from tests.helpers.pdfgen import make_placed_pdf


def right(x_end: float, text: str, y: float) -> tuple[float, float, str]:
    """Text set flush right at x_end, as figures stand in a column (Helvetica 9 pt digits are 5 pt wide)."""
    return (x_end - 5.0 * len(text), y, text)


def statement_page() -> list[tuple[float, float, str]]:
    page = [
        (50, 780, "Before the statement, a paragraph of prose that mentions 2023 and 1,234 in passing."),
        (200, 750, "STATEMENTS OF OPERATIONS (In millions)"),
        (330, 725, "Three Months Ended"), (470, 725, "Nine Months Ended"),
        (335, 712, "July 1, 2023"), (405, 712, "June 25, 2022"),
        (475, 712, "July 1, 2023"), (545, 712, "June 25, 2022"),
        (40, 698, "Net sales:"),
    ]
    rows = [("Products", "60,584", "63,355", "230,901", "245,241"),
            ("Services", "21,213", "19,604", "62,886", "58,941"),
            ("Total net sales", "81,797", "82,959", "293,787", "304,182")]
    y = 686
    for label, *values in rows:
        page.append((50 if label != rows[-1][0] else 40, y, label))
        page += [right(x, v, y) for x, v in zip((390, 460, 530, 600), values)]
        y -= 12
    page.append((40, y, "Gross margin"))
    page += [right(x, v, y) for x, v in zip((390, 460, 530, 600), ("36,413", "35,885", "128,721", "132,687"))]
    page.append((50, y - 30, "After the table the prose goes on: sales rose 4% in 2023."))
    return page


@pytest.fixture
def statement(tmp_path):
    path = tmp_path / "statement.pdf"
    path.write_bytes(make_placed_pdf([statement_page()]))
    return path


HEADINGS = ("Three Months Ended July 1, 2023 | Three Months Ended June 25, 2022 | Nine Months Ended July 1, 2023 | "
            "Nine Months Ended June 25, 2022")


def test_a_pdf_table_is_a_row_per_line_under_its_column_headings(statement):
    loaded = load(statement)
    text = loaded.sections[0].text
    assert "\nGross margin: 36,413 | 35,885 | 128,721 | 132,687" in text
    assert "\nNet sales, Products: 60,584 | 63,355 | 230,901 | 245,241" in text
    assert "\nTotal net sales: 81,797" in text  # outdented: not under "Net sales:"
    table = [b for b in blocks_of(loaded) if b.headings]
    assert len(table) == 1 and table[0].headings == HEADINGS and table[0].page == 1
    assert table[0].text.startswith("Net sales:") and table[0].text.rstrip().endswith("132,687")


def test_the_text_around_a_pdf_table_is_kept_in_order(statement):
    text = load(statement).sections[0].text
    before = text.index("a paragraph of prose that mentions 2023 and 1,234 in passing.")
    title = text.index("STATEMENTS OF OPERATIONS")
    row = text.index("Gross margin:")
    after = text.index("After the table the prose goes on: sales rose 4% in 2023.")
    assert before < title < row < after
    assert text.count("36,413") == 1  # the row replaces the table's own lines, not added beside them


def test_tables_off_reads_the_page_as_pdfium_does(statement):
    text = load(statement, tables=False).sections[0].text
    assert "|" not in text and "36,413" in text


def test_prose_with_figures_is_not_a_table(tmp_path):
    lines = [(50, 780 - 12 * n, f"In {2019 + n} the depot moved {n + 1},250 crates and {n + 3},100 pallets, up {n}%.")
             for n in range(5)]
    path = tmp_path / "prose.pdf"
    path.write_bytes(make_placed_pdf([lines]))
    text = load(path).sections[0].text
    assert "|" not in text and "In 2021 the depot moved 3,250 crates" in text


def test_a_table_row_is_never_split_across_chunks_and_each_chunk_has_the_headings(statement):
    loaded = load(statement)
    chunker = Chunker(lambda t: len(t.split()) + 2, chunk_tokens=12, overlap=0, max_tokens=60)
    chunks = chunker.split(loaded, "d1", "c", "statement.pdf")
    rows = [line for line in loaded.sections[0].text.splitlines() if " | " in line]
    assert len(rows) == 4
    for row in rows:
        assert any(row in chunk.text for chunk in chunks), row
    with_rows = [c for c in chunks if " | " in c.text]
    assert len(with_rows) > 1 and all(c.headings == HEADINGS for c in with_rows)
    assert all(chunk.page == 1 for chunk in chunks)


def test_grid_rows_take_the_first_row_as_headings():
    grid = [["Region", "Q2 2023", "Q2 2022"], ["North", "1,234", "1,100"], ["South", "", "950"], ["West", "7", ""]]
    assert grid_table(grid) == (["North: 1,234 | 1,100", "South:  | 950", "West: 7"], "Region: Q2 2023 | Q2 2022")


def test_markdown_pipe_tables_become_rows_with_headings():
    text = "Intro.\n\n| Plan | Price | Seats |\n|---|---:|---|\n| Team | $8 | 10 |\n| Pro | $20 | 50 |\n\nOutro."
    written, regions = markdown_tables(text)
    assert written == "Intro.\n\nTeam: $8 | 10\nPro: $20 | 50\n\nOutro."
    assert [(written[r.start:r.end], r.heading) for r in regions] == [("Team: $8 | 10\nPro: $20 | 50", "Plan: Price | Seats")]


def test_html_and_docx_tables_keep_their_headings(tmp_path):
    import docx

    html = ("<html><body><article><h1>Plans</h1><p>Our plans and their prices, as of this year, are these.</p>"
            "<table><tr><th>Plan</th><th>Price</th><th>Seats</th></tr><tr><td>Team</td><td>$8</td><td>10</td></tr>"
            "<tr><td>Pro</td><td>$20</td><td>50</td></tr></table></article></body></html>")
    (tmp_path / "plans.html").write_text(html)
    page = load(tmp_path / "plans.html")
    assert "\nPro: $20 | 50" in page.sections[0].text
    assert [b.headings for b in blocks_of(page) if "$20" in b.text] == ["Plans > Plan: Price | Seats"]

    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([("Plan", "Price", "Seats"), ("Team", "$8", "10"), ("Pro", "$20", "50")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(1, 1).merge(table.cell(1, 2)).text = "ask us"
    document.save(tmp_path / "plans.docx")
    loaded = load(tmp_path / "plans.docx")
    assert "Pro: $20 | 50" in loaded.sections[0].text
    assert "Team: ask us\n" in loaded.sections[0].text  # a merged cell once, under the first heading it spans
    assert [b.headings for b in blocks_of(loaded) if "$20" in b.text] == ["Plan: Price | Seats"]


def test_a_markdown_file_table_keeps_its_headings_under_its_section(tmp_path):
    (tmp_path / "plans.md").write_text("# Prices\n\n| Plan | Price |\n|---|---|\n| Team | $8 |\n| Pro | $20 |\n")
    loaded = load(tmp_path / "plans.md")
    assert loaded.sections[0].page is None and "Pro: $20" in loaded.sections[0].text
    assert [b.headings for b in blocks_of(loaded) if "$20" in b.text] == ["Prices > Plan: Price"]


def test_each_table_row_is_a_sentence_of_its_own():
    from rag.text import sentences

    text = "The figures follow\nbelow.\nNet sales, Products: 60,584 | 63,355\nGross margin: 36,413 | 35,885\nThen prose\nagain."
    assert sentences(text) == ["The figures follow below.", "Net sales, Products: 60,584 | 63,355",
                               "Gross margin: 36,413 | 35,885", "Then prose again."]
