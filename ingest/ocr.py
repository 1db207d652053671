"""OCR for pages without a text layer and for images: Tesseract (Debian's tesseract-ocr) through pytesseract,
PDF pages rendered by pdfium. Each page is its own task in the parse workers' pool, under the pool's memory cap
and its own time limit: a page that fails is reported, the rest of the document kept."""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import UnsupportedFile

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/tiff": "tiff"}
MAX_PIXELS = 60_000_000  # an A4 page at 600 dpi is 35 M; past this an image is a bomb, not a scan


@dataclass(frozen=True)
class OcrOptions:
    languages: str = "eng"  # Tesseract's, joined by +
    dpi: int = 300
    page_timeout_s: float = 60.0

    @classmethod
    def of(cls, settings) -> OcrOptions | None:
        """The settings' OCR, or None when it is off or Tesseract is missing."""
        if settings.ocr == "off" or not tesseract():
            return None
        return cls(settings.ocr_languages, settings.ocr_dpi, settings.ocr_page_timeout_s)


def tesseract() -> str | None:
    return shutil.which("tesseract")


def why_not(settings) -> str:
    """Why a page without text stays unread."""
    if settings.ocr == "off":
        return "OCR is off (RAG_OCR=off)"
    return "OCR needs Tesseract, which is not installed (apt-get install tesseract-ocr; scripts/setup.sh does as root)"


def image_frames(path: Path) -> int:
    """Pages of an image file (a TIFF may hold several), checked against decompression bombs."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # PIL only warns below twice its limit
            with Image.open(path) as image:
                return getattr(image, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UnsupportedFile(f"the image is over {MAX_PIXELS // 1_000_000} million pixels: {e}") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise UnsupportedFile(f"unreadable image: {e}") from e


def _pdf_page(path: Path, page: int, dpi: int):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        sheet = pdf[page - 1]
        width, height = sheet.get_size()  # points
        scale = min(dpi / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
        return sheet.render(scale=scale, grayscale=True).to_pil()
    finally:
        pdf.close()


def _image_page(path: Path, page: int):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(path) as image:
        image.seek(page - 1)
        return image.convert("L")


def read_page(path: Path, kind: str, page: int, options: OcrOptions) -> str:
    """One page's text by OCR (a pool task: a worker process under the memory cap)."""
    import pytesseract
    from PIL import ImageFilter

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # the pool runs pages side by side: one thread each
    try:
        image = _pdf_page(path, page, options.dpi) if kind == "pdf" else _image_page(path, page)
        # A 3x3 median takes out specks: on noisy scans made from real PDFs it cut the character error rate from
        # 25.5 to 14.6 %, clean ones about the same (docs/tuning-log.md, issue 38).
        image = image.filter(ImageFilter.MedianFilter(3))
        return pytesseract.image_to_string(image, lang=options.languages, timeout=options.page_timeout_s)
    except RuntimeError as e:  # pytesseract's timeout
        raise UnsupportedFile(f"OCR took over {options.page_timeout_s:g} s (RAG_OCR_PAGE_TIMEOUT_S)") from e
    except pytesseract.TesseractError as e:
        raise UnsupportedFile(f"Tesseract failed: {str(e.message).strip()[:200]}") from e


@dataclass
class Unread:
    """A document whose pages wait for OCR: its loaded text, the pages left, what failed."""

    loaded: object  # ingest.loaders.Loaded
    left: set[int]
    read: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def done(self, page: int, text: str | None, reason: str = "") -> bool:
        """A page read (or failed, with its reason); True when none is left."""
        self.left.discard(page)
        if text is None:
            self.failed[page] = reason
        else:
            self.read += 1
            for section in self.loaded.sections:
                if section.page == page:
                    section.text = text
        return not self.left

    def note(self) -> str:
        parts = [f"OCR read {self.read} page{'s' * (self.read != 1)}"]
        parts += [f"page {p} unread: {why}" for p, why in sorted(self.failed.items())]
        return "; ".join(parts)


class OcrQueue:
    """The pages of a run's documents that wait for OCR, a pool task each; a document goes on once its last page
    is read or has failed."""

    def __init__(self, options: OcrOptions, max_pages: int):
        self.options, self.max_pages = options, max_pages
        self.waiting: dict[str, Unread] = {}  # a job's document id -> its unread pages
        self.tasks: list[tuple[object, int]] = []  # (job, page), in order

    def start(self, job, loaded) -> None:
        """Queue the document's unread pages; UnsupportedFile when there are more than RAG_OCR_MAX_PAGES."""
        if len(loaded.unread) > self.max_pages:
            raise UnsupportedFile(f"{len(loaded.unread):,} pages need OCR, more than RAG_OCR_MAX_PAGES "
                                  f"({self.max_pages:,}) allows")
        self.waiting[job.document_id] = Unread(loaded, set(loaded.unread))
        self.tasks.extend((job, page) for page in loaded.unread)

    def next_task(self) -> tuple[object, int, tuple] | None:
        """(job, page, the pool task's arguments) of the next page, or None."""
        if not self.tasks:
            return None
        job, page = self.tasks.pop(0)
        return job, page, (job.path, self.waiting[job.document_id].loaded.type, page, self.options)

    def finish(self, job, page: int, text: str | None, reason: str = ""):
        """A page read (text) or failed (reason): the document's Loaded once it has no page left, else None."""
        unread = self.waiting[job.document_id]
        if not unread.done(page, text, reason):
            return None
        del self.waiting[job.document_id]
        loaded = unread.loaded
        loaded.note = "; ".join(filter(None, [loaded.note, unread.note()]))
        loaded.unread = []
        if not any(s.text.strip() for s in loaded.sections):
            raise UnsupportedFile(f"no text: none in the file, nor found by OCR ({unread.note()})")
        return loaded
