import struct
import zlib

import pytest

from ingest.loaders import load
from rag.errors import UnsupportedFile
from tests.conftest import SAMPLES
from tests.helpers.files import zip_of
from tests.helpers.pdfgen import encrypt_pdf, make_pdf

PNG = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\0" * 17


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("empty.txt", b"", "empty file"),
        ("photo.pdf", PNG, "image/png"),
        ("binary.txt", bytes(range(256)) * 8, "binary content"),
        ("bad.txt", b"caf\xe9 \xff\xfe\x81 broken" + bytes(range(128, 256)) * 4, "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "PDF"),
        ("archive.docx", zip_of({"notes.txt": "hello"}), "ZIP archive that is not a Word"),
        ("garbage.docx", zlib.compress(b"x" * 100) * 3, "binary content"),
        ("blank.pdf", make_pdf(["", ""]), "no extractable text"),
        ("locked.pdf", encrypt_pdf(make_pdf(["secret plans"]), "hunter2"), "password-protected"),
        ("whitespace.md", "   \n\n  \t\n", "no extractable text"),
    ],
)
def test_bad_input_fails_with_a_clear_reason(tmp_path, name, data, reason):
    with pytest.raises(UnsupportedFile, match=reason):
        load(write(tmp_path, name, data))


@pytest.mark.parametrize("parser", ["pdfium", "pypdf"])
def test_pdf_pages_are_numbered(parser):
    loaded = load(SAMPLES / "travel-expense-policy.pdf", parser)
    assert loaded.type == "pdf"
    assert [s.page for s in loaded.sections] == [1, 2]
    assert "45 euros" in loaded.sections[1].text


@pytest.mark.parametrize("parser", ["pdfium", "pypdf"])
def test_pdf_encrypted_with_empty_password_is_read(tmp_path, parser):
    path = write(tmp_path, "open.pdf", encrypt_pdf(make_pdf(["quarterly revenue grew"]), ""))
    assert "quarterly revenue grew" in load(path, parser).sections[0].text


@pytest.mark.parametrize("parser", ["pdfium", "pypdf"])
@pytest.mark.parametrize(
    "data,reason",
    [
        (encrypt_pdf(make_pdf(["secret"]), "hunter2"), "password-protected"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "corrupt PDF"),
        (make_pdf(["a page"])[:-200], None),  # truncated: repaired by either parser, or refused with a reason
    ],
)
def test_pdf_failures_are_the_same_whichever_parser_goes_first(tmp_path, parser, data, reason):
    path = write(tmp_path, "x.pdf", data)
    if reason is None:
        try:
            assert "a page" in load(path, parser).sections[0].text
        except UnsupportedFile as e:
            assert "PDF" in str(e)
        return
    with pytest.raises(UnsupportedFile, match=reason):
        load(path, parser)


def test_html_keeps_main_text_and_drops_scripts_styles_and_navigation():
    loaded = load(SAMPLES / "it-help.html")
    text = loaded.sections[0].text
    assert loaded.markdown
    assert "WireGuard" in text and "## How do I connect to the VPN?" in text
    for junk in ("window.analytics", "font-family", "Privacy", "[Home]"):
        assert junk not in text


def test_docx_headings_become_markdown_headings():
    text = load(SAMPLES / "onboarding-checklist.docx").sections[0].text
    assert "# First week" in text
    assert "Security training must be completed" in text


def test_latin1_text_is_decoded(tmp_path):
    path = write(tmp_path, "old.txt", "Café society in Zürich, naïve façade. ".encode("latin-1") * 5)
    assert "Zürich" in load(path).sections[0].text


def test_mislabeled_file_is_read_by_content_and_noted(tmp_path):
    path = write(tmp_path, "notes.pdf", "Plain text that someone named .pdf by mistake.")
    loaded = load(path)
    assert loaded.type == "text"
    assert "named .pdf" in loaded.note
    pdf_named_txt = write(tmp_path, "report.txt", make_pdf(["a real pdf"]))
    assert load(pdf_named_txt).type == "pdf"


def test_a_docx_of_many_paragraphs_reads_each_style_once(tmp_path, monkeypatch):
    """A paragraph's `.style` searches every style: over 200,000 paragraphs that held a worker for 300 s."""
    import docx
    from docx.text.paragraph import Paragraph

    document = docx.Document()
    document.add_heading("Depot log", level=1)
    for i in range(2000):
        document.add_paragraph(f"Entry {i}: a crate of valves.")
    document.save(tmp_path / "log.docx")

    def per_paragraph(self):
        raise AssertionError("the style was looked up for one paragraph")

    monkeypatch.setattr(Paragraph, "style", property(per_paragraph))
    text = load(tmp_path / "log.docx").sections[0].text
    assert text.startswith("# Depot log\n\nEntry 0: a crate of valves.") and "Entry 1999" in text
