"""Cross-language search in the UI: hit testing variants, knowledge base settings, glossary, assistants, evaluation."""

from __future__ import annotations

import pytest

from tests.conftest import ingest
from tests.helpers.bilingual import files
from tests.ui.conftest import open_page

HIT_TESTING = "pages/hit_testing.py"
KBS = "pages/knowledge_bases.py"


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def text(at) -> str:
    return " ".join([m.value for m in at.markdown] + [str(c.value) for c in at.caption])


@pytest.fixture
def kb(ui, tenant):
    kb = ui.knowledge.create(tenant, "Bilingual", retrieval_config={"query_languages": ["auto"], "threshold": 0.0})
    ingest(ui, tenant, kb.id, files())
    return ui.knowledge.get(tenant, kb.id)


def search(at, kb_id: str, query: str, cross: str | None = None):
    at.text_area(key=f"hit_testing_query_{kb_id}").input(query)
    if cross:
        at.button_group(key=f"hit_testing_cross_{kb_id}").set_value(cross)
    return ok(at.button(key="hit_testing_go").click().run())


def cards(at) -> list[str]:
    return [m.value for m in at.markdown if "📄 **" in m.value]


def test_hit_testing_shows_the_variants_and_which_found_each_hit(ui, tenant, kb):
    ui.models.create(tenant, type="llm", provider="mock", name="mock", model="mock-model", is_default=True)
    at = search(open_page(HIT_TESTING, kb=kb.id), kb.id, "How many sub-accounts can a tenant create?")
    assert "query languages: Auto" in text(at)  # the knowledge base's setting, under the choice
    assert "Searched as 2 variants" in text(at)
    assert "🌐 Translation (Chinese): “多少 子账号 租户”" in text(at)
    answer = next(c for c in cards(at) if "子账号.txt" in c)
    assert "found by 🌐 Translation (Chinese)" in answer
    assert "<mark>租户</mark>" in text(at)  # the translation's words are highlighted in the passage
    off = search(at, kb.id, "How many sub-accounts can a tenant create?", cross="off")
    # At threshold 0 unrelated chunks tie at a calibrated 0 and any may fill the list: none is found by a translation.
    assert "Searched as" not in text(off) and not any("found by 🌐" in c for c in cards(off))


def test_hit_testing_says_when_no_model_could_translate(ui, kb):
    at = search(open_page(HIT_TESTING, kb=kb.id), kb.id, "How many sub-accounts can a tenant create?")
    assert "No chat model is configured" in text(at)


def test_hit_testing_in_chinese(ui, tenant, kb):
    ui.models.create(tenant, type="llm", provider="mock", name="mock", model="mock-model", is_default=True)
    at = search(open_page(HIT_TESTING, lang="zh", kb=kb.id), kb.id, "访问令牌多久过期？")
    assert "🌐 译文 (英语)" in text(at) and "跨语言检索" in [b.label for b in at.button_group]


def test_the_knowledge_base_form_sets_query_languages_and_keywords(ui, tenant, kb):
    at = open_page(KBS, kb=kb.id)
    at.multiselect(key=f"kbf_{kb.id}_query_languages").unselect("auto").select("en").select("zh")
    at.checkbox(key=f"kbf_{kb.id}_model_keywords").check()
    ok(at.button(key=f"FormSubmitter:kbf_{kb.id}_form-Save changes").click().run())
    cfg = ui.knowledge.get(tenant, kb.id).retrieval_config
    assert (cfg.query_languages, cfg.model_keywords) == (["en", "zh"], True)


def test_auto_and_a_list_together_is_refused(ui, tenant, kb):
    at = open_page(KBS, kb=kb.id)
    at.multiselect(key=f"kbf_{kb.id}_query_languages").select("en")
    ok(at.button(key=f"FormSubmitter:kbf_{kb.id}_form-Save changes").click().run())
    assert "choose Auto alone" in " ".join(e.value for e in at.error)
    assert ui.knowledge.get(tenant, kb.id).retrieval_config.query_languages == ["auto"]


def test_glossary_suggestions_are_accepted_from_the_edit_view(ui, tenant):
    kb = ui.knowledge.create(tenant, "Guide")
    ingest(ui, tenant, kb.id, [("guide.md", "每个租户（tenant）拥有独立的数据。\n\n| 子账号 | sub-account |\n".encode())])
    at = open_page(KBS, kb=kb.id)
    assert "Glossary" in text(at) and "0 pairs" in text(at)
    ok(at.button(key=f"glossary_suggest_{kb.id}").click().run())
    ok(at.button(key=f"glossary_accept_go_{kb.id}").click().run())
    assert {(p.term, p.translation) for p in ui.glossary.list(tenant, kb.id)} == \
        {("租户", "tenant"), ("子账号", "sub-account")}
    assert "2 pairs added" in " ".join(x.value for x in at.toast)


def test_an_assistant_sets_cross_language_search(ui, tenant, kb):
    assistant = ui.assistants.create(tenant, "Helper", kb_ids=[kb.id])
    at = open_page("pages/assistants.py", assistant=assistant.id)
    key = f"asf_{assistant.id}_query_languages"
    assert at.selectbox(key=key).value == "kb"
    at.selectbox(key=key).set_value("auto")
    ok(at.button(key=f"FormSubmitter:asf_{assistant.id}_form-Save changes").click().run())
    assert ui.assistants.get(tenant, assistant.id).prompt.query_languages == ["auto"]


def test_evaluation_compares_with_and_without_cross_language(ui, tenant, kb):
    lines = '{"question": "How many sub-accounts can a tenant create?", "relevant_docs": ["子账号.txt"]}\n'
    qset = ui.evaluation.sets.import_file(tenant, lines.encode(), "cross.jsonl", kb_id=kb.id).set
    at = open_page("pages/evaluation.py")
    at.button_group(key="eval_view").set_value("run").run()
    at.button_group(key="eval_run_modes").set_value(["hybrid"])
    at.button_group(key="eval_run_cross").set_value(["on", "off"])
    ok(at.button(key="FormSubmitter:eval_run_form-Start").click().run())
    runs = ui.evaluation.list_runs(tenant, set_id=qset.id)
    assert sorted(r.config.cross_language for r in runs) == [False, True]
    assert sorted(r.label for r in runs) == ["hybrid w=0.7 k=5 cross-language", "hybrid w=0.7 k=5 no cross-language"]


def test_a_link_can_turn_cross_language_off(ui, tenant, kb):
    ui.models.create(tenant, type="llm", provider="mock", name="mock", model="mock-model", is_default=True)
    at = ok(open_page(HIT_TESTING, kb=kb.id, q="How many sub-accounts can a tenant create?", cross="off"))
    assert at.button_group(key=f"hit_testing_cross_{kb.id}").value == "off"
    assert cards(at) and "Searched as" not in text(at)
