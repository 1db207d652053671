"""OCR with the real Tesseract: scanned PDFs and images become documents with their pages; a page that fails is
reported and the rest kept; OCR off, image bombs and scans too long to read fail with their reason."""

import shutil
import struct
import zlib

import pytest

from evals.scans import page_images, scan
from tests.conftest import SAMPLES
from tests.helpers.pdfgen import make_pdf

pytestmark = pytest.mark.integration
PDF = SAMPLES / "travel-expense-policy.pdf"


@pytest.fixture(autouse=True)
def tesseract():
    if not shutil.which("tesseract"):
        pytest.fail("Tesseract is not installed: apt-get install tesseract-ocr (scripts/setup.sh does as root)")


def ingested(ingestor, *paths):
    summary = ingestor.ingest(list(paths))
    return {f.source: f for f in summary.files}


def test_a_scanned_pdf_is_read_by_ocr_and_cited_by_page(ingestor, tmp_path):
    scanned = tmp_path / "travel-scan.pdf"
    scan(PDF, scanned, dpi=150, noise=0.02, skew=1.0)
    report = ingested(ingestor, scanned)["travel-scan.pdf"]
    assert (report.outcome, report.type, report.note) == ("ingested", "pdf", "OCR read 2 pages")
    chunks = ingestor.catalog.lexical.passages(report.document_id)
    assert {c.page for c in chunks} == {1, 2}
    assert any("45 euros" in c.text and c.page == 2 for c in chunks)  # the meal allowance, on its page
    assert ingestor.catalog.get(report.document_id).pages == 2


def test_images_are_documents_a_tiff_one_page_a_frame(ingestor, tmp_path):
    images = [image for image, _ in page_images(PDF, dpi=150)]
    images[0].save(tmp_path / "page.png")
    images[0].save(tmp_path / "pages.tiff", save_all=True, append_images=images[1:])
    reports = ingested(ingestor, tmp_path / "page.png", tmp_path / "pages.tiff")
    assert (reports["page.png"].outcome, reports["page.png"].type) == ("ingested", "image")
    tiff = ingestor.catalog.lexical.passages(reports["pages.tiff"].document_id)
    assert {c.page for c in tiff} == {1, 2} and reports["pages.tiff"].note == "OCR read 2 pages"


def test_a_page_that_fails_is_reported_and_the_rest_kept(ingestor, settings, tmp_path):
    settings.ocr_page_timeout_s = 0.001
    mixed = tmp_path / "mixed.pdf"
    mixed.write_bytes(make_pdf(["The cafeteria opens at eight and closes at three every working day.", ""]))
    report = ingested(ingestor, mixed)["mixed.pdf"]
    assert report.outcome == "ingested" and "page 2 unread: OCR took over 0.001 s" in report.note
    assert [c.page for c in ingestor.catalog.lexical.passages(report.document_id)] == [1]


def test_with_ocr_off_scans_and_images_fail_saying_so(ingestor, settings, tmp_path):
    settings.ocr = "off"
    scanned, image = tmp_path / "scan.pdf", tmp_path / "page.png"
    scan(PDF, scanned)
    next(page_images(PDF))[0].save(image)
    reports = ingested(ingestor, scanned, image)
    assert reports["scan.pdf"].outcome == "failed" and "OCR is off (RAG_OCR=off)" in reports["scan.pdf"].reason
    assert reports["page.png"].reason == "an image: its text needs OCR, and OCR is off (RAG_OCR=off)"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size in a few bytes (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_hostile_scans_fail_with_their_reason_and_the_rest_is_kept(ingestor, tmp_path):
    import pypdfium2 as pdfium

    (tmp_path / "bomb.png").write_bytes(png_header_only(40_000, 40_000))
    (tmp_path / "almost.png").write_bytes(png_header_only(9_000, 9_000))  # 81 M: past the limit, under PIL's own
    long_scan = pdfium.PdfDocument.new()
    for _ in range(10_000):
        long_scan.new_page(612, 792)
    long_scan.save(str(tmp_path / "ten-thousand.pdf"))
    fine = tmp_path / "fine.txt"
    fine.write_text("Parking is free for employees in the north garage.")
    reports = ingested(ingestor, tmp_path / "bomb.png", tmp_path / "almost.png", tmp_path / "ten-thousand.pdf", fine)
    assert "over 60 million pixels" in reports["bomb.png"].reason
    assert "over 60 million pixels" in reports["almost.png"].reason
    assert reports["ten-thousand.pdf"].reason == "10,000 pages need OCR, more than RAG_OCR_MAX_PAGES (1,000) allows"
    assert reports["fine.txt"].outcome == "ingested"


def test_an_image_upload_is_refused_at_once_when_ocr_is_off(settings, embedder):
    import io

    from fastapi.testclient import TestClient

    from rag.llm import FakeLLM
    from service.app import create_app
    from service.container import build_services

    settings.ocr = "off"
    png = io.BytesIO()
    next(page_images(PDF))[0].save(png, format="PNG")
    with TestClient(create_app(build_services(settings, embedder, FakeLLM()))) as client:
        response = client.post("/documents", files=[("files", ("page.png", png.getvalue()))])
    assert response.status_code == 415 and "OCR is off" in response.json()["detail"]
