"""`ingest PATH...`: batch ingest files and folders into a collection."""

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from tqdm import tqdm

from ingest.files import collect_files
from ingest.pipeline import Ingestor
from ingest.report import Summary
from rag.errors import RagError
from rag.settings import get_settings

app = typer.Typer(add_completion=False)
err = Console(stderr=True, soft_wrap=True)


def open_ingestor(settings):
    from rag.db import connect
    from rag.embeddings import get_embedder
    from rag.store import open_store

    return Ingestor(settings, get_embedder(settings), open_store(settings), connect(settings.db_path))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
    collection: Annotated[str | None, typer.Option(help="Collection to ingest into.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Parser processes.")] = None,
    prune: Annotated[bool, typer.Option(help="Remove documents whose files are gone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Ingest documents (PDF, text, Markdown, HTML, Word) into the store; unchanged files are skipped."""
    from rag.lock import StoreLock

    settings = get_settings()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        files, skipped = collect_files(paths)
        with StoreLock(settings.data_dir, "ingest"):
            ingestor = open_ingestor(settings)
            collection = collection or settings.collection
            with tqdm(total=len(files) + len(skipped), unit="file", disable=not sys.stderr.isatty(),
                      dynamic_ncols=True) as bar:
                chunks = 0

                def progress(report):
                    nonlocal chunks
                    chunks += report.chunks if report.outcome in ("ingested", "replaced") else 0
                    bar.update(1)
                    rate = chunks / bar.format_dict["elapsed"] if bar.format_dict["elapsed"] else 0
                    bar.set_postfix(chunks=chunks, chunks_s=f"{rate:.1f}")

                summary = ingestor.ingest(files, collection, workers, skipped, on_progress=progress)
            if prune and not summary.interrupted:
                summary.pruned = ingestor.prune(collection)
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
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    app()
