"""`python -m core.cli models ...` against a real mock OpenAI server: add, list, test, verify; keys masked."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mock_llm import MockOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-cli-0123456789abcdefSECRET"
WRONG = "sk-cli-wrong-key-zyxwvu98765"
outputs: list[str] = []


def cli(data_dir: Path, *args: str, rc: int = 0) -> str:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "300"}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALMANAC_LLM_MODEL"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    outputs.append(out)
    assert proc.returncode == rc, out
    assert "Traceback" not in out
    return proc.stdout


@pytest.fixture
def server():
    with MockOpenAIServer(api_key=KEY) as srv:
        yield srv


def test_models_add_list_test_verify(tmp_path, server):
    outputs.clear()
    data, url = tmp_path / "data", server.base_url
    out = cli(data, "models", "add", "--type", "llm", "--provider", "openai", "--name", "Mock GPT",
              "--model", "gpt-test", "--base-url", url, "--api-key", KEY, "--param", "max_tokens=64", "--default")
    assert "Added llm model Mock GPT" in out and "sk-…CRET" in out and "(default)" in out
    cli(data, "models", "add", "--type", "llm", "--provider", "openai", "--name", "Bad key",
        "--model", "gpt-test", "--base-url", url, "--api-key", WRONG)

    out = cli(data, "models", "test", "Mock GPT")
    assert out.startswith("OK") and "gpt-test" in out
    out = cli(data, "models", "test", "bad key", rc=1)
    assert out.startswith("FAILED") and "API key was rejected" in out

    listed = json.loads(cli(data, "models", "list", "--json"))
    assert [(m["name"], m["status"], m["is_default"], m["api_key_masked"]) for m in listed] == [
        ("Mock GPT", "ok", True, "sk-…CRET"), ("Bad key", "error", False, "sk-…8765")]
    assert listed[0]["params"] == {"max_tokens": 64} and "api_key" not in listed[0]
    table = cli(data, "models", "list")
    assert "Mock GPT" in table and "sk-…CRET" in table and "error" in table

    out = cli(data, "models", "verify", "--type", "llm", "--provider", "openai", "--model", "gpt-test",
              "--base-url", url, "--api-key", KEY)
    assert out.startswith("OK")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    out = cli(data, "models", "verify", "--type", "llm", "--provider", "openai", "--model", "gpt-test",
              "--base-url", closed, "--api-key", KEY, rc=1)
    assert "Cannot connect" in out
    assert len(json.loads(cli(data, "models", "list", "--json"))) == 2  # verify saved nothing

    out = cli(data, "models", "test", "nosuch", rc=2)
    assert "No model named or with id 'nosuch'" in out
    out = cli(data, "models", "add", "--type", "llm", "--provider", "openai", "--name", "x", "--model", "y",
              "--base-url", "ftp://host", rc=2)
    assert "http(s) URL" in out

    for out in outputs:  # the keys went to the server, but never to the terminal
        for key in (KEY, WRONG):
            assert key not in out and key[3:-4] not in out, out
    assert any(r["headers"].get("Authorization") == f"Bearer {WRONG}" for r in server.requests)
