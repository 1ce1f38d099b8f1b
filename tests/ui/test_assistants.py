"""Assistants page: list, create with every setting, friendly errors, edit via URL, delete, chat link, Chinese."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from tests.ui.conftest import open_page

PAGE = "pages/assistants.py"
CREATE = "FormSubmitter:asf_new_form-Create assistant"


def body(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(str(c.value) for c in at.caption)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def chat_links(at) -> list[dict]:
    return [parse_qs(p.proto.query_string) for p in at.get("page_link") if p.proto.label == "Chat with it"]


def open_create_form():
    at = open_page(PAGE)
    return ok(at.button(key="asst_new").click().run())


def test_empty_state(ui):
    at = open_page(PAGE)
    assert "No assistants yet" in " ".join(i.value for i in at.info)
    assert at.button(key="asst_new")


def test_create_with_every_setting(ui, tenant):
    kb1, kb2 = ui.knowledge.create(tenant, "Handbook"), ui.knowledge.create(tenant, "Policies")
    model = ui.models.create(tenant, type="llm", provider="mock", name="House model", model="mock-chat")
    ui.models.create(tenant, type="rerank", provider="mock", name="Overlap", model="overlap")  # offered by name
    at = open_create_form()
    assert at.selectbox(key="asf_new_model").options[0].startswith("Workspace default")
    at.selectbox(key="asf_new_avatar").set_value("🦉")
    at.text_input(key="asf_new_name").input("HR helper")
    at.text_area(key="asf_new_description").input("Answers HR questions")
    at.multiselect(key="asf_new_kbs").select(kb1.id).select(kb2.id)
    at.selectbox(key="asf_new_model").set_value(model.id)
    at.slider(key="asf_new_temperature").set_value(0.5)
    at.slider(key="asf_new_top_p").set_value(0.9)
    at.slider(key="asf_new_presence").set_value(0.0)
    at.slider(key="asf_new_frequency").set_value(-0.5)
    at.number_input(key="asf_new_max_tokens").set_value(0)
    at.number_input(key="asf_new_window").set_value(16384)
    at.text_area(key="asf_new_system").input("Answer from {knowledge} only.")
    at.slider(key="asf_new_threshold").set_value(0.35)
    at.slider(key="asf_new_kw_weight").set_value(0.3)
    at.number_input(key="asf_new_top_n").set_value(4)
    at.number_input(key="asf_new_top_k").set_value(64)
    at.selectbox(key="asf_new_rerank").set_value("mock:overlap")
    at.text_area(key="asf_new_empty").input("Nothing found.")
    at.text_area(key="asf_new_opener").input("Hello!")
    at.toggle(key="asf_new_quote").set_value(False)
    at.number_input(key="asf_new_rounds").set_value(3)
    at.toggle(key="asf_new_rewrite").set_value(True)
    at.radio(key="asf_new_fallback").set_value("model")
    at.text_area(key="asf_new_fallback_text").input("Ask HR directly.")
    ok(at.button(key=CREATE).click().run())
    assert not at.error, errors(at)
    [a] = ui.assistants.list(tenant).items
    assert (a.name, a.avatar, a.description, sorted(a.kb_ids)) == ("HR helper", "🦉", "Answers HR questions",
                                                                  sorted([kb1.id, kb2.id]))
    assert a.llm.model_dump() == {"model_id": model.id, "temperature": 0.5, "top_p": 0.9, "presence_penalty": 0.0,
                                  "frequency_penalty": -0.5, "max_tokens": None, "context_window": 16384}
    p, s = a.prompt, a.strategy
    assert (p.system, p.similarity_threshold, p.keywords_similarity_weight, p.top_n, p.top_k) == \
        ("Answer from {knowledge} only.", 0.35, 0.3, 4, 64)
    assert (p.rerank_model, p.empty_response, p.opener, p.show_quote) == \
        ("mock:overlap", "Nothing found.", "Hello!", False)
    assert (s.max_rounds, s.query_rewrite, s.fallback_strategy, s.fallback_response) == \
        (3, True, "model", "Ask HR directly.")
    # back on the list: the card, a toast, and the way to chat with it
    assert "#### 🦉 HR helper" in body(at) and "House model" in body(at) and "📘 Handbook" in body(at)
    assert "HR helper" in " ".join(x.value for x in at.toast)
    assert chat_links(at) and all(q == {"assistant": [a.id]} for q in chat_links(at))


def test_defaults_follow_the_spec(ui, tenant):
    at = open_create_form()
    at.text_input(key="asf_new_name").input("Plain")
    ok(at.button(key=CREATE).click().run())
    a = ui.assistants.list(tenant).items[0]
    assert (a.llm.temperature, a.llm.top_p, a.prompt.top_n, a.prompt.similarity_threshold, a.strategy.max_rounds) == \
        (0.1, 0.3, 6, 0.3, 5)
    assert a.prompt.keywords_similarity_weight == pytest.approx(0.3)  # the knowledge bases' semantic weight 0.7
    assert "{knowledge}" in a.prompt.system and a.prompt.opener.startswith("Hi!")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("asf_new_name", "", "Give the assistant a name"),
    ("asf_new_name", "helper", "already exists"),
    ("asf_new_system", "   ", "system prompt must not be empty"),
])
def test_friendly_errors(ui, tenant, field, value, message):
    ui.assistants.create(tenant, "Helper")
    at = open_create_form()
    at.text_input(key="asf_new_name").input("New one")
    if field.endswith("system"):
        at.text_area(key=field).input(value)
    else:
        at.text_input(key=field).input(value)
    ok(at.button(key=CREATE).click().run())
    assert message in errors(at) and "Traceback" not in errors(at)
    assert ui.assistants.list(tenant).total == 1


def test_rerank_model_must_name_a_provider(ui, tenant):
    # AppTest cannot type a new option into the box, so the bad value comes from an older save.
    a = ui.assistants.create(tenant, "Helper", prompt={"rerank_model": "bge"})
    at = open_page(PAGE, assistant=a.id)
    assert at.selectbox(key=f"asf_{a.id}_rerank").value == "bge"
    ok(at.button(key=f"FormSubmitter:asf_{a.id}_form-Save changes").click().run())
    assert "“bge” is not a rerank model" in errors(at) and "mock" in errors(at)
    at.selectbox(key=f"asf_{a.id}_rerank").set_value("")
    ok(at.button(key=f"FormSubmitter:asf_{a.id}_form-Save changes").click().run())
    assert not at.error and ui.assistants.get(tenant, a.id).prompt.rerank_model == ""


def test_prompt_without_knowledge_slot_warns(ui, tenant):
    a = ui.assistants.create(tenant, "Helper", prompt={"system": "Be brief."})
    at = open_page(PAGE, assistant=a.id)
    assert "no {knowledge} slot" in " ".join(w.value for w in at.warning)


def test_edit_via_url(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    a = ui.assistants.create(tenant, "Helper", kb_ids=[kb.id], prompt={"top_n": 8})
    at = open_page(PAGE, assistant=a.id)
    assert at.text_input(key=f"asf_{a.id}_name").value == "Helper"
    assert at.multiselect(key=f"asf_{a.id}_kbs").value == [kb.id]
    assert at.number_input(key=f"asf_{a.id}_top_n").value == 8
    assert chat_links(at) == [{"assistant": [a.id]}]
    at.text_input(key=f"asf_{a.id}_name").input("HR helper")
    at.multiselect(key=f"asf_{a.id}_kbs").unselect(kb.id)
    at.number_input(key=f"asf_{a.id}_rounds").set_value(0)
    ok(at.button(key=f"FormSubmitter:asf_{a.id}_form-Save changes").click().run())
    got = ui.assistants.get(tenant, a.id)
    assert (got.name, got.kb_ids, got.strategy.max_rounds, got.prompt.top_n) == ("HR helper", [], 0, 8)
    assert "assistant" not in at.query_params and "HR helper" in " ".join(x.value for x in at.toast)


def test_share_switch_token_and_link(ui, tenant):
    a = ui.assistants.create(tenant, "Helper")
    at = open_page(PAGE)
    assert "Private" in body(at)  # the card says so
    at = open_page(PAGE, assistant=a.id)
    assert not at.code and "Private: only this workspace can use it" in body(at)
    ok(at.toggle(key=f"share_shared_{a.id}").set_value(True).run())
    assert ui.assistants.get(tenant, a.id).shared
    assert [c.value for c in at.code] == [f"/chat/{a.id}"] and "Shared" in body(at)
    ok(at.toggle(key=f"share_token_{a.id}").set_value(True).run())
    token = ui.assistants.get(tenant, a.id).access_token
    assert token and [c.value for c in at.code] == [f"/chat/{a.id}?token={token}"]
    assert "Shared with a token" in body(open_page(PAGE))
    ok(at.toggle(key=f"share_shared_{a.id}").set_value(False).run())
    assert not ui.assistants.get(tenant, a.id).shared and not at.code


def test_unknown_assistant_in_url(ui):
    at = open_page(PAGE, assistant="nope")
    assert "does not exist" in " ".join(i.value for i in at.info)


def test_delete_asks_first(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    a = ui.assistants.create(tenant, "Helper", kb_ids=[kb.id])
    ui.chat.create_session(tenant, assistant_id=a.id)
    at = open_page(PAGE)
    ok(at.button(key=f"asst_delete_{a.id}").click().run())
    assert "conversation and the messages in it" in body(at) and ui.assistants.list(tenant).total == 1
    ok(at.button(key=f"asst_del_cancel_{a.id}").click().run())
    assert not [b for b in at.button if b.key == f"asst_del_go_{a.id}"]
    ok(at.button(key=f"asst_delete_{a.id}").click().run())
    ok(at.button(key=f"asst_del_go_{a.id}").click().run())
    assert ui.assistants.list(tenant).total == 0 and ui.chat.list_sessions(tenant).total == 0
    assert "No assistants yet" in " ".join(i.value for i in at.info)


def test_chinese_labels(ui, tenant):
    ui.assistants.create(tenant, "助手一号")
    at = open_page(PAGE, lang="zh")
    assert at.title[0].value.endswith("助手") and "助手一号" in body(at)
    ok(at.button(key="asst_new").click().run())
    assert at.text_input(key="asf_new_name").label == "名称"


def test_each_assistant_shows_its_share_link_once_shared_with_an_optional_token(ui, tenant):
    a = ui.assistants.create(tenant, "Support")
    at = ok(open_page(PAGE))
    assert at.code == [] and "Share" in [e.label.split(" ", 1)[-1] for e in at.expander]  # private until shared
    ok(at.toggle(key=f"share_shared_{a.id}").set_value(True).run())
    assert [c.value for c in at.code] == [f"/chat/{a.id}"]  # AppTest has no host; the browser shows the full URL
    ok(at.toggle(key=f"share_token_{a.id}").set_value(True).run())
    token = ui.assistants.get(tenant, a.id).access_token
    assert token and [c.value for c in at.code] == [f"/chat/{a.id}?token={token}"]
