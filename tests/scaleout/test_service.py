"""The service scenario on PostgreSQL + a Chroma server, and parity with SQLite + embedded Chroma."""

import time

import pytest
from sqlalchemy import func, select, text

from core.text import search_tokens
from storage import keywords
from storage.orm import Chunk
from tests.conftest import ingest
from tests.corpus import QUESTIONS, write_corpus

MODES = ("semantic", "full_text", "hybrid")
FILES = [
    ("cats.txt", b"Cats purr when they are content and sleep most of the day."),
    ("dogs.txt", b"Dogs bark at strangers and love long walks in the park."),
    ("fish.txt", b"Goldfish swim in bowls and need clean water."),
    ("zh.md", "# 退货政策\n\n顾客在购买后三十天内可以无理由退货。\n\n# 配送\n\n订单通常在两个工作日内发货。".encode()),
]


def names(hits) -> list[str]:  # noqa: ANN001
    return [h.document_name for h in hits]


def test_scenario_on_postgres_and_a_chroma_server(pg_svc, tenant):
    health = pg_svc.health()
    assert health["status"] == "ok"
    assert health["database"]["dialect"] == "postgresql" and health["vector_store"]["mode"] == "server"

    kb = pg_svc.knowledge.create(tenant, "Zoo")
    docs = {d.name: d for d in ingest(pg_svc, tenant, kb.id, FILES,
                                      chunk_config={"method": "markdown", "chunk_size": 64, "chunk_overlap": 0})}
    assert {d.task.state for d in docs.values()} == {"completed"}
    n_chunks = sum(d.chunk_count for d in docs.values())
    assert n_chunks >= 5 and pg_svc.vectors.count(kb.id) == n_chunks

    for mode in MODES:
        assert names(pg_svc.retrieval.search(tenant, [kb.id], "why do dogs bark", mode=mode, threshold=0.0))[0] \
            == "dogs.txt", mode
        zh = pg_svc.retrieval.search(tenant, [kb.id], "退货需要多少天", mode=mode, threshold=0.0, record=False)
        assert "三十天" in zh[0].content, mode
    assert names(pg_svc.retrieval.search(tenant, [kb.id], "发货", mode="full_text", record=False)) == ["zh.md"]

    # Edit a chunk: the new text is found, the old text no longer is.
    (dog_chunk,) = pg_svc.chunks.list(tenant, docs["dogs.txt"].id).items
    pg_svc.chunks.update(tenant, dog_chunk.id, content="Parrots repeat the words they hear.")
    hits = pg_svc.retrieval.search(tenant, [kb.id], "parrots repeat words", mode="full_text", record=False)
    assert [(h.chunk_id, h.content) for h in hits] == [(dog_chunk.id, "Parrots repeat the words they hear.")]
    for mode in MODES:
        found = pg_svc.retrieval.search(tenant, [kb.id], "dogs bark strangers", mode=mode, threshold=0.0, record=False)
        assert all("bark" not in h.content for h in found), mode
    semantic = pg_svc.retrieval.search(tenant, [kb.id], "parrots repeat the words", mode="semantic", record=False)
    assert semantic[0].chunk_id == dog_chunk.id

    # Disable a document: it vanishes from every mode; enabled again, it is back.
    pg_svc.documents.set_enabled(tenant, docs["cats.txt"].id, False)
    for mode in MODES:
        assert "cats.txt" not in names(pg_svc.retrieval.search(tenant, [kb.id], "cats purr", mode=mode,
                                                                threshold=0.0, record=False)), mode
    pg_svc.documents.set_enabled(tenant, docs["cats.txt"].id, True)
    for mode in MODES:
        assert names(pg_svc.retrieval.search(tenant, [kb.id], "cats purr", mode=mode, threshold=0.0,
                                             record=False))[0] == "cats.txt", mode

    # Delete a document, then the knowledge base: rows, vectors and the collection go.
    pg_svc.documents.delete(tenant, [docs["fish.txt"].id])
    assert pg_svc.vectors.count(kb.id) == n_chunks - docs["fish.txt"].chunk_count
    assert not pg_svc.retrieval.search(tenant, [kb.id], "goldfish", mode="hybrid", record=False)
    pg_svc.knowledge.delete(tenant, kb.id)
    with pg_svc.db.session() as s:
        assert s.scalar(select(func.count(Chunk.id))) == 0
    deadline = time.monotonic() + 10  # the collection is dropped in the background
    while f"kb_{kb.id}" in {c.name for c in pg_svc.vectors.client.list_collections()}:
        assert time.monotonic() < deadline, "the knowledge base's collection was not dropped"
        time.sleep(0.05)


def test_jieba_tokens_survive_the_simple_text_search_config(pg_svc):
    """to_tsvector('simple', search_text) keeps every analysed token as it is: Chinese words, kana, Hangul."""
    text_ = "顾客在购买后三十天内可以无理由退货。北京大学的图书馆 Café NAÏVE ｆｕｌｌｗｉｄｔｈ カタカナ 한국어 h2o 3.14"
    tokens = search_tokens(text_)
    assert {"三十天", "退货", "北京大学", "大学", "café", "fullwidth", "カタカナ", "한국어", "h2o", "3.14"} <= set(tokens)
    with pg_svc.db.engine.connect() as conn:
        lexemes = conn.execute(text("SELECT unnest(tsvector_to_array(to_tsvector('simple', :t)))"),
                               {"t": " ".join(tokens)}).scalars().all()
        assert set(lexemes) == set(tokens)
        for t in tokens:  # and each token, quoted as keywords.search quotes it, finds the text
            assert conn.scalar(text("SELECT to_tsvector('simple', :t) @@ to_tsquery('simple', :q)"),
                               {"t": " ".join(tokens), "q": keywords._pg_match([t])}), t


def test_same_results_as_sqlite_and_embedded_chroma(svc, pg_svc, tenant, tmp_path):
    """The bilingual corpus gives the same hits, scores and term statistics on both stacks."""
    files = [(p.name, p.read_bytes()) for p in sorted(write_corpus(tmp_path / "corpus").rglob("*")) if p.is_file()]
    results = {}
    for name, services in (("sqlite", svc), ("postgres", pg_svc)):
        kb = services.knowledge.create(tenant, "Company")
        docs = ingest(services, tenant, kb.id, files)
        assert {d.task.state for d in docs} == {"completed"}, name
        runs = {}
        for question, _ in QUESTIONS:
            for mode in MODES:
                # Every candidate (no top-k cut): how engines order equal scores is their own affair.
                hits = services.retrieval.search(tenant, [kb.id], question, mode=mode, top_k=100, threshold=0.001,
                                                 record=False)
                runs[question, mode] = sorted((round(h.score, 5), h.document_name, h.position) for h in hits)
        with services.db.session() as s:
            tokens = sorted({t for q, _ in QUESTIONS for t in search_tokens(q)})
            total, dfs = keywords.document_frequencies(s, tokens)
        runs["df"] = total, {t: n for t, n in dfs.items() if n}  # SQLite leaves out absent terms, PG says 0
        results[name] = runs
    assert results["postgres"]["df"][0] > 0 and any(results["postgres"]["df"][1].values())
    assert results["postgres"] == results["sqlite"]
    assert all(results["postgres"][q, "hybrid"] for q, _ in QUESTIONS)


@pytest.mark.parametrize("mode", MODES)
def test_filters_and_tenants(pg_svc, tenant, mode):
    kb = pg_svc.knowledge.create(tenant, "Zoo")
    ingest(pg_svc, tenant, kb.id, FILES[:3], meta={"team": "pets"})
    docs = {d.name: d.id for d in pg_svc.documents.list(tenant, kb.id).items}
    hits = pg_svc.retrieval.search(tenant, [kb.id], "dogs bark", mode=mode, doc_ids=[docs["cats.txt"]],
                                   threshold=0.0, record=False)
    assert set(names(hits)) <= {"cats.txt"}
    assert not pg_svc.retrieval.search(tenant, [kb.id], "dogs", mode=mode, metadata_filter={"team": "ops"},
                                       threshold=0.0, record=False)
    hits = pg_svc.retrieval.search(tenant, [kb.id], "goldfish water", mode=mode, source="ui")
    assert names(hits)[0] == "fish.txt"
    pg_svc.retrieval.flush()  # hit counts are written in the background
    assert pg_svc.chunks.get(tenant, hits[0].chunk_id).hit_count == 1
    other = pg_svc.tenants.create_tenant("other")
    other_kb = pg_svc.knowledge.create(other, "Zoo")  # same name, other tenant
    assert not pg_svc.retrieval.search(other, [other_kb.id], "goldfish", mode=mode, threshold=0.0, record=False)


def test_unknown_file_type_with_a_long_extension(pg_svc, tenant):
    """documents.kind is VARCHAR(16): PostgreSQL, unlike SQLite, refuses a longer value."""
    kb = pg_svc.knowledge.create(tenant, "Odd")
    (doc,) = ingest(pg_svc, tenant, kb.id, [("notes.averyveryverylongextension", b"hello world")])
    assert doc.task.state == "error" and "Unsupported file type" in doc.task.error
