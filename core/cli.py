"""Command line: python -m core.cli --help

Uses the same data dir (ALMANAC_DATA_DIR) and services as the server. Embedded stores
belong to one process at a time: run ingestion here while the server is stopped, or
let the running server's workers do it (ingest without --wait).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.cli_models import find_model, models_app
from core.container import Services, build_services
from core.errors import AlmanacError, InvalidInput, NotFound
from core.schemas import FINAL_STATES
from core.tenants import DEFAULT_TENANT_ID

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="Almanac knowledge bases from the terminal.")
kb_app = typer.Typer(no_args_is_help=True, help="Create, list and delete knowledge bases.")
app.add_typer(kb_app, name="kb")
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
    """Run an ingestion worker until interrupted (scale-out: run several against a shared database)."""
    svc = services(workers=True)
    if svc.settings.warm_up:
        svc.workers.warm_up()
    console.print(f"Worker {svc.tasks.worker} with {svc.settings.ingest_workers} thread(s); Ctrl+C to stop")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        svc.close()


# ------------------------------------------------------------------------------------ voice
def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file next to `path`, then rename: a failure never leaves an empty or partial file."""
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command()
def tts(text: Annotated[str, typer.Argument(help="What to say ('-' reads standard input)")],
        output: Annotated[Path, typer.Option("--output", "-o", help="Audio file to write (.mp3 or .wav)")],
        voice: Annotated[str, typer.Option(help="A voice (en-US-AriaNeural, en-us, ...) or a language code")] = "",
        fmt: Annotated[str, typer.Option("--format", help="mp3 | wav; default: from the file's suffix")] = "",
        rate: Annotated[float | None, typer.Option(help="Speed, 0.5 to 2.0 (1.0 = normal)")] = None,
        model: Annotated[str, typer.Option(help="A saved tts model (id or name); default: the default one")] = "") -> None:
    """Text to speech: edge-tts, or espeak-ng when offline (or the default tts model)."""
    suffix = output.suffix.lower().lstrip(".")
    fmt = fmt.lower() or suffix
    if fmt not in ("mp3", "wav"):
        raise typer.BadParameter(f"cannot tell the audio format from '{output.name}': use a .mp3 or .wav file name "
                                 "or --format mp3|wav")
    if suffix in ("mp3", "wav") and suffix != fmt:
        raise typer.BadParameter(f"--format {fmt} does not match the file name '{output.name}'")
    svc = services()
    model_id = find_model(svc, model).id if model else None
    speech = svc.voice.synthesize(TENANT, sys.stdin.read() if text == "-" else text, voice=voice or None,
                                  format=fmt, model_id=model_id, rate=rate)
    write_atomically(output, speech.audio)
    svc.close()
    console.print(f"Wrote {escape(str(output))}: {speech.duration_s:.1f} s of {speech.format} "
                  f"({speech.provider_used}, voice {escape(speech.voice_used)})", highlight=False)
    if speech.note:
        console.print(f"[yellow]{escape(speech.note)}[/]", highlight=False)


@app.command()
def stt(file: Annotated[Path, typer.Argument(help="An audio file: wav, mp3, m4a, webm, ogg or flac")],
        language: Annotated[str, typer.Option(help="auto, or a language code such as en or zh")] = "",
        model: Annotated[str, typer.Option(help="A saved stt model (id or name); default: the default one")] = "",
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output with segments")] = False) -> None:
    """Speech to text with faster-whisper (the bundled tiny.en offline) or the default stt model."""
    if not file.is_file():
        raise typer.BadParameter(f"{file} does not exist")
    svc = services()
    model_id = find_model(svc, model).id if model else None
    transcript = svc.voice.transcribe(TENANT, file.read_bytes(), filename=file.name, language=language or None,
                                      model_id=model_id)
    svc.close()
    if as_json:
        print(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2))
        return
    print(transcript.text)
    if transcript.note:
        Console(stderr=True).print(f"[yellow]{escape(transcript.note)}[/]", highlight=False)


def main() -> None:
    try:
        app()
    except AlmanacError as exc:
        console.print(f"[red]Error:[/] {exc.message}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
