"""Turn a file into text sections. Runs in parser worker processes: must not import torch."""

import logging
import zipfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import filetype

from ingest.ocr import IMAGE_TYPES, image_frames
from ingest.pdf_tables import page_text
from ingest.tables import Region, grid_table, markdown_tables
from rag.errors import UnsupportedFile

log = logging.getLogger(__name__)

EXTENSIONS = {
    ".pdf": "pdf",
    ".txt": "text", ".text": "text", ".rst": "text", ".csv": "text", ".log": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".docx": "docx",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image",
}


@dataclass
class Section:
    text: str
    page: int | None = None
    tables: list[Region] = field(default_factory=list)  # where tables stand in the text, with their headings


@dataclass
class Loaded:
    type: str  # pdf | text | markdown | html | docx | image
    sections: list[Section]
    markdown: bool = False  # sections use Markdown headings
    note: str = ""  # e.g. a mislabeled extension, a fallback parser
    unread: list[int] = field(default_factory=list)  # pages with no text layer, for OCR (ingest/ocr.py)


def detect_type(path: Path, head: bytes, name: str | None = None) -> tuple[str, str]:
    """The type by content (`path` is the file itself, `head` its first bytes), and a note when its name
    (`name`, else the path's) says otherwise."""
    suffix = Path(name or path.name).suffix
    named = EXTENSIONS.get(suffix.lower())
    if not head:
        raise UnsupportedFile("empty file (0 bytes)")
    if b"%PDF-" in head[:1024]:
        kind = "pdf"
    elif head.startswith(b"PK\x03\x04"):
        kind = "docx" if _is_docx(path) else None
        if kind is None:
            raise UnsupportedFile("a ZIP archive that is not a Word (.docx) document")
    elif (guess := filetype.guess(head)) is not None and guess.mime in IMAGE_TYPES and named in (None, "image"):
        kind = "image"  # read by OCR; one named as another type (photo.pdf) is refused, as other types are
    elif guess is not None:
        raise UnsupportedFile(f"unsupported content type {guess.mime}" + (f" (named {suffix})" if suffix else ""))
    elif b"\0" in head:
        raise UnsupportedFile("binary content, not a supported document type")
    else:
        lowered = head[:2048].lower().lstrip()
        looks_html = lowered.startswith((b"<!doctype html", b"<html")) or b"<body" in lowered
        kind = named if named in ("text", "markdown", "html") else ("html" if looks_html else "text")
        if kind != "html" and looks_html and named is None:
            kind = "html"
    note = f"named {suffix} but contains {kind}" if named and named != kind else ""
    return kind, note


def _is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return "word/document.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def load(path: Path, pdf_parser: str = "pdfium", ocr_min_chars: int = 0, no_ocr: str = "OCR is off",
         tables: bool = True) -> Loaded:
    """The file's text. With `ocr_min_chars` (OCR on), pages with fewer characters of text (scans) and images
    come back listed in `unread`, for OCR; without, a file with no text fails, saying why (`no_ocr`). With
    `tables`, tables come a row per line, each section listing where its tables stand (ingest/tables.py)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8192)
    kind, note = detect_type(path, head)
    if kind == "image":
        if not ocr_min_chars:
            raise UnsupportedFile(f"an image: its text needs OCR, and {no_ocr}")
        frames = image_frames(path)
        loaded = Loaded("image", [Section("", page=n) for n in range(1, frames + 1)], unread=list(range(1, frames + 1)))
    else:
        loaded = load_pdf(path, pdf_parser, tables) if kind == "pdf" else LOADERS[kind](path, tables)
    if kind == "pdf" and ocr_min_chars:
        loaded.unread = [s.page for s in loaded.sections if len(s.text.strip()) < ocr_min_chars]
    if note:
        loaded.note = "; ".join(n for n in (note, loaded.note) if n)
    if not loaded.unread and not any(s.text.strip() for s in loaded.sections):
        if kind == "pdf":
            raise UnsupportedFile(f"no extractable text: the PDF looks scanned (images only), and {no_ocr}")
        raise UnsupportedFile("no extractable text")
    return loaded


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        utf8_error = e
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    text = str(best) if best is not None else ""
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    if not text or printable < 0.97 * len(text) or best.encoding in ("utf_16", "utf_32"):
        raise UnsupportedFile(f"not valid UTF-8 text ({utf8_error.reason} at byte {utf8_error.start}) and no other encoding fits")
    return text


def load_text(path: Path, tables: bool = True) -> Loaded:
    return Loaded("text", [Section(decode_text(path.read_bytes()))])


def load_markdown(path: Path, tables: bool = True) -> Loaded:
    text = decode_text(path.read_bytes())
    if not tables:
        return Loaded("markdown", [Section(text)], markdown=True)
    text, regions = markdown_tables(text)
    return Loaded("markdown", [Section(text, tables=regions)], markdown=True)


def load_html(path: Path, tables: bool = True) -> Loaded:
    import trafilatura

    html = decode_text(path.read_bytes())
    text = trafilatura.extract(
        html, output_format="markdown", include_tables=True, include_links=False,
        include_images=False, include_comments=False, favor_recall=True,
    )
    if not text:
        text = trafilatura.html2txt(html) or ""
    title = ""
    metadata = trafilatura.extract_metadata(html)
    if metadata is not None and metadata.title and not text.lstrip().startswith("#"):
        title = f"# {metadata.title}\n\n"
    if not tables:
        return Loaded("html", [Section(title + text)], markdown=True)
    text, regions = markdown_tables(text)
    moved = [Region(r.start + len(title), r.end + len(title), r.heading) for r in regions]
    return Loaded("html", [Section(title + text, tables=moved)], markdown=True)


def load_docx(path: Path, tables: bool = True) -> Loaded:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as e:
        raise UnsupportedFile(f"unreadable Word document: {e}") from e
    lines, regions, at = [], [], 0
    # A paragraph's `.style` looks its style up among all of them each time: 200,000 paragraphs took 300 s.
    names = {style.style_id: style.name or "" for style in document.styles}
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            style = names.get(block._p.style or "", "")  # noqa: SLF001 - its style's id, read once
            if not text:
                continue
            if style.startswith("Heading") and style[7:].strip().isdigit():
                lines.append("#" * min(int(style[7:]), 6) + " " + text)
            elif style == "Title":
                lines.append("# " + text)
            else:
                lines.append(text)
        elif isinstance(block, Table):
            grid = [_docx_cells(row) for row in block.rows]
            rows, heading = grid_table(grid) if tables else ([" | ".join(c for c in row if c) for row in grid], "")
            lines.append("\n".join(rows))
            regions.append(Region(at, at + len(lines[-1]), heading))
        at += len(lines[-1]) + 2 if lines else 0
    return Loaded("docx", [Section("\n\n".join(lines), tables=[r for r in regions if r.heading])], markdown=True)


def _docx_cells(row) -> list[str]:
    """A row's cells; a merged cell, which python-docx gives once per column it spans, once."""
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) in seen:  # noqa: SLF001 - the same XML cell is the same merged cell
            cells.append("")
            continue
        seen.add(id(cell._tc))  # noqa: SLF001
        cells.append(cell.text.strip())
    return cells


def load_pdf(path: Path, parser: str = "pdfium", tables: bool = True) -> Loaded:
    """Text per page. Either parser falls back to the other: pypdf refuses some legitimate files
    (LimitReachedError on large 10-Qs), pdfium is ~20x faster; a file both refuse is corrupt."""
    order = [("pdfium", partial(_pdfium_pages, tables=tables)), ("pypdf", _pypdf_pages)]
    if parser == "pypdf":
        order.reverse()
    (first_name, first), (second_name, second) = order
    try:
        return Loaded("pdf", first(path))
    except (UnsupportedFile, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - any parser failure: try the other parser
        log.info("%s failed on %s (%s: %s); retrying with %s", first_name, path, type(e).__name__, e, second_name)
        try:
            sections = second(path)
        except (UnsupportedFile, MemoryError):
            raise
        except Exception as e2:  # noqa: BLE001
            raise UnsupportedFile(f"corrupt PDF: {first_name}: {e}; {second_name}: {e2}") from e2
        return Loaded("pdf", sections, note=f"read with {second_name} after {first_name} failed ({type(e).__name__})")


def _pypdf_pages(path: Path) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(path)
    try:
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedFile("the PDF is password-protected")
        return [Section(page.extract_text() or "", page=i + 1) for i, page in enumerate(reader.pages)]
    except FileNotDecryptedError as e:
        raise UnsupportedFile("the PDF is password-protected") from e


def _pdfium_pages(path: Path, tables: bool = True) -> list[Section]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise UnsupportedFile("the PDF is password-protected") from e
        raise
    try:
        sections = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            text, regions = page_text(textpage) if tables else (textpage.get_text_bounded(), [])
            sections.append(Section(text, page=i + 1, tables=regions))
            textpage.close()
            page.close()
        return sections
    finally:
        pdf.close()


LOADERS = {"pdf": load_pdf, "text": load_text, "markdown": load_markdown, "html": load_html, "docx": load_docx}


def limit_memory(megabytes: int) -> None:
    """Worker initializer: cap the address space so a PDF bomb fails with MemoryError."""
    import resource

    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
