"""The foundation scenario through the CLI, offline, with the default bundled embedding model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import QUESTIONS, write_corpus

ROOT = Path(__file__).resolve().parents[2]


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "250"}
    env.pop("ALMANAC_EMBEDDING_MODEL", None)
    proc = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    folder = write_corpus(tmp_path_factory.mktemp("corpus"))
    cli(data, "kb", "create", "company")
    out = cli(data, "ingest", "company", str(folder), "--wait").stdout
    return data, out


def test_every_file_completes(built):
    data, out = built
    docs = cli(data, "docs", "company").stdout
    assert docs.count("completed") == 8, docs
    assert "error" not in docs


@pytest.mark.parametrize("question,answer", QUESTIONS)
def test_questions_find_the_passage_in_every_mode(built, question, answer):
    data, _ = built
    ranks = {}
    for mode in ("semantic", "full_text", "hybrid"):
        hits = json.loads(cli(data, "search", "company", question, "--mode", mode, "--k", "3", "--json").stdout)
        assert set(hits[0]) == {"chunk_id", "document_name", "content", "score", "found_by"} if hits else True
        assert all(h["found_by"] == {"kind": "question", "query": question, "language": h["found_by"]["language"]}
                   for h in hits)  # no model, no glossary: only the question as asked
        ranks[mode] = next((i for i, h in enumerate(hits) if answer in h["content"]), 99)
    assert ranks["hybrid"] <= min(ranks["semantic"], ranks["full_text"]), ranks
    assert ranks["hybrid"] < 3, ranks


def test_bad_input_is_a_clear_error(built):
    data, _ = built
    proc = cli(data, "search", "nosuch", "x", check=False)
    assert proc.returncode == 2 and "No knowledge base named" in proc.stdout
    proc = cli(data, "kb", "create", "COMPANY", check=False)
    assert proc.returncode == 2 and "already exists" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_status_reports_health(built):
    data, _ = built
    report = json.loads(cli(data, "status").stdout)
    assert report["database"]["ok"] and report["vector_store"]["ok"]
