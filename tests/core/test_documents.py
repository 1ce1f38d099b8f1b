import errno
import os
import shutil
import subprocess
import time

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, InvalidInput, NotFound, TooLarge, Unavailable
from storage.orm import UploadFile
from tests.conftest import ingest


@pytest.fixture
def kb(svc, tenant):
    return svc.knowledge.create(tenant, "Docs", chunk_config={"chunk_size": 64, "chunk_overlap": 8})


def test_upload_and_process_reaches_completed_with_stage_times(svc, tenant, kb):
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(200)).encode()
    (doc,) = ingest(svc, tenant, kb.id, [("notes.txt", text)])
    t = doc.task
    assert doc.status == "completed" and t.progress == 1.0 and doc.chunk_count > 5
    assert t.created_at <= t.parsing_at <= t.splitting_at <= t.indexing_at <= t.finished_at
    assert len(t.batch_id) == 20 and t.batch_id.isdigit()
    assert doc.token_count > 0 and doc.char_count >= len(text) * 0.9
    chunks = svc.chunks.list(tenant, doc.id, page_size=100).items
    assert [c.position for c in chunks] == list(range(doc.chunk_count))
    assert all(c.embedded and c.token_count <= 64 for c in chunks)
    assert all(c.keywords for c in chunks)


def test_store_without_parsing_then_parse(svc, tenant, kb):
    (doc,) = svc.documents.upload(tenant, kb.id, [("later.md", b"# Title\n\nBody text here.")], parse=False)
    assert doc.status == "unstart" and doc.task is None
    assert svc.workers.drain(5)
    assert svc.documents.get(tenant, doc.id).status == "unstart"
    svc.documents.parse(tenant, [doc.id])
    svc.workers.drain(30)
    assert svc.documents.get(tenant, doc.id).status == "completed"


def test_unsupported_and_corrupt_files_end_in_error(svc, tenant, kb):
    docs = ingest(svc, tenant, kb.id, [("virus.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04" + bytes(range(256))),
                                        ("broken.pdf", b"%PDF-1.7\n1 0 obj garbage"),
                                        ("empty.txt", b"")])
    for d in docs:
        assert d.status == "error", d
        assert d.task.error and "Traceback" not in d.task.error
    assert "Unsupported" in docs[0].task.error or "not supported" in docs[0].task.error.lower()


def test_upload_limits_and_validation(svc, tenant, kb):
    svc.documents.max_upload_bytes = 10
    with pytest.raises(TooLarge, match="limit"):
        svc.documents.upload(tenant, kb.id, [("big.txt", b"x" * 11)])
    with pytest.raises(InvalidInput):
        svc.documents.upload(tenant, kb.id, [])
    with pytest.raises(InvalidInput):
        svc.documents.upload(tenant, kb.id, [("", b"x")])
    assert svc.documents.list(tenant, kb.id).total == 0


def test_list_search_order_rename_download_delete(svc, tenant, kb):
    docs = svc.documents.upload(tenant, kb.id, [("b.txt", b"bbb"), ("a.txt", b"aaaa"), ("c.md", b"# c")], parse=False)
    page = svc.documents.list(tenant, kb.id, order_by="name", desc=False)
    assert [d.name for d in page.items] == ["a.txt", "b.txt", "c.md"]
    assert svc.documents.list(tenant, kb.id, search=".TXT").total == 2
    assert svc.documents.list(tenant, kb.id, page=2, page_size=2).items[0].name in {"a.txt", "b.txt", "c.md"}
    with pytest.raises(InvalidInput):
        svc.documents.list(tenant, kb.id, order_by="drop table")
    renamed = svc.documents.update(tenant, docs[0].id, name="renamed.txt")
    assert renamed.name == "renamed.txt"
    assert svc.documents.download(tenant, docs[1].id) == ("a.txt", b"aaaa", "text/plain")
    assert svc.documents.delete(tenant, [docs[0].id]) == 1
    with pytest.raises(NotFound):
        svc.documents.get(tenant, docs[0].id)


def test_enable_only_when_completed_and_disabled_docs_vanish(svc, tenant, kb):
    (pending,) = svc.documents.upload(tenant, kb.id, [("p.txt", b"pending text")], parse=False)
    with pytest.raises(Conflict):
        svc.documents.set_enabled(tenant, pending.id, False)
    (doc,) = ingest(svc, tenant, kb.id, [("giraffe.txt", b"Giraffes are the tallest land animals.")])
    for mode in ("semantic", "full_text", "hybrid"):
        assert svc.retrieval.search(tenant, [kb.id], "tallest giraffes", mode=mode, record=False)
    svc.documents.set_enabled(tenant, doc.id, False)
    for mode in ("semantic", "full_text", "hybrid"):
        assert not svc.retrieval.search(tenant, [kb.id], "tallest giraffes", mode=mode, record=False)
    svc.documents.set_enabled(tenant, doc.id, True)
    assert svc.retrieval.search(tenant, [kb.id], "tallest giraffes", mode="semantic", record=False)


def test_reparse_replaces_chunks_without_duplicates(svc, tenant, kb):
    (doc,) = ingest(svc, tenant, kb.id, [("r.txt", b"Alpha beta gamma. " * 60)])
    first = doc.chunk_count
    svc.documents.update(tenant, doc.id, chunk_config={"method": "one"})
    svc.documents.parse(tenant, [doc.id])
    svc.workers.drain(30)
    doc = svc.documents.get(tenant, doc.id)
    assert first > 1 and doc.chunk_count == 1
    assert svc.vectors.count(kb.id) == 1
    svc.documents.parse(tenant, [doc.id])
    with pytest.raises(Conflict, match="Already being processed"):
        svc.documents.parse(tenant, [doc.id])


def test_cancel_waiting_task(svc, tenant, kb):
    (doc,) = svc.documents.upload(tenant, kb.id, [("c.txt", b"cancel me")])
    assert svc.documents.cancel(tenant, [doc.id]) == 1
    svc.workers.drain(5)
    d = svc.documents.get(tenant, doc.id)
    assert d.status == "cancelled" and d.chunk_count == 0


def test_background_workers_process_uploads(settings):
    from core.container import build_services

    settings.ingest_workers = 2
    svc = build_services(settings, start_workers=True)
    try:
        kb = svc.knowledge.create("default", "bg")
        docs = svc.documents.upload("default", kb.id, [(f"{i}.txt", f"file {i} text".encode()) for i in range(6)])
        deadline = time.time() + 60
        while time.time() < deadline:
            states = {svc.documents.get("default", d.id).status for d in docs}
            if states == {"completed"}:
                break
            time.sleep(0.1)
        assert states == {"completed"}
    finally:
        svc.close()


def test_import_url_and_private_address_guard(svc, tenant, kb):
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<html><head><title>Owls</title></head><body><h1>Owls</h1><p>Owls hunt at night.</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/animals/owls"
    try:
        with pytest.raises(InvalidInput, match="private or local"):
            svc.documents.import_url(tenant, kb.id, url)
        with pytest.raises(InvalidInput, match="http"):
            svc.documents.import_url(tenant, kb.id, "file:///etc/passwd")
        assert svc.documents.list(tenant, kb.id).total == 0
        svc.documents.allow_private_urls = True
        doc = svc.documents.import_url(tenant, kb.id, url)
        assert doc.name == "owls.html" and doc.source_type == "url" and doc.source_url == url
        svc.workers.drain(30)
        hits = svc.retrieval.search(tenant, [kb.id], "owls hunt", mode="full_text", record=False)
        assert hits and "night" in hits[0].content
    finally:
        server.shutdown()


# ------------------------------------------------------------------------------ a full disk
@pytest.fixture(params=["tmpfs", "injected"])
def small_disk(request, svc, monkeypatch):
    """The blob store on a 1 MB disk: a real tmpfs when this process may mount one, else a write that fails
    with ENOSPC past 1 MB (as the kernel does)."""
    files = svc.settings.files_dir
    if request.param == "tmpfs":
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("mounting a tmpfs needs root")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(files)],
                                 capture_output=True)
        if mounted.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
        request.addfinalizer(lambda: subprocess.run(["umount", str(files)], check=True))
    else:
        real_fdopen = os.fdopen

        class SmallDisk:
            def __init__(self, f):
                self.f, self.written = f, 0

            def write(self, data):
                if self.written + len(data) > 2**20:
                    self.f.write(data[: 2**20 - self.written])  # as far as it goes, then the disk is full
                    raise OSError(errno.ENOSPC, "No space left on device")
                self.written += len(data)
                return self.f.write(data)

            def __getattr__(self, name):
                return getattr(self.f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **kw: SmallDisk(real_fdopen(fd, *a, **kw)))
    return files


def test_a_full_disk_during_an_upload_fails_cleanly(svc, tenant, kb, small_disk):
    small, big = ("small.txt", b"Fits on the disk. " * 500), ("big.txt", b"Too big for what is left. " * 60_000)
    with pytest.raises(Unavailable, match="disk is full: 'big.txt' could not be stored, and nothing"):
        svc.documents.upload(tenant, kb.id, [small, big])
    assert svc.documents.list(tenant, kb.id).total == 0
    with svc.db.session() as s:
        assert s.scalar(select(func.count(UploadFile.id))) == 0
    assert [p for p in small_disk.rglob("*") if p.is_file()] == []  # no blob and no temp file left
    (doc,) = svc.documents.upload(tenant, kb.id, [small], parse=False)  # the space is there again
    assert svc.documents.download(tenant, doc.id)[1] == small[1]


# ------------------------------------------------------------------------------ duplicates by content
POLICY = b"# Refunds\n\nCustomers may return any product within thirty days."


def test_the_same_content_twice_is_detected_and_the_caller_chooses(svc, tenant, kb):
    (first,) = ingest(svc, tenant, kb.id, [("refund.md", POLICY)])
    other = svc.knowledge.create(tenant, "Other")
    assert svc.documents.duplicates(tenant, kb.id, [("copy of refund.md", POLICY), ("new.md", b"New text.")]) == \
        {"copy of refund.md": "refund.md"}
    assert svc.documents.duplicates(tenant, other.id, [("refund.md", POLICY)]) == {}  # per knowledge base
    assert svc.documents.duplicates(tenant, other.id, [("a.md", b"x"), ("b.md", b"x")]) == {"b.md": "a.md"}

    with pytest.raises(Conflict, match="'again.md' is already in this knowledge base as 'refund.md'"):
        svc.documents.upload(tenant, kb.id, [("new.md", b"New text."), ("again.md", POLICY)], on_duplicate="error")
    assert svc.documents.list(tenant, kb.id).total == 1  # nothing stored, not even the new file

    skipped = svc.documents.upload(tenant, kb.id, [("again.md", POLICY), ("new.md", b"New text.")],
                                   on_duplicate="skip")
    assert [d.name for d in skipped] == ["refund.md", "new.md"] and skipped[0].id == first.id
    assert svc.documents.list(tenant, kb.id).total == 2

    both = svc.documents.upload(tenant, kb.id, [("again.md", POLICY)])  # the default keeps both, as before
    assert both[0].id != first.id and svc.documents.list(tenant, kb.id).total == 3
    assert svc.workers.drain(60)

    (fresh,) = svc.documents.upload(tenant, kb.id, [("refund-2025.md", POLICY)], on_duplicate="replace")
    assert svc.workers.drain(60)
    names = sorted(d.name for d in svc.documents.list(tenant, kb.id).items)
    assert names == ["new.md", "refund-2025.md"]  # both older copies went, with their chunks and vectors
    hits = svc.retrieval.search(tenant, [kb.id], "return any product", mode="full_text", record=False)
    assert {h.doc_id for h in hits} == {fresh.id}
    assert svc.vectors.count(kb.id) == svc.knowledge.get(tenant, kb.id).chunk_count
    with pytest.raises(InvalidInput, match="on_duplicate"):
        svc.documents.upload(tenant, kb.id, [("x.md", b"x")], on_duplicate="merge")


def test_warm_up_loads_the_ingestion_models_and_stores_nothing(svc, tenant, caplog):
    import sys

    from sqlalchemy import func, select

    from storage.orm import Chunk, EmbeddingCache

    caplog.set_level("INFO", logger="core.ingestion.pipeline")
    svc.workers.pipeline.warm_up()
    assert "ingestion warmed up" in caplog.text
    assert {"jieba.analyse", "llama_index.core.node_parser"} <= set(sys.modules)
    with svc.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Chunk)) == 0
        assert s.scalar(select(func.count()).select_from(EmbeddingCache)) == 0
