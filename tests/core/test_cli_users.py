"""`python -m core.cli user ...`: the administrator adds users (also with sign-up off), lists, changes a password,
removes; bad input changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from core.config import Settings
from core.container import build_services
from storage.orm import Tenant

ROOT = Path(__file__).resolve().parents[2]


def cli(data_dir: Path, *args: str, rc: int = 0) -> str:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "200",
           "ALMANAC_PASSWORD_HASH_ROUNDS": "4", "ALMANAC_ALLOW_SIGNUP": "false"}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "user", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == rc, out
    assert "Traceback" not in out
    return out


def test_the_administrator_manages_users_from_the_command_line(tmp_path):
    data = tmp_path / "data"
    assert "Added admin (owner) to workspace default" in cli(data, "add", "admin", "--password", "s3cret-pw")
    assert "Added bob (owner)" in cli(data, "add", "bob", "--password", "pass-1234", "--workspace", "new")
    assert "at least 4 characters" in cli(data, "add", "carl", "--password", "x", "--workspace", "new", rc=2)
    assert "already taken" in cli(data, "add", "BOB", "--password", "pass-1234", rc=2)
    assert "admin" in cli(data, "list") and "bob" not in cli(data, "list")
    assert "Password of admin changed" in cli(data, "password", "admin", "--password", "n3w-pass")
    svc = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        assert svc.users.login("admin", "n3w-pass").user.is_admin
        bob = svc.users.find("bob")
        assert bob.tenant_id != "default" and svc.users.find("carl") is None
        assert len(svc.users.list(bob.tenant_id)) == 1
        with svc.db.session() as s:  # carl's refused account left no workspace behind
            assert s.scalar(select(func.count()).select_from(Tenant)) == 2
    finally:
        svc.close()
    assert "Removed bob" in cli(data, "remove", "bob")
    assert "No user named 'bob'" in cli(data, "remove", "bob", rc=2)
