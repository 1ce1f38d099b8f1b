"""Hit testing page: all three strategies, hybrid score parts, recent queries, empty results."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from tests.conftest import ingest
from tests.ui.conftest import open_page

PAGE = "pages/hit_testing.py"
FILES = [
    ("vacation.txt", b"Employees get twenty five vacation days per year. Unused vacation days expire in March."),
    ("bikes.txt", b"Bicycles can be parked in the courtyard. The bike shed closes at ten."),
    ("refund.md", "# 退款\n\n退款申请须在购买后三十天内提交。Refunds are paid within five working days.".encode()),
]


@pytest.fixture
def kb(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook", retrieval_config={"mode": "hybrid", "top_k": 3, "threshold": 0.1})
    ingest(ui, tenant, kb.id, FILES)
    return ui.knowledge.get(tenant, kb.id)


def md(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def ask(at, kb_id: str, query: str, mode: str | None = None, threshold: float | None = None):
    at.text_area(key=f"hit_testing_query_{kb_id}").input(query)
    if mode:
        at.button_group(key=f"hit_testing_mode_{kb_id}").set_value(mode)
    if threshold is not None:
        at.slider(key=f"hit_testing_threshold_{kb_id}").set_value(threshold)
    at.button(key="hit_testing_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_defaults_come_from_the_knowledge_base(ui, kb):
    at = open_page(PAGE, kb=kb.id)
    assert at.button_group(key=f"hit_testing_mode_{kb.id}").value == "hybrid"
    assert at.number_input(key=f"hit_testing_top_k_{kb.id}").value == 3
    assert at.slider(key=f"hit_testing_threshold_{kb.id}").value == pytest.approx(0.1)
    assert at.slider(key=f"hit_testing_weight_{kb.id}").value == pytest.approx(0.7)
    assert "Type a query" in " ".join(i.value for i in at.info)


@pytest.mark.parametrize("mode", ["semantic", "full_text", "hybrid"])
def test_each_strategy_finds_the_right_document(ui, tenant, kb, mode):
    at = ask(open_page(PAGE, kb=kb.id), kb.id, "vacation days", mode=mode, threshold=0.0)
    cards = [m.value for m in at.markdown if "📄 **" in m.value]
    assert cards and "vacation.txt" in cards[0]
    assert "<mark>vacation</mark>" in md(at)
    link = next(p for p in at.get("page_link") if p.proto.label == "Open chunk")
    params = parse_qs(link.proto.query_string)
    hit = ui.retrieval.search(tenant, [kb.id], "vacation days", mode=mode, threshold=0.0, record=False)[0]
    assert params == {"kb": [kb.id], "doc": [hit.doc_id], "chunk": [hit.chunk_id]}
    logged = ui.retrieval.recent_queries(tenant, kb.id)[0]
    assert (logged.query, logged.mode, logged.source) == ("vacation days", mode, "ui")
    weight_shown = bool(at.slider(key=f"hit_testing_weight_{kb.id}")) if mode == "hybrid" else False
    assert weight_shown == (mode == "hybrid")


def test_hybrid_shows_semantic_and_keyword_parts(ui, kb):
    at = ask(open_page(PAGE, kb=kb.id), kb.id, "bike shed", mode="hybrid")
    bars = [p.proto.text for p in at.get("progress")]
    assert any(b.startswith("Semantic") for b in bars) and any(b.startswith("Keyword") for b in bars)
    assert any(m.label == "Score" for m in at.metric)


def test_full_text_has_no_parts(ui, kb):
    at = ask(open_page(PAGE, kb=kb.id), kb.id, "bike shed", mode="full_text")
    assert not [p for p in at.get("progress") if p.proto.text.startswith("Semantic")]
    assert "bikes.txt" in md(at)


def test_recent_query_reruns(ui, tenant, kb):
    ui.retrieval.search(tenant, [kb.id], "courtyard", mode="full_text", source="ui")
    at = open_page(PAGE, kb=kb.id)
    recent = [b for b in at.button if b.label == "courtyard"]
    assert recent
    recent[0].click().run()
    assert at.text_area(key=f"hit_testing_query_{kb.id}").value == "courtyard"
    assert at.button_group(key=f"hit_testing_mode_{kb.id}").value == "full_text"
    assert "bikes.txt" in md(at)
    assert len(ui.retrieval.recent_queries(tenant, kb.id)) == 2


def test_no_result_suggests_what_to_try(ui, kb):
    at = ask(open_page(PAGE, kb=kb.id), kb.id, "vacation", mode="semantic", threshold=1.0)
    assert "Lower the threshold" in " ".join(i.value for i in at.info)
    next(b for b in at.button if b.label == "Retry with threshold 0").click().run()
    assert at.slider(key=f"hit_testing_threshold_{kb.id}").value == 0.0
    assert "vacation.txt" in md(at)


def test_empty_query_warns(ui, kb):
    at = ask(open_page(PAGE, kb=kb.id), kb.id, "   ")
    assert "Type a query first" in " ".join(w.value for w in at.warning)


def test_knowledge_base_without_chunks(ui, tenant):
    kb = ui.knowledge.create(tenant, "Empty")
    at = open_page(PAGE, kb=kb.id)
    assert "nothing to search" in " ".join(i.value for i in at.info)
    assert not at.text_area


def test_chinese(ui, kb):
    at = open_page(PAGE, lang="zh", kb=kb.id)
    assert at.title[0].value.endswith("命中测试")
    at = ask(at, kb.id, "退款", mode="hybrid", threshold=0.0)
    assert "refund.md" in md(at) and "<mark>退款</mark>" in md(at)
    assert any(p.proto.text.startswith("语义") for p in at.get("progress"))


def test_retrieve_as_an_assistant_uses_its_knowledge_bases_and_settings(ui, tenant, kb):
    other = ui.knowledge.create(tenant, "Parking")
    ingest(ui, tenant, other.id, [("parking.txt", b"Visitors park in the courtyard next to the bike shed.")])
    a = ui.assistants.create(tenant, "Front desk", kb_ids=[kb.id, other.id],
                             prompt={"similarity_threshold": 0.0, "keywords_similarity_weight": 0.6, "top_n": 2})
    at = open_page(PAGE, assistant=a.id)
    assert at.selectbox(key="hit_testing_as").value == a.id
    assert "picker_kb" not in [s.key for s in at.selectbox]  # its knowledge bases, not a picker
    caption = " ".join(c.value for c in at.caption)
    assert "top 2 passages · threshold 0.00 · semantic weight 0.40" in caption
    at.text_area(key=f"hit_testing_query_as_{a.id}").input("bike shed courtyard")
    at.button(key="hit_testing_go").click().run()
    assert not at.exception
    cards = [m.value for m in at.markdown if "📄 **" in m.value]
    expected = ui.retrieval.search(tenant, [kb.id, other.id], "bike shed courtyard", **a.prompt.search_options(),
                                   record=False)[:2]
    assert len(cards) == len(expected) == 2  # top N, over both knowledge bases, as chat retrieves
    assert all(h.document_name in card for h, card in zip(expected, cards))
    assert {"parking.txt", "bikes.txt"} == {h.document_name for h in expected}
    assert ui.retrieval.recent_queries(tenant)[0].source == "ui"


def test_back_to_knowledge_base_settings(ui, tenant, kb):
    a = ui.assistants.create(tenant, "Front desk", kb_ids=[kb.id])
    at = open_page(PAGE, assistant=a.id)
    at.selectbox(key="hit_testing_as").set_value("").run()
    assert not at.exception and at.selectbox(key="picker_kb").value.id == kb.id
    assert "assistant" not in at.query_params
