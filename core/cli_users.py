"""`python -m core.cli user ...`: the administrator's user accounts (add to a workspace, list, remove, password).

Whoever runs the CLI is the administrator: it works whether sign-up is open or not (ALMANAC_ALLOW_SIGNUP).
Split from core/cli.py to keep modules small; core/cli.py registers `users_app`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.container import Services, build_services
from core.errors import NotFound
from core.tenants import DEFAULT_TENANT_ID

users_app = typer.Typer(no_args_is_help=True, help="User accounts: add to a workspace, list, remove, set a password.")
console = Console()


def services() -> Services:
    return build_services()


def find_user(svc: Services, name: str):  # noqa: ANN201 - UserInfo
    user = svc.users.find(name)
    if user is None:
        raise NotFound(f"No user named '{name}'")
    return user


Password = Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                       help="Asked for when not given")]


@users_app.command("add")
def add(name: str,
        password: Password,
        workspace: Annotated[str, typer.Option(help="Workspace id; 'new' = a workspace of the user's own")] =
        DEFAULT_TENANT_ID,
        role: Annotated[str, typer.Option(help="owner | member")] = "owner",
        email: Annotated[str, typer.Option()] = "") -> None:
    """Add a user to a workspace (the default one: an administrator)."""
    svc = services()
    try:
        if workspace == "new":
            user = svc.users.signup(name, password, email=email, by_admin=True)
        else:
            user = svc.users.add(None, workspace, name, password, email=email, role=role)
    finally:
        svc.close()
    console.print(f"Added [bold]{escape(user.name)}[/] ({user.role}) to workspace {user.tenant_id}")


@users_app.command("list")
def list_users(workspace: Annotated[str, typer.Option(help="Workspace id")] = DEFAULT_TENANT_ID) -> None:
    """The users of a workspace."""
    svc = services()
    try:
        users = svc.users.list(workspace)
    finally:
        svc.close()
    table = Table("name", "role", "e-mail", "disabled", "last sign-in", "id")
    for u in users:
        table.add_row(escape(u.name), u.role, escape(u.email), "yes" if u.disabled else "",
                      f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "—", u.id)
    console.print(table if users else f"No users in workspace {workspace}")


@users_app.command("remove")
def remove(name: str) -> None:
    """Remove a user (their workspace and what it holds stay)."""
    svc = services()
    try:
        user = find_user(svc, name)
        svc.users.remove(None, user.tenant_id, user.id)
    finally:
        svc.close()
    console.print(f"Removed {escape(user.name)}")


@users_app.command("password")
def password(name: str, password: Password) -> None:
    """Set a user's password (their access tokens issued before stop working)."""
    svc = services()
    try:
        svc.users.set_password(find_user(svc, name).id, password)
    finally:
        svc.close()
    console.print(f"Password of {escape(name)} changed")
