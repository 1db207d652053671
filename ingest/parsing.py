"""What a run's parse pool does next: pages waiting for OCR first (their documents are half done), then the files
to parse, each with its own time bound."""

from collections import deque

from ingest.loaders import Loaded, load
from ingest.ocr import OcrOptions, OcrQueue, read_page, why_not
from ingest.plans import Job
from ingest.report import failure_reason

RENDER_S = 30  # a page's rendering, on top of its OCR's own bound


class ParseTasks:
    def __init__(self, settings, jobs: list[Job]):
        self.settings = settings
        self.pending = deque(jobs)
        options = OcrOptions.of(settings)
        self.ocr = OcrQueue(options, settings.ocr_max_pages) if options else None

    def left(self) -> bool:
        return bool(self.pending or (self.ocr and self.ocr.tasks))

    def next(self):
        """(job, page or None, function, arguments, timeout) of the next pool task, or None."""
        if self.ocr and (page_task := self.ocr.next_task()):
            job, page, args = page_task
            return job, page, read_page, args, self.ocr.options.page_timeout_s + RENDER_S
        if not self.pending:
            return None
        job = self.pending.popleft()
        min_chars = self.settings.ocr_min_chars if self.ocr else 0
        tables = self.settings.tables == "rows"
        return (job, None, load, (job.path, self.settings.pdf_parser, min_chars, why_not(self.settings), tables),
                self.settings.parse_timeout(job.size))

    def parsed(self, future, job: Job, page: int | None) -> Loaded | None:
        """The parsed document, once it is whole: None while pages of it wait for OCR. A page that fails is
        reported in the document's note, the rest kept."""
        if page is None:
            loaded = future.result()
            if loaded.unread:
                self.ocr.start(job, loaded)
                return None
            return loaded
        try:
            text = future.result()
        except Exception as e:  # noqa: BLE001 - the page is reported, the rest of the document kept
            why = (f"OCR took over {self.ocr.options.page_timeout_s:g} s" if isinstance(e, TimeoutError)
                   else failure_reason(e, self.settings))
            return self.ocr.finish(job, page, None, why)
        return self.ocr.finish(job, page, text)
