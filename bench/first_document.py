"""Time to process the first document after start-up, with and without the background warm-up.

Each run starts the real server (`python api_server.py`) on a fresh data dir holding one knowledge base,
waits until /health answers and then `--delay` seconds more (a new user opening the admin UI and choosing a
file), then queues an ~900-byte Markdown file from a second process (as `core.cli ingest` does: the
server's workers pick it up) and polls the database until the document is completed. Baseline =
ALMANAC_WARM_UP=false, in the same run, alternating with the warm-up.

    .venv/bin/python bench/first_document.py [--runs 2] [--delay 20]
Prints seconds from upload to completed (and per stage) per run and the ratio; bench/results/first_document.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import Settings  # noqa: E402
from core.container import build_services  # noqa: E402
from tests.helpers import free_port, start_server  # noqa: E402

TENANT = "default"
DOC = ("# Refund policy\n\n## Window\n\nCustomers may return any product within thirty days of purchase for a full "
       "refund. Items must be unused and in their original packaging, with the receipt.\n\n## Exceptions\n\n"
       "Gift cards, downloadable software and personalised items cannot be refunded. Sale items can be exchanged "
       "but not refunded.\n\n## How\n\nStart a return from your account page; we email a prepaid label within one "
       "business day. Refunds reach the original payment method within five business days after we receive "
       "the item.\n\n退货须在签收后三十天内申请。\n").encode()


def one_run(warm_up: bool, delay: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        setup = build_services(Settings(data_dir=data, ingest_workers=0))
        kb = setup.knowledge.create(TENANT, "Bench")
        setup.close()
        started = time.monotonic()
        server = start_server(data, free_port(), env={"ALMANAC_WARM_UP": str(warm_up).lower()})
        up = time.monotonic() - started
        probe = build_services(Settings(data_dir=data, ingest_workers=0))
        try:
            time.sleep(delay)
            (doc,) = probe.documents.upload(TENANT, kb.id, [("refund.md", DOC)])
            queued = time.monotonic()
            while time.monotonic() - queued < 300:
                task = probe.documents.get(TENANT, doc.id).task
                if task.state in ("completed", "error"):
                    break
                time.sleep(0.1)
            total = time.monotonic() - queued
        finally:
            probe.close()
            server.terminate()
            server.wait(60)
    assert task.state == "completed", task
    stages = {"waiting": task.parsing_at - task.created_at, "parsing": task.splitting_at - task.parsing_at,
              "splitting": task.indexing_at - task.splitting_at, "indexing": task.finished_at - task.indexing_at}
    return {"warm_up": warm_up, "server_up_s": round(up, 2), "upload_to_completed_s": round(total, 2),
            "stages_s": {k: round(v.total_seconds(), 2) for k, v in stages.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--delay", type=float, default=20.0, help="seconds between /health and the upload")
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        for warm_up in (False, True):
            r = one_run(warm_up, args.delay)
            results.append(r)
            print(f"run {i + 1} {'warm-up ' if warm_up else 'baseline'}: server up in {r['server_up_s']:5.1f} s, "
                  f"first document {r['upload_to_completed_s']:5.1f} s  {r['stages_s']}", flush=True)
    cold = statistics.median(r["upload_to_completed_s"] for r in results if not r["warm_up"])
    warm = statistics.median(r["upload_to_completed_s"] for r in results if r["warm_up"])
    up_cold = statistics.median(r["server_up_s"] for r in results if not r["warm_up"])
    up_warm = statistics.median(r["server_up_s"] for r in results if r["warm_up"])
    print(f"\nmedian first document: baseline {cold:.1f} s, warm-up {warm:.1f} s -> {cold / warm:.1f}x faster; "
          f"server up: {up_cold:.1f} s vs {up_warm:.1f} s")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "first_document.json").write_text(json.dumps({"delay_s": args.delay, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
