"""The in-memory keyword index: ranking, freshness across processes, fallback while rebuilding."""

import time

import numpy as np
import pytest
from sqlalchemy import select

from core.container import build_services
from core.keyword_index import build_index, top
from core.text import search_tokens
from storage.orm import KnowledgeBase
from tests.conftest import ingest


def chunks_version(svc, kb_id: str) -> int:
    with svc.db.session() as s:
        return s.scalar(select(KnowledgeBase.chunks_version).where(KnowledgeBase.id == kb_id))


def full_text(svc, tenant, kb_id, query, **kw):
    return svc.retrieval.search(tenant, [kb_id], query, mode="full_text", threshold=0.0, record=False, **kw)


def test_postings_rank_by_bm25_and_respect_the_document_filter():
    rows = [("a", "d1", "apple apple banana"), ("b", "d1", "banana cherry"), ("c", "d2", "apple"),
            ("d", "d2", "durian")]
    idx = build_index("kb", 3, rows)
    assert (idx.size, idx.df("apple"), idx.df("banana"), idx.df("nope")) == (4, 2, 2, 0)
    ranked = top([idx], {"apple": 1.0}, 10)
    assert [cid for cid, _ in ranked] == ["c", "a"]  # the short chunk wins at equal IDF (length normalisation)
    assert all(score > 0 for _, score in ranked)
    assert [cid for cid, _ in top([idx], {"apple": 1.0}, 10, allowed_docs={"d1"})] == ["a"]
    assert [cid for cid, _ in top([idx], {"apple": 1.0, "cherry": 5.0}, 1)] == ["b"]  # the rarer term weighs more
    assert top([idx], {"zebra": 1.0}, 10) == [] and top([idx], {}, 10) == []
    two = top([idx, build_index("kb2", 0, [("e", "d3", "apple")])], {"apple": 1.0}, 10)
    assert {cid for cid, _ in two} == {"a", "c", "e"}
    assert np.all(np.diff([score for _, score in two]) <= 0)


def test_empty_texts_and_empty_knowledge_bases():
    assert top([build_index("kb", 0, [])], {"apple": 1.0}, 5) == []
    idx = build_index("kb", 0, [("a", "d", ""), ("b", "d", "apple \x01 pie"), ("c", "d", "")])
    assert (idx.df("apple"), idx.df("pie"), idx.df("\x01")) == (1, 1, 0)
    assert [cid for cid, _ in top([idx], {"pie": 1.0}, 5)] == ["b"]


def test_chunk_changes_bump_the_version_and_hits_do_not(svc, tenant):
    kb = svc.knowledge.create(tenant, "Versions")
    v0 = chunks_version(svc, kb.id)
    (doc,) = ingest(svc, tenant, kb.id, [("a.txt", b"Otters hold hands while they sleep.")])
    v1 = chunks_version(svc, kb.id)
    assert v1 > v0
    (chunk,) = svc.chunks.list(tenant, doc.id).items
    svc.retrieval.search(tenant, [kb.id], "otters", mode="hybrid", threshold=0.0)
    svc.retrieval.flush()
    svc.chunks.set_enabled(tenant, [chunk.id], False)
    svc.documents.set_enabled(tenant, doc.id, False)
    assert chunks_version(svc, kb.id) == v1  # counts and switches keep the index valid
    svc.chunks.update(tenant, chunk.id, content="Beavers build dams.")
    v2 = chunks_version(svc, kb.id)
    assert v2 > v1
    svc.chunks.delete(tenant, [chunk.id])
    assert chunks_version(svc, kb.id) > v2


def test_search_sees_edits_made_by_another_process(svc, settings, tenant):
    kb = svc.knowledge.create(tenant, "Shared")
    (doc,) = ingest(svc, tenant, kb.id, [("a.txt", b"Otters hold hands while they sleep.")])
    (chunk,) = svc.chunks.list(tenant, doc.id).items
    assert [h.chunk_id for h in full_text(svc, tenant, kb.id, "otters")] == [chunk.id]
    assert kb.id in svc.retrieval.keyword_indexes._indexes  # served from memory
    other = build_services(settings)  # its own caches, like a worker process on the same database
    try:
        other.chunks.update(tenant, chunk.id, content="Beavers build dams across rivers.", keywords=["beavers"])
        added = other.chunks.add(tenant, doc.id, "Herons stand still in shallow water.")
    finally:
        other.close()
    assert full_text(svc, tenant, kb.id, "otters") == []  # never the old text
    assert [h.chunk_id for h in full_text(svc, tenant, kb.id, "beavers dams")] == [chunk.id]
    assert [h.chunk_id for h in full_text(svc, tenant, kb.id, "herons")] == [added.id]
    assert svc.retrieval.keyword_indexes._indexes[kb.id].version == chunks_version(svc, kb.id)


def test_large_knowledge_bases_use_the_database_index_until_the_rebuild_is_done(svc, tenant):
    kb = svc.knowledge.create(tenant, "Large")
    ingest(svc, tenant, kb.id, [("a.txt", b"Otters hold hands while they sleep."),
                                ("b.txt", b"Beavers build dams across rivers.")])
    indexes = svc.retrieval.keyword_indexes
    indexes.inline_limit = 0  # every knowledge base counts as large: rebuilds go to the background
    first = full_text(svc, tenant, kb.id, "beavers")  # answered by the database's full-text index
    assert [h.document_name for h in first] == ["b.txt"]
    deadline = time.monotonic() + 30
    while kb.id not in indexes._indexes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert indexes._indexes[kb.id].version == chunks_version(svc, kb.id)
    again = full_text(svc, tenant, kb.id, "beavers")
    assert [(h.chunk_id, h.score) for h in again] == [(h.chunk_id, h.score) for h in first]


def test_disabled_best_matches_do_not_hide_enabled_ones(svc, tenant):
    kb = svc.knowledge.create(tenant, "Deep", chunk_config={"method": "one"})
    files = [(f"z{i:02}.txt", b"zebra zebra zebra") for i in range(60)] + [
        ("plain.txt", b"A zebra among many other animals, birds, fish and insects of the savanna.")]
    docs = {d.name: d for d in ingest(svc, tenant, kb.id, files)}
    for name, doc in docs.items():
        if name != "plain.txt":
            svc.documents.set_enabled(tenant, doc.id, False)
    hits = full_text(svc, tenant, kb.id, "zebra", top_k=1)  # 60 better matches are disabled
    assert [h.document_name for h in hits] == ["plain.txt"]


def test_chinese_queries_use_jieba_tokens(svc, tenant):
    kb = svc.knowledge.create(tenant, "中文")
    ingest(svc, tenant, kb.id, [("cn.txt", "机器学习是人工智能的一个分支。".encode()),
                                ("en.txt", b"Gardening needs patience and water.")])
    assert search_tokens("人工智能")  # segmented, not one opaque string
    hits = full_text(svc, tenant, kb.id, "人工智能")
    assert [h.document_name for h in hits] == ["cn.txt"]
    assert hits[0].text_score == pytest.approx(1.0)


def test_hit_counts_survive_close(svc, tenant):
    kb = svc.knowledge.create(tenant, "Counts")
    ingest(svc, tenant, kb.id, [("a.txt", b"Otters hold hands while they sleep.")])
    for _ in range(3):
        hits = svc.retrieval.search(tenant, [kb.id], "otters", mode="full_text", top_k=1)
    svc.retrieval.close()  # flushes what is queued
    assert svc.chunks.get(tenant, hits[0].chunk_id).hit_count == 3
    assert svc.knowledge.get(tenant, kb.id).hit_count == 3
    svc.retrieval.search(tenant, [kb.id], "otters", mode="full_text", top_k=1)  # after close: written at once
    assert svc.documents.get(tenant, hits[0].doc_id).hit_count == 4
    assert len(svc.retrieval.recent_queries(tenant, kb.id)) == 4


def test_the_idle_writer_stops_and_restarts(svc, tenant, monkeypatch):
    monkeypatch.setattr("core.hit_recorder.IDLE_EXIT_S", 0.05)
    kb = svc.knowledge.create(tenant, "Idle")
    ingest(svc, tenant, kb.id, [("a.txt", b"Otters hold hands while they sleep.")])
    recorder = svc.retrieval.recorder
    svc.retrieval.search(tenant, [kb.id], "otters", mode="full_text", top_k=1)
    deadline = time.monotonic() + 10
    while recorder._thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert recorder._thread is None  # no idle thread per service object
    svc.retrieval.search(tenant, [kb.id], "otters", mode="full_text", top_k=1)
    svc.retrieval.flush()
    assert svc.knowledge.get(tenant, kb.id).hit_count == 2


def test_a_steady_stream_of_searches_is_stored_in_one_write_per_interval(svc, tenant, monkeypatch):
    """SQLite has one write lock: a writer busy after every search would keep ingestion's writes waiting."""
    monkeypatch.setattr("core.hit_recorder.WRITE_EVERY", 60.0)
    kb = svc.knowledge.create(tenant, "Stream")
    ingest(svc, tenant, kb.id, [("a.txt", b"Otters hold hands while they sleep.")])
    recorder = svc.retrieval.recorder
    writes, write = [], recorder._write
    monkeypatch.setattr(recorder, "_write", lambda records: (writes.append(len(records)), write(records)))
    for _ in range(20):
        svc.retrieval.search(tenant, [kb.id], "otters", mode="full_text", top_k=1)
    started = time.monotonic()
    svc.retrieval.flush()  # does not wait out the interval
    assert time.monotonic() - started < 30
    assert len(writes) == 2 and sum(writes) == 20  # the first search at once, the other 19 together
    assert svc.knowledge.get(tenant, kb.id).hit_count == 20
