"""Voice test helpers: espeak-ng speech (required, never skipped), word error rate, an unreachable edge-tts."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess

import pytest

from core.config import Settings
from core.container import build_services

# Sentences the bundled tiny.en hears reliably from espeak-ng (no numbers or names: those have spellings).
SENTENCES = [
    "Please send the invoice to the finance team.",
    "We will meet in the conference room after lunch.",
    "The weather today is sunny and warm.",
    "Turn off the lights when you leave the room.",
]


def require_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed: the voice tests need it (apt-get install espeak-ng; test.sh does)")
    return exe


def spoken(text: str, voice: str = "en-us") -> bytes:
    """espeak-ng's own WAV of `text`, with its default settings."""
    return subprocess.run([require_espeak(), "-v", voice, "--stdout"], input=text.encode(), capture_output=True,
                          check=True, timeout=60).stdout


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level edit distance (substitutions + insertions + deletions)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[len(hyp)]


def wer(reference: str, hypothesis: str) -> float:
    return word_errors(reference, hypothesis) / max(len(words(reference)), 1)


def refused_url() -> str:
    """An http URL on a local port nobody listens on: edge-tts through it fails at once, deterministically."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def offline_settings(tmp_path) -> Settings:
    """Settings whose edge-tts cannot reach its service (as on a machine without internet)."""
    return Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64",
                    tts_proxy=refused_url())


@pytest.fixture
def voice_svc(offline_settings):
    services = build_services(offline_settings)
    yield services
    services.close()
