"""`python -m core.cli tenant ...` and `... key ...`: a second tenant and its keys without writing Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.cli import app
from core.config import Settings
from core.container import build_services
from core.errors import InvalidInput, NotFound

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """The command line in this process (its start-up costs seconds), on a data dir of its own."""
    monkeypatch.setenv("ALMANAC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()

    def invoke(*args: str, error: type | None = None) -> str:
        result = runner.invoke(app, list(args))
        if error is not None:
            assert isinstance(result.exception, error), result.output
            return str(result.exception)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    return invoke


def test_tenant_and_key_commands(run, tmp_path):
    created = json.loads(run("tenant", "create", "Acme", "--description", "The shop", "--json"))
    assert created["number"] == 2 and created["api_key"].startswith("almanac-")
    listed = run("tenant", "list")
    assert "Acme" in listed and "Default workspace" in listed and created["api_key"] not in listed
    shown = run("tenant", "show", "Acme")
    assert created["api_key"] in shown and "The shop" in shown

    new_key = run("key", "create", "2", "--name", "ci").split(": ")[-1].strip()
    keys = json.loads(run("key", "list", "Acme", "--json"))
    assert [k["name"] for k in keys] == ["default", "ci"] and new_key.startswith(keys[1]["prefix"])
    assert "Revoked key" in run("key", "revoke", "Acme", keys[0]["prefix"] + "…")
    svc = build_services(Settings(data_dir=tmp_path / "data", ingest_workers=0))
    try:
        assert svc.tenants.resolve(new_key) == created["id"]
        assert [k.name for k in svc.tenants.list_keys(created["id"])] == ["ci"]
    finally:
        svc.close()

    assert "No tenant" in run("tenant", "show", "Nobody", error=NotFound)
    assert "cannot be deleted" in run("tenant", "delete", "1", "--yes", error=InvalidInput)
    assert "Deleted tenant Acme" in run("tenant", "delete", "Acme", "--yes")
    assert "Acme" not in run("tenant", "list")


def test_errors_are_a_message_and_exit_code_2(tmp_path):
    env = {**os.environ, "ALMANAC_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "key", "list", "Nobody"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "No tenant" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
