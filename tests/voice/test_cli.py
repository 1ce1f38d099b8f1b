"""`python -m core.cli tts` / `stt`: text -> speech -> text with no configuration; failures leave no file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.voice.conftest import SENTENCES, require_espeak, wer

ROOT = Path(__file__).resolve().parents[2]


def cli(data: Path, *args: str, rc: int = 0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALMANAC_")}
    env.update(ALMANAC_DATA_DIR=str(data), HF_HUB_OFFLINE="1", COLUMNS="300")
    proc = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def test_round_trip_text_to_speech_to_text(tmp_path):
    require_espeak()
    data, sentence = tmp_path / "data", SENTENCES[1]
    out = cli(data, "tts", sentence, "-o", str(tmp_path / "meeting.mp3")).stdout
    assert "Wrote" in out and "of mp3" in out
    heard = cli(data, "stt", str(tmp_path / "meeting.mp3")).stdout.strip()
    assert wer(sentence, heard) <= 0.2, heard

    cli(data, "tts", SENTENCES[0], "-o", str(tmp_path / "invoice.wav"), "--voice", "en")
    assert (tmp_path / "invoice.wav").read_bytes()[:4] == b"RIFF"
    result = json.loads(cli(data, "stt", str(tmp_path / "invoice.wav"), "--json", "--language", "en").stdout)
    assert wer(SENTENCES[0], result["text"]) <= 0.2 and result["language"] == "en" and result["segments"]


def test_failures_are_clear_and_leave_no_file(tmp_path):
    data = tmp_path / "data"
    proc = cli(data, "tts", "   ", "-o", str(tmp_path / "empty.mp3"), rc=2)
    assert "nothing to say" in proc.stdout
    proc = cli(data, "tts", "Hello", "-o", str(tmp_path / "hello.ogg"), rc=2)
    assert "use a .mp3 or .wav file name" in proc.stderr
    proc = cli(data, "tts", "Hello", "-o", str(tmp_path / "hello.mp3"), "--voice", "klingon", rc=2)
    assert "Unknown edge-tts voice" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no empty or partial files

    (tmp_path / "notes.txt").write_text("These are meeting notes, not a recording.\n" * 5)
    proc = cli(data, "stt", str(tmp_path / "notes.txt"), rc=2)
    assert "'notes.txt' could not be read: not a supported audio format" in " ".join(proc.stdout.split())
