"""`ingest PATH...`: batch ingest files and folders into a collection (or queue them for the workers);
`ingest worker`: run queued ingest jobs."""

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from tqdm import tqdm

from ingest.files import collect_files, source_names
from ingest.pipeline import Ingestor
from ingest.report import Summary
from rag.errors import FileTooLarge, QuotaExceeded, RagError
from rag.lock import store_lock
from rag.settings import get_settings

app = typer.Typer(add_completion=False)
worker_app = typer.Typer(add_completion=False)
err = Console(stderr=True, soft_wrap=True)


def open_ingestor(settings, catalog=None):
    from rag.catalog import open_catalog
    from rag.embeddings import get_embedder
    from rag.store import open_store

    return Ingestor(settings, get_embedder(settings), open_store(settings), catalog or open_catalog(settings))


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (walked recursively).")] = None,
    collection: Annotated[str | None, typer.Option(help="Collection to ingest into.")] = None,
    tenant: Annotated[str, typer.Option(help="The tenant whose collection it is (with API keys on).")] = "default",
    workers: Annotated[int | None, typer.Option(min=1, help="Parser processes.")] = None,
    prune: Annotated[bool, typer.Option(help="Remove documents whose files are gone.")] = False,
    enqueue: Annotated[bool, typer.Option(help="Queue one job per file for the workers (`ingest worker`, or the "
                                          "running service) instead of ingesting here.")] = False,
    unless_exists: Annotated[bool, typer.Option(help="Do nothing if the collection exists already (the sample "
                                                "documents at every start).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    warm: Annotated[bool, typer.Option(help="Then read the collection's passages ahead of its questions, keeping "
                                       "their readings (RAG_PASSAGE_CACHE_MB) where they fit.")] = False,
    reembed: Annotated[bool, typer.Option(help="Embed the collection's chunks again with RAG_EMBEDDING_MODEL (no "
                                          "file is read): a collection made with another model moves to it.")] = False,
) -> None:
    """Ingest documents (PDF, text, Markdown, HTML, Word) into the store; unchanged files are skipped."""
    settings = get_settings()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from rag.tenants import check_tenant, collection_key

        tenant, name = check_tenant(tenant), collection or settings.collection
        collection = collection_key(tenant, name)
        if unless_exists and _exists(settings, collection):
            return
        if reembed:
            return _reembed(settings, collection, paths)
        if not paths:
            raise RagError("give files or folders to ingest (or --reembed)")
        files, skipped = collect_files(paths)
        names = source_names(paths, files)
        if enqueue:
            if warm:
                raise RagError("--warm reads what is ingested here: run it without --enqueue once the jobs are done")
            return _enqueue(settings, files, names, tenant, name, as_json)
        summary = _ingest_here(settings, files, skipped, names, collection, workers, prune)
        if warm and not summary.interrupted:
            _warm(settings, collection)
    except RagError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(summary.to_dict()))
    else:
        _print_summary(summary)
    if summary.interrupted:
        err.print("[yellow]interrupted[/yellow]: finished files are stored; run the same command to resume")
        raise typer.Exit(130)


def _exists(settings, collection: str) -> bool:
    from rag.catalog import open_catalog

    if open_catalog(settings).has_collection(collection):
        err.print(f"collection [bold]{collection}[/bold] exists: nothing ingested (--unless-exists)")
        return True
    return False


def _reembed(settings, collection: str, paths) -> None:
    from ingest.reembed import reembed

    if paths:
        raise RagError("--reembed reads no file: give only --collection")
    with store_lock(settings, "ingest"):
        ingestor = open_ingestor(settings)
        count = reembed(ingestor, collection)
    err.print(f"collection [bold]{collection}[/bold]: {count} chunks embedded with {ingestor.embedder.name}")


def _ingest_here(settings, files, skipped, names, collection: str, workers: int | None, prune: bool):
    """In this process, holding the store's lock, with a progress bar of files and chunks a second."""
    with store_lock(settings, "ingest"):
        ingestor = open_ingestor(settings)
        with tqdm(total=len(files) + len(skipped), unit="file", disable=not sys.stderr.isatty(),
                  dynamic_ncols=True) as bar:
            chunks = 0

            def progress(report):
                nonlocal chunks
                chunks += report.chunks if report.outcome in ("ingested", "replaced") else 0
                bar.update(1)
                rate = chunks / bar.format_dict["elapsed"] if bar.format_dict["elapsed"] else 0
                bar.set_postfix(chunks=chunks, chunks_s=f"{rate:.1f}")

            summary = ingestor.ingest(files, collection, workers, skipped, on_progress=progress, names=names)
        if prune and not summary.interrupted:
            summary.pruned = ingestor.prune(collection)
    return summary


def _warm(settings, collection: str) -> None:
    from rag.answer.warm import readers, warm
    from rag.catalog import open_catalog
    from rag.llm import get_llm

    chunks = open_catalog(settings).lexical.chunks(collection)
    llm, judge, states = readers(settings, get_llm(settings))
    with tqdm(total=len(chunks), unit="passage", disable=not sys.stderr.isatty(), dynamic_ncols=True) as bar:
        kept = warm(llm, judge, states, chunks, on_passage=lambda: bar.update(1))
    err.print(f"collection [bold]{collection}[/bold]: {kept} passages' readings kept "
              f"({states.size() / 2**20:,.0f} MB of kept readings in all)")


def _enqueue(settings, files: list[Path], names: dict[Path, str], tenant: str, collection: str,
             as_json: bool) -> None:
    """Each file's bytes into the catalog and one job per file into the queue."""
    from ingest.library import Library
    from ingest.queue import open_queue
    from ingest.worker import Jobs
    from rag.catalog import open_catalog

    catalog = open_catalog(settings)
    jobs = Jobs(settings, catalog, open_queue(settings))
    library = Library(settings, catalog, jobs, None, None).for_tenant(tenant)
    queued = []
    for path in files:
        try:
            queued.append(library.enqueue_file(path, names[path], collection))
        except (FileTooLarge, QuotaExceeded) as e:
            err.print(f"  [red]not queued[/red] {e}")
    if as_json:
        print(json.dumps({"collection": collection, "queued": queued}))
    else:
        err.print(f"collection [bold]{collection}[/bold]: {len(queued)} files queued ({jobs.queue.name} queue); "
                  "GET /jobs/JOB_ID or /documents shows their progress")


@worker_app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once in this process.")] = 1,
) -> None:
    """Run queued ingest jobs until stopped (SIGINT or SIGTERM let the running jobs finish)."""
    from ingest.queue import open_queue
    from ingest.worker import Jobs
    from rag.catalog import open_catalog

    settings = get_settings()
    try:
        with store_lock(settings, "ingest worker"):
            catalog = open_catalog(settings)
            jobs = Jobs(settings, catalog, open_queue(settings), open_ingestor(settings, catalog))
            jobs.ingestor.embedder.embed(["warm up"])  # a missing model fails here, not at the first job
            err.print(f"ingest worker {jobs.worker_id}: {jobs.queue.name} queue, catalog {catalog.url}, "
                      f"{concurrency} at a time")
            jobs.consume(concurrency)
    except RagError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _print_summary(summary: Summary) -> None:
    d = summary.to_dict()
    err.print(
        f"collection [bold]{d['collection']}[/bold]: {d['ingested']} ingested, {d['replaced']} replaced, "
        f"{d['unchanged']} unchanged, {d['duplicate']} duplicate, {d['failed']} failed, {d['skipped']} skipped; "
        f"{d['chunks_added']} chunks added in {d['seconds']:.1f} s"
        + (f"; {len(d['pruned'])} pruned" if d["pruned"] else "")
    )
    for f in summary.files:
        if f.outcome == "failed":
            err.print(f"  [red]failed[/red] {f.source}: {f.reason}")
    for source in d["pruned"]:
        err.print(f"  pruned {source}")


def main() -> None:
    from rag.version import answer_version

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    answer_version("ingest", sys.argv[1:])
    if sys.argv[1:2] == ["worker"]:
        answer_version("ingest worker", sys.argv[2:])
        logging.getLogger("huey").setLevel(logging.INFO)
        worker_app(sys.argv[2:], prog_name="ingest worker")
    else:
        app()
