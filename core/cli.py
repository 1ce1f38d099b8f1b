"""Command line: python -m core.cli --help

Uses the same data dir (ALMANAC_DATA_DIR) and services as the server. Embedded stores
belong to one process at a time: run ingestion here while the server is stopped, or
let the running server's workers do it (ingest without --wait).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

# Before any engine loads OpenMP: its threads sleep instead of spinning while they wait. On two busy
# cores, embedding 300 passages took 62 s (15 s CPU) with PASSIVE against 125-194 s (31-36 s CPU) spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from core.container import Services, build_services
from core.errors import AlmanacError, InvalidInput, NotFound
from core.tenants import DEFAULT_TENANT_ID
from core.text import human_size

# Start-up time matters here: modules import only what every command needs (typer, rich, the
# database layer); services and their libraries (Chroma, LlamaIndex, the embedding engine) load
# when a command first touches them (core/container.py).
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="Almanac knowledge bases from the terminal.")
kb_app = typer.Typer(no_args_is_help=True, help="Create, list and delete knowledge bases.")
app.add_typer(kb_app, name="kb")
# Commands in modules of their own, one line each: (group name, "module:Typer app"); a group named ""
# adds its commands at the top level. Keep such modules light: import services inside the commands.
GROUPS = [
    ("models", "core.cli_models:models_app"),
    ("tenant", "core.cli_tenants:tenant_app"),
    ("key", "core.cli_tenants:key_app"),
    ("", "core.cli_voice:voice_app"),
    ("", "core.cli_eval:eval_app"),
    ("user", "core.cli_users:users_app"),
]
for _name, _target in GROUPS:
    _module, _, _attr = _target.partition(":")
    app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name or None)
console = Console()
TENANT = DEFAULT_TENANT_ID


def services(workers: bool = False) -> Services:
    return build_services(start_workers=workers)


def flexible(header: str, share: int) -> Column:
    """A column that takes `share` of the width the others leave (tables use expand=True for
    that), folding long names and ids onto more lines instead of cutting them short."""
    return Column(header, overflow="fold", ratio=share)


def name_and_id(name: str, id_: str) -> str:
    return f"{escape(name)}\n[dim]{id_}[/]"


def doc_note(d) -> str:  # noqa: ANN001 - a DocumentInfo
    """What the status alone does not say: the error, or where a running task is."""
    if d.task is None or d.status == "completed":
        return ""
    return d.task.error or d.task.message


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
    # One fact per line: a narrow terminal never breaks a name or an id in two.
    console.print(f"Created knowledge base [bold]{escape(kb.name)}[/]\n  id     {kb.id}\n"
                  f"  model  {escape(kb.embedding_model)}", highlight=False, overflow="ignore", crop=False)


@kb_app.command("list")
def kb_list() -> None:
    """List knowledge bases with their counts."""
    table = Table(flexible("knowledge base", 2), "docs", "chunks", "hits", flexible("embedding model", 1), expand=True)
    for kb in services().knowledge.list(TENANT, page_size=1000).items:
        table.add_row(name_and_id(kb.name, kb.id), str(kb.document_count), str(kb.chunk_count), str(kb.hit_count),
                      escape(kb.embedding_model))
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
           wait: Annotated[bool, typer.Option(help="Process now and show progress")] = False,
           on_duplicate: Annotated[str, typer.Option(
               help="A file whose content is already in the knowledge base: skip | keep (both) | replace | error")
           ] = "skip") -> None:
    """Add files (folders recurse) to a knowledge base."""
    svc = services(workers=wait)
    target = find_kb(svc, kb)
    files = collect_files(paths)
    if not files:
        raise typer.BadParameter("no files found")
    payload = [(f.name, f.read_bytes()) for f in files]
    known = svc.documents.duplicates(TENANT, target.id, payload)
    docs = svc.documents.upload(TENANT, target.id, payload, on_duplicate=on_duplicate)
    console.print(f"Queued {len(docs) - len(known) * (on_duplicate == 'skip')} file(s) in [bold]{target.name}[/]")
    if known:
        action = {"skip": "skipped", "keep": "kept as well", "replace": "replaced"}.get(on_duplicate, "")
        console.print(f"{len(known)} file(s) were already there ({action}): {escape(', '.join(sorted(known)))}",
                      highlight=False)
    if not wait:
        console.print("They will be processed by the running server (or the next `ingest --wait`).")
        return
    from core.lifecycle import StopSignals, exit_now

    started = time.monotonic()
    with StopSignals() as stop:
        pending = follow_progress(svc, docs, stop)
        if pending:  # Ctrl+C or SIGTERM: hand the unfinished work back and stop within a second
            svc.close()
            console.print(f"Stopped: {len(pending)} file(s) not finished; they resume at the next "
                          "`ingest --wait`, in a worker or in the server.", highlight=False)
            exit_now(130)
    table = Table(flexible("file", 1), "status", "chunks", "tokens", flexible("error", 1), expand=True,
                  title=f"{time.monotonic() - started:.1f} s")
    failed = 0
    for doc_id in (d.id for d in docs):
        d = svc.documents.get(TENANT, doc_id)
        failed += d.status != "completed"
        color = "green" if d.status == "completed" else "red"
        table.add_row(escape(d.name), f"[{color}]{d.status}[/]", str(d.chunk_count), str(d.token_count),
                      escape(d.task.error))
    console.print(table)
    svc.close()
    raise typer.Exit(1 if failed else 0)


def follow_progress(svc: Services, docs: list, stop) -> set[str]:  # noqa: ANN001 - a StopSignals
    """One progress line per file (name | bar | % | message | elapsed, fitting the terminal) until all are
    done or a stop signal arrives; returns the ids of the files not done."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from core.schemas import FINAL_STATES

    name_width = min(max(len(d.name) for d in docs), max(12, console.width // 3))
    message_width = max(10, console.width - name_width - 20 - 4 - 7 - 5)
    with Progress(TextColumn("{task.description}", style="bold"), BarColumn(bar_width=20),
                  TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.fields[msg]}"), TimeElapsedColumn(),
                  console=console) as progress:
        bars = {d.id: progress.add_task(escape(shorten(d.name, name_width)), total=1.0, msg="waiting") for d in docs}
        pending = set(bars)
        while pending and stop.wait(0.3) is None:
            for doc_id in list(pending):
                d = svc.documents.get(TENANT, doc_id)
                progress.update(bars[doc_id], completed=d.task.progress,
                                msg=escape(shorten(d.task.message, message_width)))
                if d.task.state in FINAL_STATES:
                    pending.discard(doc_id)
    return pending


@app.command()
def docs(kb: str) -> None:
    """List a knowledge base's documents."""
    svc = services()
    target = find_kb(svc, kb)
    documents = svc.documents.list(TENANT, target.id, page_size=1000).items
    notes = [doc_note(d) for d in documents]
    table = Table(flexible("document", 2), "status", "chunks", Column("size", justify="right"), "on", expand=True)
    if any(notes):
        table.add_column("message", overflow="fold", ratio=1)
    for d, note in zip(documents, notes, strict=True):
        table.add_row(name_and_id(d.name, d.id), d.status, str(d.chunk_count), human_size(d.size),
                      "yes" if d.enabled else "no", *([escape(note)] if any(notes) else []))
    console.print(table)


@app.command()
def chunks(kb: str, doc: str, page: int = 1, page_size: int = 20) -> None:
    """Show a document's chunks."""
    svc = services()
    d = find_doc(svc, find_kb(svc, kb).id, doc)
    result = svc.chunks.list(TENANT, d.id, page=page, page_size=page_size)
    table = Table("tokens", flexible("chunk", 3), flexible("keywords", 1), expand=True,
                  title=f"{escape(d.name)}: {result.total} chunk{'s' * (result.total != 1)}")
    for c in result.items:
        table.add_row(str(c.token_count), f"[dim]#{c.position} · {c.id}[/]\n{escape(c.content[:200].replace(chr(10), ' '))}",
                      escape(", ".join(c.keywords)))
    console.print(table)


@app.command()
def search(kb: str, query: str,
           mode: Annotated[str, typer.Option(help="semantic | full_text | hybrid")] = "hybrid",
           k: Annotated[int, typer.Option(help="results")] = 5,
           threshold: Annotated[float, typer.Option(help="minimum score 0..1")] = 0.0,
           cross_language: Annotated[str, typer.Option(
               "--cross-language", help="kb (the knowledge base's setting) | all (every language it has) | off")] = "kb",
           as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Search a knowledge base (with cross-language variants of the query when it is set up for them)."""
    from core.query_expansion import ALL_LANGUAGES, NO_EXPANSION

    expansions = {"kb": None, "all": ALL_LANGUAGES, "off": NO_EXPANSION}
    if cross_language not in expansions:
        raise typer.BadParameter(f"--cross-language must be one of: {', '.join(expansions)}")
    svc = services()
    found = svc.retrieval.search_expanded(TENANT, [find_kb(svc, kb).id], query, mode=mode, top_k=k,
                                          threshold=threshold, source="cli", expansion=expansions[cross_language])
    hits = found.hits
    if as_json:
        variant = lambda h: found.variant_of(h)  # noqa: E731 - the query variant that scored the hit best
        print(json.dumps([{"chunk_id": h.chunk_id, "document_name": h.document_name, "content": h.content,
                           "score": round(h.score, 4), "found_by": {"kind": variant(h).kind, "query": variant(h).text,
                                                                    "language": variant(h).language}}
                          for h in hits], ensure_ascii=False, indent=2))
        return
    for i, v in enumerate(found.variants[1:], 2):
        console.print(f"variant {i}: {v.kind} {v.language}: {v.text}", highlight=False)
    table = Table("score", "vector", "text", flexible("document", 1), flexible("content", 3), expand=True)
    for h in hits:
        fmt = lambda x: "" if x is None else f"{x:.3f}"  # noqa: E731
        table.add_row(f"{h.score:.3f}", fmt(h.vector_score), fmt(h.text_score), escape(h.document_name),
                      escape(h.content[:200].replace("\n", " ")))
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
    answer, refs, cited, mode, model, error, model_error = "", [], [], "", "", "", ""
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
            model_error = data.get("model_error", "")
        elif event.type == "error":
            answer, error, mode = data["content"], data["message"], data["mode"] or mode
    svc.close()
    if mode == "empty":  # the assistant's fixed "nothing found" reply: say whether a model would have answered
        mode = "llm" if model else "retrieval_only"
    if as_json:
        out = {"answer": answer, "references": [{"chunk_id": r["chunk_id"], "document_name": r["document_name"],
                                                 "content": r["content"]} for r in refs],
               "mode": mode, "session_id": conv.id}
        out |= {"model_error": model_error} if model_error else {}
        print(json.dumps({**out, "error": error} if error else out, ensure_ascii=False, indent=2))
    else:
        print()
        if model_error:
            console.print(f"[yellow]The model failed, so the answer quotes the passages:[/] {escape(model_error)}",
                          highlight=False)
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
    """Run an ingestion worker until Ctrl+C or SIGTERM (scale-out: run several against a shared database)."""
    from core.lifecycle import StopSignals, exit_now

    with StopSignals() as stop:
        svc = services(workers=True)
        if svc.settings.warm_up:
            svc.workers.warm_up()
        console.print(f"Worker {svc.tasks.worker} with {svc.settings.ingest_workers} thread(s); Ctrl+C to stop",
                      highlight=False)
        received = stop.wait()
        svc.close()  # within about a second: unfinished tasks go back to the queue for any worker to resume
    console.print(f"Worker stopped ({received})", highlight=False)
    exit_now(0)


def main() -> None:
    try:
        app()
    except AlmanacError as exc:
        console.print(f"[red]Error:[/] {exc.message}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
