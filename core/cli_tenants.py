"""`python -m core.cli tenant ...` and `... key ...`: tenants (workspaces) and their API keys.

The command line acts as the admin (the default tenant). A tenant is named by its number, id or name.
core/cli.py registers both groups (its GROUPS list).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from core.container import Services, build_services
from core.tenants import DEFAULT_TENANT_ID

tenant_app = typer.Typer(no_args_is_help=True, help="Tenants (workspaces): create, list, show, delete.")
key_app = typer.Typer(no_args_is_help=True, help="A tenant's API keys: create, list, revoke.")
console = Console()
ADMIN = DEFAULT_TENANT_ID

TenantRef = Annotated[str, typer.Argument(help="The tenant's number, id or name")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


@contextmanager
def services() -> Iterator[Services]:
    svc = build_services()
    try:
        yield svc
    finally:
        svc.close()


def when(dt) -> str:  # noqa: ANN001 - a datetime or None
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


@tenant_app.command("create")
def tenant_create(name: str, description: Annotated[str, typer.Option(help="What the tenant is for")] = "",
                  as_json: AsJson = False) -> None:
    """Create a tenant with its first API key (printed once here; `tenant show` shows it again)."""
    with services() as svc:
        t = svc.tenants.create(ADMIN, name, description)
    if as_json:
        print(json.dumps(t.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console.print(f"Created tenant [bold]{escape(t.name)}[/] number {t.number} (id {t.id})", highlight=False)
    console.print(f"API key: {t.api_key}", highlight=False, soft_wrap=True)


@tenant_app.command("list")
def tenant_list(as_json: AsJson = False) -> None:
    """List tenants."""
    with services() as svc:
        tenants = svc.tenants.list(ADMIN)
        keys = {t.id: len(svc.tenants.list_keys(t.id)) for t in tenants}
    if as_json:
        print(json.dumps([t.model_dump(mode="json", exclude={"api_key"}) for t in tenants], ensure_ascii=False,
                         indent=2))
        return
    names = [escape(t.name) + (" (admin)" if t.is_default else "") for t in tenants]
    # Names never wrap or get cut; the description gives way first.
    table = Table("number", "id", Column("name", min_width=max(map(len, names), default=4)), "description", "keys",
                  "created")
    for t, name in zip(tenants, names):
        table.add_row(str(t.number), t.id, name,
                      escape(t.description), str(keys[t.id]), when(t.created_at))
    console.print(table)


@tenant_app.command("show")
def tenant_show(tenant: TenantRef, as_json: AsJson = False) -> None:
    """A tenant with its current API key."""
    with services() as svc:
        t = svc.tenants.find(tenant)
    if as_json:
        print(json.dumps(t.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    for label, value in (("number", t.number), ("id", t.id), ("name", t.name), ("description", t.description),
                         ("api key", t.api_key or "(none)"), ("created", when(t.created_at)),
                         ("updated", when(t.updated_at))):
        console.print(f"{label:>12}: {escape(str(value))}", highlight=False, soft_wrap=True)


@tenant_app.command("delete")
def tenant_delete(tenant: TenantRef,
                  yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False) -> None:
    """Delete a tenant with everything it owns: knowledge bases, documents, vectors, files, models, keys."""
    with services() as svc:
        t = svc.tenants.find(tenant)
        if not yes:
            typer.confirm(f"Delete tenant {t.name!r} (number {t.number}) and everything it owns?", abort=True)
        svc.tenants.delete(ADMIN, t.number)
    console.print(f"Deleted tenant {escape(t.name)} (number {t.number})", highlight=False)


@key_app.command("create")
def key_create(tenant: TenantRef, name: Annotated[str, typer.Option(help="What the key is for")] = "") -> None:
    """Create an API key for a tenant (it becomes the key the tenant's record shows)."""
    with services() as svc:
        t = svc.tenants.find(tenant)
        key = svc.tenants.create_api_key(t.id, name)
    console.print(f"New API key of {escape(t.name)}: {key}", highlight=False, soft_wrap=True)


@key_app.command("list")
def key_list(tenant: TenantRef, as_json: AsJson = False) -> None:
    """A tenant's API keys (their first characters only)."""
    with services() as svc:
        keys = svc.tenants.list_keys(svc.tenants.find(tenant).id)
    if as_json:
        print(json.dumps([k.model_dump(mode="json") for k in keys], ensure_ascii=False, indent=2))
        return
    table = Table("id", "name", "starts with", "created", "last used")
    for k in keys:
        table.add_row(k.id, escape(k.name), f"{k.prefix}…", when(k.created_at), when(k.last_used_at))
    console.print(table)


@key_app.command("revoke")
def key_revoke(tenant: TenantRef, key: Annotated[str, typer.Argument(help="The key's id, or its first characters "
                                                                          "as `key list` shows them")]) -> None:
    """Revoke an API key: it stops working at once."""
    with services() as svc:
        revoked = svc.tenants.revoke_key(svc.tenants.find(tenant).id, key.rstrip("…"))
    console.print(f"Revoked key {revoked.prefix}… ({escape(revoked.name) or revoked.id})", highlight=False)
