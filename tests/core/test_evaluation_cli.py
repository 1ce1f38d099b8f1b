"""`python -m core.cli eval`: the table, and --json numbers equal to an independent computation from the
same retrieved lists; bad input is a clear error without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from core.container import build_services
from tests.conftest import ingest

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    ("refund.md", b"# Refunds\n\nCustomers may return any product within thirty days of purchase for a full refund."),
    ("security.txt", b"Employees must rotate their passwords every ninety days. Lost laptops must be reported within "
                     b"one hour."),
    ("garden.txt", b"Tomatoes need at least six hours of direct sunlight each day and deep watering twice a week."),
    ("年假.md", "员工入职满一年后每年享有十五天带薪年假，年假需要提前两周申请。".encode()),
]
QUESTIONS = [
    {"question": "How many days to return a product?", "relevant_docs": ["refund.md"]},
    {"question": "How often must passwords be rotated?", "relevant_text": "every  ninety days"},
    {"question": "sunlight for tomatoes", "relevant_docs": ["garden.txt"], "relevant_text": ["six hours"]},
    {"question": "每年有几天带薪年假？", "relevant_text": ["十五天带薪年假"]},
    {"question": "Who approves the quarterly budget?", "relevant_docs": ["refund.md", "security.txt"]},
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("data")
    svc = build_services(Settings(data_dir=data, ingest_workers=0, embedding_model="mock:words-64"))
    kb = svc.knowledge.create("default", "handbook")
    ingest(svc, "default", kb.id, FILES)
    svc.close()
    return data


def cli(data: Path, *args: str, rc: int = 0) -> str:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "COLUMNS": "250"}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "eval", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stdout


def write_set(tmp_path: Path, rows: list) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def judged(question: dict, hit: dict) -> set:
    """The targets a retrieved chunk meets, by the rules in the README, written out independently."""
    texts = question.get("relevant_text") or []
    texts = [texts] if isinstance(texts, str) else texts
    docs = question.get("relevant_docs") or []
    if not texts:
        return {hit["document_name"]} & set(docs)
    if docs and hit["document_name"] not in docs:
        return set()
    return {t for t in texts if "".join(t.split()) in "".join(hit["text"].split())}


def test_json_numbers_equal_an_independent_computation(data, tmp_path):
    out = json.loads(cli(data, "handbook", str(write_set(tmp_path, QUESTIONS)), "--compare-modes", "--json"))
    assert out["question_set"]["questions"] == 5
    assert [r["label"] for r in out["runs"]] == ["semantic k=5", "full-text k=5", "hybrid w=0.7 k=5"]
    for run in out["runs"]:
        recall, rr, hit = [], [], []
        for question, result in zip(QUESTIONS, run["questions"], strict=True):
            retrieved = result["retrieved"]
            assert [h["rank"] for h in retrieved] == list(range(1, len(retrieved) + 1))
            assert all({"rank", "chunk_id", "document_name", "text", "relevant"} <= set(h) for h in retrieved)
            found = [judged(question, h) for h in retrieved]
            assert [h["relevant"] for h in retrieved] == [bool(f) for f in found]
            targets = len(question.get("relevant_text") and ([question["relevant_text"]]
                                                               if isinstance(question["relevant_text"], str)
                                                               else question["relevant_text"])
                          or question["relevant_docs"])
            recall.append(len(set().union(*found[:5])) / targets)
            first = next((i for i, f in enumerate(found, 1) if f), 0)
            rr.append(1 / first if first else 0.0)
            hit.append(1.0 if any(found[:5]) else 0.0)
        assert run["metrics"]["recall@5"] == pytest.approx(sum(recall) / 5)
        assert run["metrics"]["mrr"] == pytest.approx(sum(rr) / 5)
        assert run["metrics"]["hit@5"] == pytest.approx(sum(hit) / 5)
        assert run["state"] == "completed" and run["generation"] is None


def test_the_table_compares_weights(data, tmp_path):
    out = cli(data, "handbook", str(write_set(tmp_path, QUESTIONS)), "--mode", "hybrid", "--weight", "0.3",
              "--weight", "0.7", "--k", "3")
    for text in ("hybrid w=0.3 k=3", "hybrid w=0.7 k=3", "recall@3", "ndcg@10", "5 questions on handbook"):
        assert text in out


def test_bad_input_is_a_clear_error(data, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "relevant_docs": ["refund.md"]}\n{"question": "x", "relevant_docs": 5}\n')
    assert "line 2: field 'relevant_docs'" in cli(data, "handbook", str(bad), rc=2)
    unknown = write_set(tmp_path, [{"question": "x", "relevant_docs": ["missing.md"]}])
    assert "no document 'missing.md'" in cli(data, "handbook", str(unknown), rc=2)
    assert "No knowledge base named" in cli(data, "nosuch", str(unknown), rc=2)
    proc = subprocess.run([sys.executable, "-m", "core.cli", "eval", "handbook", str(unknown), "--mode", "fuzzy"],
                          cwd=ROOT, env={**os.environ, "ALMANAC_DATA_DIR": str(data)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "unknown mode 'fuzzy'" in proc.stdout + proc.stderr
