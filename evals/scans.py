"""Scanned copies of PDFs, for measuring OCR: each page rendered to an image (noisy and skewed on request) and
saved as an image-only PDF, with the text its text layer held, to compare OCR's reading with."""

from pathlib import Path

import numpy as np


def page_images(pdf_path: Path, dpi: int = 150, noise: float = 0.0, skew: float = 0.0, seed: int = 0):
    """(image, true text) per page. `noise`: the share of pixels flipped to a random grey, plus a slight blur;
    `skew`: degrees the page is turned, as a sheet laid crooked on a scanner."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            truth = textpage.get_text_bounded()
            textpage.close()
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            if noise:
                pixels = np.array(image, dtype=np.uint8)
                flip = rng.random(pixels.shape) < noise
                pixels[flip] = rng.integers(0, 256, int(flip.sum()), dtype=np.uint8)
                image = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(0.6))
            if skew:
                image = image.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=255)
            yield image, truth
    finally:
        pdf.close()


def scan(pdf_path: Path, out_path: Path, dpi: int = 150, noise: float = 0.0, skew: float = 0.0) -> list[str]:
    """Write an image-only copy of the PDF; returns its pages' true text."""
    pages = list(page_images(pdf_path, dpi, noise, skew))
    images = [image for image, _ in pages]
    images[0].save(out_path, save_all=True, append_images=images[1:], resolution=dpi)
    return [truth for _, truth in pages]


def character_error_rate(truth: str, read: str) -> float:
    """Edit distance over the true text's length, whitespace collapsed (OCR's line breaks are not errors)."""
    from rapidfuzz.distance import Levenshtein

    a, b = " ".join(truth.split()), " ".join(read.split())
    return Levenshtein.distance(a, b) / max(1, len(a))


def word_miss_rate(truth: str, read: str) -> float:
    """The share of the true text's words OCR did not read, in any order: what CER counts as errors when OCR
    reads a table or two columns in another order than the text layer lists them is not counted here."""
    from collections import Counter

    true_words, read_words = Counter(truth.split()), Counter(read.split())
    return 1 - sum((true_words & read_words).values()) / max(1, sum(true_words.values()))
