"""OCR (issue 38, item 1): character error rate and seconds per page on scans made from real PDFs whose text
layer is the truth (clean, and noisy: 3 % of pixels a random grey, a blur, a 1.5° skew), through the same path ingest takes
(an image-only PDF, its page rendered at RAG_OCR_DPI, Tesseract); then retrieval on a scanned copy of docugami's
10-Qs against the original PDFs.

    .venv/bin/python benchmarks/ocr.py cer --pages 4            # pages from each of 6 PDFs, clean and noisy
    .venv/bin/python benchmarks/ocr.py retrieval --docs 4       # 4 10-Qs, the questions on them
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.datasets import SHARED_EVAL, load_dataset  # noqa: E402
from evals.scans import character_error_rate, scan, word_miss_rate  # noqa: E402

DOCUGAMI = SHARED_EVAL / "docugami_sec10q" / "sec-10-q" / "data" / "v1" / "docs"
SOURCES = [ROOT / "data" / "samples" / "travel-expense-policy.pdf", DOCUGAMI / "2022 Q3 AAPL.pdf",
           DOCUGAMI / "2023 Q1 INTC.pdf", SHARED_EVAL / "aragog" / "papers" / "DetectGPT.pdf",
           SHARED_EVAL / "aragog" / "papers" / "PAL.pdf", SHARED_EVAL / "aragog" / "papers" / "MMLU_measure.pdf"]
KINDS = {"clean": {"dpi": 200}, "noisy": {"dpi": 150, "noise": 0.03, "skew": 1.5}}


def cer(pages: int) -> dict:
    from ingest.ocr import OcrOptions, read_page
    from rag.errors import UnsupportedFile
    from rag.settings import Settings

    options = OcrOptions.of(Settings(_env_file=None))
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind, how in KINDS.items():
            rates, misses, seconds, failed = [], [], [], 0
            for source in SOURCES:
                if not source.exists():
                    continue
                scanned = Path(folder) / f"{kind}-{source.name}"
                truths = scan(source, scanned, **how)
                for page, truth in list(enumerate(truths, start=1))[:pages]:
                    if len(truth.split()) < 20:  # a blank or nearly blank page says nothing of OCR
                        continue
                    at = time.perf_counter()
                    try:
                        read = read_page(scanned, "pdf", page, options)
                    except UnsupportedFile:  # over RAG_OCR_PAGE_TIMEOUT_S: unread, every character an error
                        read, failed = "", failed + 1
                    seconds.append(time.perf_counter() - at)
                    rates.append(character_error_rate(truth, read))
                    misses.append(word_miss_rate(truth, read))
            out[kind] = {"pages": len(rates), "cer_mean": round(statistics.mean(rates), 4),
                         "cer_median": round(statistics.median(rates), 4), "cer_max": round(max(rates), 4),
                         "words_missed_mean": round(statistics.mean(misses), 4),
                         "s_per_page": round(statistics.mean(seconds), 2), "timed_out": failed}
            print(kind, out[kind], file=sys.stderr)
    return out


def retrieval(docs: int) -> dict:
    """doc-recall and MRR (docugami's answers are long: answer-recall is not defined for them) on the questions
    whose gold documents are among the first `docs`, over the original PDFs and over scanned copies."""
    from evals.runner import eval_settings, evaluate, open_pipeline
    from rag.settings import Settings

    settings = Settings()
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("original", "scanned"):
            dataset = load_dataset("docugami")
            kept = sorted(dataset.documents)[:docs]
            names = {p.name for p in kept}
            dataset.questions = [q for q in dataset.questions
                                 if q.documents and all(any(Path(n).match(d) for n in names) for d in q.documents)]
            if kind == "scanned":
                copies = []
                for path in kept:
                    copy = Path(folder) / path.name
                    scan(path, copy, **KINDS["clean"])
                    copies.append(copy)
                kept, dataset.root = copies, Path(folder)
            dataset.documents, dataset.name = kept, f"docugami-{docs}-{kind}"
            started = time.perf_counter()
            retriever, ingested = open_pipeline(eval_settings(settings, dataset), dataset)
            ingest_s = time.perf_counter() - started
            summary = evaluate(dataset, dataset.questions, retriever, None, None, {}).summary()
            out[kind] = {"questions": len(dataset.questions), "doc_recall": summary.get("doc_recall"),
                         "mrr": summary.get("mrr"), "ingest_s": round(ingest_s, 1),
                         "failures": ingested.get("failures", [])}
            print(kind, out[kind], file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["cer", "retrieval"])
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--docs", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(cer(args.pages) if args.part == "cer" else retrieval(args.docs), indent=1))


if __name__ == "__main__":
    main()
