"""`python -m core.cli tts ...` and `stt ...`: speech from text and text from speech, offline by default.

Split from core/cli.py to keep modules small; core/cli.py adds these commands at its top level.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from core.cli_models import find_model
from core.container import Services, build_services
from core.errors import InvalidInput
from core.tenants import DEFAULT_TENANT_ID

voice_app = typer.Typer()
console = Console()
TENANT = DEFAULT_TENANT_ID


def services() -> Services:
    return build_services()


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


@voice_app.command()
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


@voice_app.command()
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
