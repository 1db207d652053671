"""`rag keys`: make, list and revoke API keys. They live in the catalog, so these work whether or not the
service runs (it looks keys up on every request: a new key turns auth on at once, a revoked one stops)."""

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rag.errors import RagError
from rag.settings import get_settings

app = typer.Typer(help="API keys: each belongs to a tenant, which sees only its own collections.",
                  no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)


def _keys():
    from rag.catalog import open_catalog

    try:
        return open_catalog(get_settings()).keys
    except RagError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)


@app.command("create")
def create(
    tenant: Annotated[str, typer.Argument(help="The tenant the key acts for ('default' owns the collections "
                                          "made before auth was on).")],
    admin: Annotated[bool, typer.Option("--admin", help="May also read /metrics, every tenant's figures.")] = False,
    unless_any: Annotated[bool, typer.Option("--unless-any", help="Only if no key exists yet (a first start); "
                                             "else print nothing.")] = False,
) -> None:
    """Make a key. The key is printed once, alone on the last line of stdout; only its hash is kept."""
    keys = _keys()
    if unless_any and keys.any_made():
        return
    try:
        key, secret = keys.create(tenant, admin)
    except RagError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    err.print(f"key {key.id} for tenant {key.tenant}{' (admin)' if admin else ''}; auth is on from now. "
              "Keep the key: it is not shown again.")
    print(secret)


@app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key: id, tenant, its first characters, when made and revoked."""
    keys = _keys().list()
    if as_json:
        print(json.dumps([k.__dict__ for k in keys]))
        return
    table = Table("id", "tenant", "key starts", "admin", "created", "revoked")
    for k in keys:
        table.add_row(k.id, k.tenant, k.prefix + "…", "yes" if k.admin else "", k.created_at, k.revoked_at or "")
    Console(soft_wrap=True).print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (rag keys list).")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    if not _keys().revoke(key_id):
        err.print(f"[red]error:[/red] no active key {key_id!r}")
        raise typer.Exit(2)
    err.print(f"key {key_id} revoked")
