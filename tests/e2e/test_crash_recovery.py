"""Kill the server mid-ingestion, start it again: the work completes with no duplicate chunk."""

import signal
import time

from core.config import Settings
from core.container import build_services
from tests.corpus import write_corpus
from tests.helpers import free_port, start_server, stop_process


def long_text(n: int) -> bytes:
    return "\n\n".join(f"Paragraph {i}: the archive keeps record number {i * 7} about topic {i % 13} "
                       f"for the regional office, with notes on budgets, travel and staffing." for i in range(n)).encode()


def test_kill_during_ingestion_then_restart(tmp_path):
    data = tmp_path / "data"
    setup = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = setup.knowledge.create("default", "crash", chunk_config={"chunk_size": 48, "chunk_overlap": 0})
    corpus = write_corpus(tmp_path / "corpus")
    files = [(p.name, p.read_bytes()) for p in sorted(corpus.rglob("*")) if p.is_file()]
    files += [(f"long{i}.txt", long_text(200)) for i in range(3)]  # long enough to be killed mid-indexing
    docs = setup.documents.upload("default", kb.id, files)
    setup.close()

    port = free_port()
    server = start_server(data, port)
    probe = build_services(Settings(data_dir=data, ingest_workers=0))
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some document is mid-way through indexing
        states = [probe.documents.get("default", d.id).task for d in docs]
        if any(t.state == "indexing" and 0.3 < t.progress < 0.9 for t in states):
            break
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait()
    interrupted = [t.state for t in (probe.documents.get("default", d.id).task for d in docs)]
    assert any(s in ("parsing", "splitting", "indexing", "waiting") for s in interrupted), interrupted
    probe.close()

    server = start_server(data, free_port())
    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            states = {check.documents.get("default", d.id).status for d in docs}
            if states <= {"completed"}:
                break
            time.sleep(0.3)
        assert states == {"completed"}, states
    finally:
        stop_process(server)

    # Same files ingested once, without interruption, give exactly the same chunks.
    ref = check.knowledge.create("default", "reference", chunk_config={"chunk_size": 48, "chunk_overlap": 0})
    check.documents.upload("default", ref.id, files)
    assert check.workers.drain(300)
    crashed = check.knowledge.get("default", kb.id)
    clean = check.knowledge.get("default", ref.id)
    assert crashed.chunk_count == clean.chunk_count > 0
    assert check.vectors.count(kb.id) == crashed.chunk_count
    for d in docs:
        chunks = check.chunks.list("default", d.id, page_size=10_000).items
        positions = [c.position for c in chunks]
        assert positions == list(range(len(chunks)))
        assert all(c.embedded for c in chunks)
    check.close()
