"""The command line and cross-language search: `search --cross-language`, `eval --cross-language on/off`."""

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
from tests.helpers.bilingual import CROSS_QUESTIONS, GLOSSARY, files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A bilingual knowledge base with a glossary, and no model: everything offline."""
    data = tmp_path_factory.mktemp("data")
    svc = build_services(Settings(data_dir=data, ingest_workers=0, embedding_model="mock:words-64"))
    kb = svc.knowledge.create("default", "bilingual", retrieval_config={"mode": "full_text", "threshold": 0.0})
    ingest(svc, "default", kb.id, files())
    svc.glossary.add("default", kb.id, GLOSSARY)
    svc.close()
    return data


def cli(data: Path, *args: str, rc: int = 0) -> str:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "COLUMNS": "250"}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALMANAC_LLM_MODEL"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stdout if rc == 0 else proc.stdout + proc.stderr


def test_search_uses_the_glossary_and_says_which_variant_found_a_hit(data):
    question = "How many days is a refund valid?"
    hits = json.loads(cli(data, "search", "bilingual", question, "--mode", "full_text", "--json"))
    answer = next(h for h in hits if h["document_name"] == "退款规则.txt")
    assert answer["found_by"]["kind"] == "glossary" and "退款" in answer["found_by"]["query"]
    plain = json.loads(cli(data, "search", "bilingual", question, "--mode", "full_text", "--json",
                           "--cross-language", "off"))
    assert "退款规则.txt" not in [h["document_name"] for h in plain]
    assert "variant 2: glossary" in cli(data, "search", "bilingual", question, "--mode", "full_text")
    assert "--cross-language must be one of" in cli(data, "search", "bilingual", "x", "--cross-language", "maybe",
                                                    rc=2)


def test_eval_compares_with_and_without(data, tmp_path):
    qs = tmp_path / "cross.jsonl"
    qs.write_text("\n".join(json.dumps({"question": q, "relevant_docs": [d]}) for q, d in CROSS_QUESTIONS.items()))
    out = json.loads(cli(data, "eval", "bilingual", str(qs), "--mode", "full_text", "--cross-language", "on",
                         "--cross-language", "off", "--json"))
    hit = {r["label"]: r["metrics"]["hit@5"] for r in out["runs"]}
    assert hit == {"full-text k=5 cross-language": 1.0, "full-text k=5 no cross-language": 0.0}
    assert "unknown --cross-language 'sometimes'" in cli(data, "eval", "bilingual", str(qs), "--cross-language",
                                                         "sometimes", rc=2)
