"""Evaluation page (AppTest): upload a set, edit it, start a three-mode comparison, read the results, drill
down into a failed question and follow it into Hit testing; errors and Chinese labels."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from tests.conftest import ingest
from tests.ui.conftest import open_page

PAGE = "pages/evaluation.py"
FILES = [
    ("refund.md", b"# Refunds\n\nCustomers may return any product within thirty days of purchase for a full refund."),
    ("garden.txt", b"Tomatoes need at least six hours of direct sunlight each day and deep watering twice a week."),
]
SET = [{"question": "How many days to return a product?", "answer": "Thirty days.", "relevant_docs": ["refund.md"]},
       {"question": "How much sun do tomatoes need?", "relevant_text": "six hours"},
       {"question": "zebra migration patterns", "relevant_text": "the zebras cross the river"}]  # never found


class Upload:
    """What st.file_uploader hands the page (the AppTest cannot drive the uploader widget itself)."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture
def kb(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ingest(ui, tenant, kb.id, FILES)
    return kb


@pytest.fixture
def qset(ui, tenant, kb):
    data = "".join(json.dumps(q) + "\n" for q in SET).encode()
    return ui.evaluation.sets.import_file(tenant, data, "handbook.jsonl", kb_id=kb.id).set


def texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info])


def view(at, name: str):
    at.button_group(key="eval_view").set_value(name).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_an_empty_workspace_is_guided(ui):
    at = open_page(PAGE)
    assert "There is no question set yet" in texts(at)
    assert at.expander[0].label == "Add a question set"


def test_the_set_is_shown_for_review_and_edits_are_saved(ui, tenant, qset):
    at = open_page(PAGE)
    assert at.selectbox(key="eval_set").value == qset.id
    at.button(key="eval_save").click().run()
    assert not at.exception
    assert [q.question for q in ui.evaluation.sets.questions(tenant, qset.id)] == [q["question"] for q in SET]


def test_a_three_mode_comparison_from_the_form_to_the_drill_down(ui, tenant, qset, kb):
    at = view(open_page(PAGE), "run")
    assert at.multiselect(key=f"eval_run_kbs_{qset.id}").value == [kb.id]
    at.button(key="FormSubmitter:eval_run_form-Start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.button_group(key="eval_view").value == "results"
    runs = ui.evaluation.list_runs(tenant)
    assert sorted(r.config.mode for r in runs) == ["full_text", "hybrid", "semantic"]
    assert any("0 of 3 questions" in p.proto.text for p in at.get("progress"))  # until a worker takes them
    assert ui.eval_workers.drain()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    assert sorted(table["Configuration"]) == ["full-text k=5", "hybrid w=0.7 k=5", "semantic k=5"]
    assert list(table.columns[1:8]) == ["precision", "recall", "hit", "ndcg3", "ndcg10", "mrr", "map"]
    # The failed question is picked first; each configuration shows it found nothing relevant.
    question = at.selectbox(key=f"eval_q_{runs[0].group_id}")
    assert question.value == 2 and "❌ 3. zebra migration patterns" in question.options
    assert texts(at).count("Nothing relevant in the top 5") == 3
    assert "the zebras cross the river" in texts(at)
    links = [p for p in at.get("page_link") if p.proto.label == "Try in Hit testing"]
    assert len(links) == 3
    params = parse_qs(links[0].proto.query_string)
    assert params["kb"] == [kb.id] and params["q"] == ["zebra migration patterns"]
    assert params["k"] == ["5"] and params["threshold"] == ["0.0"]


def test_hit_testing_runs_the_query_from_the_link(ui, kb):
    at = open_page("pages/hit_testing.py", kb=kb.id, q="tomatoes sunlight", mode="full_text", k="3",
                   threshold="0.0", weight="zzz")
    assert at.text_area(key=f"hit_testing_query_{kb.id}").value == "tomatoes sunlight"
    assert at.button_group(key=f"hit_testing_mode_{kb.id}").value == "full_text"
    assert at.number_input(key=f"hit_testing_top_k_{kb.id}").value == 3
    assert at.slider(key=f"hit_testing_threshold_{kb.id}").value == 0.0
    assert at.slider(key=f"hit_testing_weight_{kb.id}").value == pytest.approx(0.7)  # not a number: unchanged
    assert any("garden.txt" in m.value for m in at.markdown)


def test_upload_errors_name_the_line_and_import_nothing(ui, tenant, kb, monkeypatch):
    import pages.components.eval_sets as eval_sets

    at = open_page(PAGE)
    bad = Upload("bad.jsonl", b'{"question": "ok", "relevant_docs": ["refund.md"]}\n{"question": ""}\n')
    monkeypatch.setattr(eval_sets.st, "file_uploader", lambda *a, **k: bad)
    at.run()
    at.button(key="eval_import").click().run()
    assert any("line 2: field 'question': missing or empty" in e.value for e in at.error)
    assert ui.evaluation.sets.list(tenant) == []


def test_the_page_speaks_chinese(ui, qset):
    at = open_page(PAGE, lang="zh")
    assert at.button_group(key="eval_view").options == ["问题集", "新建评估", "结果"]
    assert any("评估" in m.value for m in at.title)


def test_the_bundled_sample_installs_with_one_click(ui, tenant):
    at = open_page(PAGE)
    at.button(key="eval_sample").click().run()
    assert not at.exception, [e.message for e in at.exception]
    (qset,) = ui.evaluation.sets.list(tenant)
    assert qset.source == "sample" and qset.question_count == 38
    assert at.selectbox(key="eval_set").value == qset.id
    assert ui.knowledge.get(tenant, qset.kb_id).name == "Evaluation sample"


def test_answers_add_generation_metrics_to_the_comparison(ui, tenant, qset, llm):
    ui.evaluation.start(tenant, qset.id, [{"mode": "hybrid", "chat_model_id": "default"}])
    assert ui.eval_workers.drain()
    at = view(open_page(PAGE), "results")
    table = at.dataframe[0].value
    assert {"bleu1", "bleu4", "rouge1", "rougel"} <= set(table.columns)
    assert any(m.value.startswith("💬 Mock answer about:") for m in at.markdown)
