import pytest

from core.errors import InvalidInput, NotFound
from tests.conftest import ingest


@pytest.fixture
def kb(svc, tenant):
    kb = svc.knowledge.create(tenant, "Zoo")
    ingest(svc, tenant, kb.id, [
        ("cats.txt", b"Cats purr when they are content and sleep most of the day."),
        ("dogs.txt", b"Dogs bark at strangers and love long walks in the park."),
        ("fish.txt", b"Goldfish swim in bowls and need clean water."),
    ], meta={"team": "pets"})
    return kb


@pytest.mark.parametrize("mode", ["semantic", "full_text", "hybrid"])
def test_modes_rank_the_right_document_first(svc, tenant, kb, mode):
    hits = svc.retrieval.search(tenant, [kb.id], "why do dogs bark", mode=mode, top_k=3, threshold=0.0)
    assert hits[0].document_name == "dogs.txt"
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert hits == sorted(hits, key=lambda h: h.score, reverse=True)
    if mode == "hybrid":
        h = hits[0]
        assert h.vector_score is not None and h.text_score is not None
        assert h.score == pytest.approx(0.7 * h.vector_score + 0.3 * h.text_score)


def test_vector_weight_and_threshold(svc, tenant, kb):
    pure_text = svc.retrieval.search(tenant, [kb.id], "goldfish water", mode="hybrid", vector_weight=0.0, record=False)
    assert pure_text[0].score == pytest.approx(pure_text[0].text_score)
    high = svc.retrieval.search(tenant, [kb.id], "goldfish water", mode="full_text", threshold=0.99, record=False)
    assert [h.document_name for h in high] == ["fish.txt"]  # the only chunk with every query term
    assert len(svc.retrieval.search(tenant, [kb.id], "animals", mode="semantic", top_k=2, threshold=0.0,
                                    record=False)) == 2


def test_document_and_metadata_filters(svc, tenant, kb):
    docs = {d.name: d.id for d in svc.documents.list(tenant, kb.id).items}
    hits = svc.retrieval.search(tenant, [kb.id], "dogs bark", doc_ids=[docs["cats.txt"]], threshold=0.0, record=False)
    assert {h.document_name for h in hits} == {"cats.txt"}
    assert svc.retrieval.search(tenant, [kb.id], "dogs", metadata_filter={"team": "pets"}, threshold=0.0, record=False)
    assert not svc.retrieval.search(tenant, [kb.id], "dogs", metadata_filter={"team": "ops"}, threshold=0.0,
                                    record=False)
    with pytest.raises(InvalidInput, match="not found"):
        svc.retrieval.search(tenant, [kb.id], "dogs", doc_ids=["nope"], record=False)


def test_hits_are_counted_and_queries_logged(svc, tenant, kb):
    hits = svc.retrieval.search(tenant, [kb.id], "cats purr", mode="full_text", top_k=1, source="ui")
    svc.retrieval.flush()  # counts are written in the background
    assert svc.chunks.get(tenant, hits[0].chunk_id).hit_count == 1
    assert svc.documents.get(tenant, hits[0].doc_id).hit_count == 1
    assert svc.knowledge.get(tenant, kb.id).hit_count == 1
    (entry,) = svc.retrieval.recent_queries(tenant, kb.id)
    assert (entry.query, entry.mode, entry.source, entry.result_count) == ("cats purr", "full_text", "ui", 1)


def test_rerank_reorders(svc, tenant, kb):
    hits = svc.retrieval.search(tenant, [kb.id], "goldfish clean water bowls", rerank_model="mock:overlap",
                                threshold=0.0, record=False)
    assert hits[0].document_name == "fish.txt" and hits[0].score == pytest.approx(1.0)


def test_chinese_full_text(svc, tenant):
    kb = svc.knowledge.create(tenant, "中文")
    ingest(svc, tenant, kb.id, [("zh.md", "# 退货政策\n\n顾客在购买后三十天内可以无理由退货。\n\n# 配送\n\n订单通常在两个工作日内发货。".encode())],
           chunk_config={"method": "markdown", "chunk_size": 64, "chunk_overlap": 0})
    hits = svc.retrieval.search(tenant, [kb.id], "退货需要多少天", mode="full_text", threshold=0.0, record=False)
    assert hits and "三十天" in hits[0].content


def test_bad_queries(svc, tenant, kb):
    with pytest.raises(InvalidInput):
        svc.retrieval.search(tenant, [kb.id], "  ")
    with pytest.raises(InvalidInput):
        svc.retrieval.search(tenant, [kb.id], "x", mode="fuzzy")
    with pytest.raises(InvalidInput):
        svc.retrieval.search(tenant, [], "x")
    with pytest.raises(InvalidInput):
        svc.retrieval.search(tenant, [kb.id], "x", threshold=2)
    other = svc.tenants.create_tenant("other")
    with pytest.raises(NotFound):
        svc.retrieval.search(other, [kb.id], "cats")


def test_query_length_is_bounded(svc, tenant, kb):
    assert svc.retrieval.search(tenant, [kb.id], "dogs " * 790)  # 3,950 characters: fine
    with pytest.raises(InvalidInput, match="1,000,000 characters long; the limit is 4,000"):
        svc.retrieval.search(tenant, [kb.id], "x" * 1_000_000)
    assert len(svc.retrieval.recent_queries(tenant)) == 1  # the refused query is not logged


def test_enabled_chunks_found_behind_many_disabled_neighbours(svc, tenant):
    kb = svc.knowledge.create(tenant, "Crowded", chunk_config={"method": "table"})
    rows = "topic,text\n" + "\n".join(f"t{i},lemurs jump between trees {i}" for i in range(80))
    (noisy,) = ingest(svc, tenant, kb.id, [("noisy.csv", rows.encode())])
    ingest(svc, tenant, kb.id, [("quiet.txt", b"Lemurs sleep in trees on Madagascar.")],
           chunk_config={"method": "general", "chunk_size": 128, "chunk_overlap": 0})
    assert noisy.chunk_count == 80
    svc.documents.set_enabled(tenant, noisy.id, False)
    for mode in ("semantic", "hybrid", "full_text"):
        hits = svc.retrieval.search(tenant, [kb.id], "lemurs jump between trees", mode=mode, top_k=3,
                                    threshold=0.0, record=False)
        assert [h.document_name for h in hits] == ["quiet.txt"], mode


def test_common_terms_do_not_select_candidates_in_large_collections():
    from core.retrieval import _selective

    dfs = {"the": 9000, "policy": 40, "refund": 12, "zzz": 0}
    assert _selective(["the", "policy", "refund", "zzz"], dfs, 10_000) == ["policy", "refund"]
    assert _selective(["the"], {"the": 9000}, 10_000) == ["the"]  # nothing rarer: keep the term
    assert _selective(["the", "policy"], dfs, 500) == ["the", "policy"]  # small: search everything
