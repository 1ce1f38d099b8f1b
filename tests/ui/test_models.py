"""Models page: grouped cards, add/edit (key kept when empty), test connection, check, default, delete, banners."""

from __future__ import annotations

import socket


from tests.mock_llm import MockOpenAIServer
from tests.ui.conftest import open_page

PAGE = "pages/models.py"
SECRET = "sk-live-Secret0123456789abcdef"



def refused_url() -> str:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def rendered(at) -> str:
    """Every element of the rendered app (protos and widget values), except the typed password input."""
    out: list[str] = []

    def walk(node):
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(proto, "type", None) != 1:  # TextInput.Type.PASSWORD == 1
            out.append(str(proto))
            try:
                out.append(str(node.value))
            except Exception:  # noqa: BLE001 - containers and some elements have no value
                pass

    walk(at._tree)
    return "\n".join(out)


def body(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(str(c.value) for c in at.caption)


def text_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def fill(at, fid="new", **fields):
    for name, value in fields.items():
        widget = at.text_input(key=f"mf_{fid}_{name}")
        widget.input(value) if value else widget.set_value("")
    return at


def open_add(ui, type_="llm"):
    at = open_page(PAGE)
    at.button(key=f"models_add_{type_}").click().run()
    assert not at.exception and at.text_input(key="mf_new_name")
    return at


def add_llm(ui, tenant, base_url, api_key=SECRET, name="Team GPT", **kw):
    return ui.models.create(tenant, type="llm", provider="openai", name=name, model="gpt-4o-mini",
                            base_url=base_url, api_key=api_key, **kw)


def test_empty_state_explains_retrieval_only(ui):
    at = open_page(PAGE)
    assert not at.info  # the banner says what to do first
    assert "retrieval-only mode until you add one" in text_of(at.warning)
    assert at.button(key="models_add_llm_banner")
    assert "No rerank model saved" in body(at)
    at.button(key="models_add_llm_banner").click().run()
    assert at.selectbox(key="mf_new_type").value == "llm"


def test_cards_grouped_by_type_with_masked_key_and_params(ui, tenant):
    m = add_llm(ui, tenant, "http://127.0.0.1:9/v1", params={"max_tokens": 256, "timeout": 20}, is_default=True)
    ui.models.create(tenant, type="embedding", provider="mock", name="Words", model="words-64",
                     params={"dimension": 64})
    ui.models.create(tenant, type="rerank", provider="openai", name="BGE", model="bge", base_url="http://x:1/v1")
    at = open_page(PAGE)
    assert [s.value for s in at.subheader][-5:-2] == ["💬 LLM  :gray-badge[1]", "🧬 Embedding model  :gray-badge[1]",
                                                    "🔀 Rerank model  :gray-badge[1]"]
    text = body(at)
    assert "#### Team GPT :blue-badge[:material/star: Default]" in text and m.api_key_masked in text
    assert "Max output tokens: **256**" in text and "Embedding dimension: **64**" in text
    assert "not checked" in text and "`http://127.0.0.1:9/v1`" in text
    assert not at.warning  # an LLM is configured: no retrieval-only banner
    everything = rendered(at)
    assert m.api_key_masked in everything and "Team GPT" in everything  # the walk sees the cards
    assert SECRET not in everything and SECRET[3:-4] not in everything


def test_add_llm_through_the_form(ui, tenant, mock_llm):
    at = open_add(ui)
    fill(at, name="Local mock", model="mock-model", base_url=mock_llm.base_url, api_key=SECRET)
    at.number_input(key="mf_new_p_max_tokens").set_value(300)
    at.number_input(key="mf_new_p_timeout").set_value(12.0)
    at.checkbox(key="mf_new_default").check()
    at.button(key="mf_new_save").click().run()  # tested before saving: it answers
    assert not at.exception and not at.error
    (m,) = ui.models.list(tenant, "llm")
    assert (m.name, m.model, m.base_url, m.is_default) == ("Local mock", "mock-model", mock_llm.base_url, True)
    assert m.status == "ok" and mock_llm.chat_requests
    assert m.params == {"max_tokens": 300, "timeout": 12.0}
    assert ui.models.llm_spec(tenant, m.id).api_key == SECRET
    assert "Model 'Local mock' added" in text_of(at.toast)
    assert not [w for w in at.text_input if w.key == "mf_new_name"] and "#### Local mock" in body(at)
    assert SECRET not in rendered(at) and "mf_new_api_key" not in at.session_state


def test_a_model_that_fails_its_test_is_saved_only_when_confirmed_and_never_made_default(ui, tenant):
    at = open_add(ui)
    fill(at, name="Down", model="gpt", base_url=refused_url(), api_key=SECRET)
    at.button(key="mf_new_save").click().run()
    assert not at.exception and not ui.models.list(tenant)  # not saved yet
    assert "The connection test failed" in text_of(at.error) and "Cannot connect" in text_of(at.error)
    at.button(key="mf_new_fix_first").click().run()
    assert not ui.models.list(tenant) and not [b for b in at.button if b.key == "mf_new_save_anyway"]
    at.button(key="mf_new_save").click().run()
    at.button(key="mf_new_save_anyway").click().run()
    assert not at.exception
    (m,) = ui.models.list(tenant, "llm")
    assert m.status == "error" and "Cannot connect" in m.status_message and not m.is_default  # nobody asked
    assert ui.models.llm_spec(tenant) is None
    text = body(at)
    assert "unreachable" in text and "#### Down :blue-badge" not in text
    assert "No default LLM" in text_of(at.warning)  # the banner says how chat answers now
    assert SECRET not in rendered(at)


def test_add_requires_names_and_valid_url(ui, tenant):
    at = open_add(ui, "rerank")
    at.button(key="mf_new_save").click().run()
    assert "Enter a display name" in text_of(at.error) and not ui.models.list(tenant)
    fill(at, name="R", model="bge")
    at.button(key="mf_new_save").click().run()
    assert "needs a base URL" in text_of(at.error) and not ui.models.list(tenant)


def test_edit_keeps_key_when_empty_replaces_and_removes(ui, tenant):
    m = add_llm(ui, tenant, "http://127.0.0.1:9/v1", params={"max_tokens": 100, "custom": "kept"})
    at = open_page(PAGE)
    at.button(key=f"models_edit_{m.id}").click().run()
    assert at.text_input(key=f"mf_{m.id}_api_key").value == ""  # never pre-filled
    assert m.api_key_masked in at.text_input(key=f"mf_{m.id}_api_key").placeholder
    assert SECRET not in rendered(at)
    fill(at, m.id, name="Renamed")
    at.number_input(key=f"mf_{m.id}_p_max_tokens").set_value(50)  # (AppTest cannot clear a number_input)
    at.button(key=f"mf_{m.id}_save").click().run()
    at.button(key=f"mf_{m.id}_save_anyway").click().run()  # nothing listens at that address
    assert not at.exception and not at.error
    got = ui.models.get(tenant, m.id)
    assert got.name == "Renamed" and got.params == {"max_tokens": 50, "custom": "kept"}
    assert ui.models.llm_spec(tenant, m.id).api_key == SECRET

    at.button(key=f"models_edit_{m.id}").click().run()
    fill(at, m.id, api_key="sk-new-key-abcdefghijkl")
    at.button(key=f"mf_{m.id}_save").click().run()
    at.button(key=f"mf_{m.id}_save_anyway").click().run()
    assert ui.models.llm_spec(tenant, m.id).api_key == "sk-new-key-abcdefghijkl"

    at.button(key=f"models_edit_{m.id}").click().run()
    at.checkbox(key=f"mf_{m.id}_remove_key").check().run()
    at.button(key=f"mf_{m.id}_save").click().run()
    at.button(key=f"mf_{m.id}_save_anyway").click().run()
    assert not ui.models.get(tenant, m.id).has_api_key
    assert "#### Renamed" in body(at)


def test_test_connection_ok_without_saving(ui, tenant, mock_llm):
    at = open_add(ui)
    fill(at, name="M", model="mock-model", base_url=mock_llm.base_url)
    at.button(key="mf_new_test").click().run()
    assert not at.exception
    assert "Connection OK" in text_of(at.success) and "mock-model" in text_of(at.success)
    assert mock_llm.chat_requests and not ui.models.list(tenant)


def test_a_good_test_before_saving_becomes_the_saved_status(ui, tenant, mock_llm):
    at = open_add(ui)
    fill(at, name="M", model="mock-model", base_url=mock_llm.base_url)
    at.button(key="mf_new_test").click().run()
    at.button(key="mf_new_save").click().run()
    (m,) = ui.models.list(tenant, "llm")
    assert m.status == "ok" and "mock-model" in m.status_message and "not checked" not in body(at)
    at = open_add(ui)  # a test of other settings than the saved ones says nothing about them: saving tests again
    fill(at, name="N", model="mock-model", base_url=mock_llm.base_url)
    at.button(key="mf_new_test").click().run()
    fill(at, model="another-model")
    requests = len(mock_llm.chat_requests)
    at.button(key="mf_new_save").click().run()
    assert {m.name: m.status for m in ui.models.list(tenant, "llm")} == {"M": "ok", "N": "ok"}
    assert mock_llm.chat_requests[-1]["body"]["model"] == "another-model" and len(mock_llm.chat_requests) > requests


def test_test_connection_errors_are_friendly_and_hide_the_key(ui, tenant):
    with MockOpenAIServer(api_key="sk-right-key-0000000000") as server:
        at = open_add(ui)
        fill(at, name="M", model="gpt", base_url=server.base_url, api_key=SECRET)
        at.button(key="mf_new_test").click().run()
        assert "Connection failed" in text_of(at.error) and "API key was rejected" in text_of(at.error)
        assert SECRET not in rendered(at) and SECRET[3:15] not in rendered(at)
    fill(at, base_url=refused_url())
    at.button(key="mf_new_test").click().run()
    assert "Cannot connect" in text_of(at.error) and not at.success
    assert not ui.models.list(tenant)


def test_edit_test_connection_uses_the_stored_key(ui, tenant):
    with MockOpenAIServer(api_key=SECRET) as server:
        m = add_llm(ui, tenant, server.base_url)
        at = open_page(PAGE)
        at.button(key=f"models_edit_{m.id}").click().run()
        at.button(key=f"mf_{m.id}_test").click().run()
        assert "Connection OK" in text_of(at.success)
        assert server.chat_requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
        assert SECRET not in rendered(at)


def test_check_stores_status(ui, tenant, mock_llm):
    good = add_llm(ui, tenant, mock_llm.base_url, name="Good")
    bad = add_llm(ui, tenant, refused_url(), name="Down")
    at = open_page(PAGE)
    at.button(key=f"models_check_{good.id}").click().run()
    assert ui.models.get(tenant, good.id).status == "ok"
    assert "connection OK" in text_of(at.toast) and "connected" in body(at)
    at.button(key=f"models_check_{bad.id}").click().run()
    got = ui.models.get(tenant, bad.id)
    assert got.status == "error" and "Cannot connect" in got.status_message and got.checked_at
    assert "Cannot connect" in body(at) and "checked " in body(at)
    assert SECRET not in rendered(at)


def test_set_default(ui, tenant):
    a = add_llm(ui, tenant, "http://a:1/v1", name="A", is_default=True)
    b = add_llm(ui, tenant, "http://b:1/v1", name="B")
    at = open_page(PAGE)
    assert not [w for w in at.button if w.key == f"models_default_{a.id}"]  # already the default
    at.button(key=f"models_default_{b.id}").click().run()
    assert ui.models.get(tenant, b.id).is_default and not ui.models.get(tenant, a.id).is_default
    assert "'B' is now the default LLM" in text_of(at.toast)
    assert "#### B :blue-badge" in body(at)


def test_delete_asks_for_confirmation(ui, tenant):
    m = add_llm(ui, tenant, "http://a:1/v1", name="Doomed")
    at = open_page(PAGE)
    at.button(key=f"models_delete_{m.id}").click().run()
    assert "Delete 'Doomed'?" in body(at) and ui.models.list(tenant)
    at.button(key=f"models_del_cancel_{m.id}").click().run()
    assert ui.models.list(tenant) and "Delete 'Doomed'?" not in body(at)
    at.button(key=f"models_delete_{m.id}").click().run()
    at.button(key=f"models_del_go_{m.id}").click().run()
    assert not at.exception and not ui.models.list(tenant)
    assert "Model 'Doomed' deleted" in text_of(at.toast) and "retrieval-only" in text_of(at.warning)


def test_environment_llm_with_no_saved_models(ui, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.internal:8000/v1")
    at = open_page(PAGE)
    assert "gpt-4o-mini" in text_of(at.info) and "without an API key" in text_of(at.info)
    assert "No models saved yet" in text_of(at.info) and not at.warning


def test_environment_llm_shown_without_its_key(ui, tenant, monkeypatch):
    add_llm(ui, tenant, "http://a:1/v1", name="Saved", is_default=True)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:pw@llm.internal:8000/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-Secret-9876543210")
    monkeypatch.setenv("ALMANAC_LLM_MODEL", "qwen2.5")
    at = open_page(PAGE)
    info = text_of(at.info)
    assert "qwen2.5" in info and "http://llm.internal:8000/v1" in info and "not shown" in info
    assert "overridden by the environment" in body(at)
    everything = rendered(at)
    assert "sk-env-Secret-9876543210" not in everything and "Secret-98" not in everything and "pw@" not in everything


def test_chinese(ui, tenant, mock_llm):
    at = open_page(PAGE, lang="zh")
    assert "模型" in at.title[0].value and "仅检索" in text_of(at.warning)
    m = add_llm(ui, tenant, mock_llm.base_url)
    at = open_page(PAGE, lang="zh")
    at.button(key=f"models_check_{m.id}").click().run()
    assert not at.exception and "已连接" in body(at)
    at.button(key=f"models_edit_{m.id}").click().run()
    assert not at.exception and at.text_input(key=f"mf_{m.id}_name").label == "显示名称"
