"""AgentChat's knowledge routes (create / select / update / delete / retrieval) and tool routes (create / all / own /
visible / update / delete)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ingest
from tests.helpers import agentchat_data as data

OPENAPI = {"openapi": "3.0.0", "info": {"title": "Weather", "version": "1", "description": "Forecasts"},
           "servers": [{"url": "https://weather.example.com"}],
           "paths": {"/forecast": {"get": {"operationId": "forecast", "summary": "Tomorrow's weather in a city",
                                           "parameters": [{"name": "city", "in": "query", "required": True,
                                                           "schema": {"type": "string"}}]}}}}


@pytest.fixture
def alice(sign_up):
    return sign_up("alice")


# ---------------------------------------------------------------------------------------------- knowledge
def test_knowledge_create_select_update_delete(alice, svc):
    made = data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "员工手册",
                                                              "knowledge_desc": "公司制度与福利说明"}))
    assert made["name"] == "员工手册" and made["description"] == "公司制度与福利说明" and made["count"] == 0
    ingest(svc, alice.workspace, made["id"], [("leave.txt", b"Employees get fifteen days of annual leave." * 30)])
    (listed,) = data(alice.get("/api/v1/knowledge/select"))
    assert listed["id"] == made["id"] and listed["count"] == 1 and listed["file_size"] == "1.26KB"
    updated = data(alice.put("/api/v1/knowledge/update", json={"knowledge_id": made["id"], "knowledge_name": "Handbook"}))
    assert updated["name"] == "Handbook" and updated["description"] == "公司制度与福利说明"
    assert data(alice.request("DELETE", "/api/v1/knowledge/delete", json={"knowledge_id": made["id"]})) is None
    assert data(alice.get("/api/v1/knowledge/select")) == []


@pytest.mark.parametrize(("payload", "status", "problem"), [
    ({"knowledge_desc": "no name"}, 400, "knowledge_name: Field required"),
    ({"knowledge_name": "  "}, 400, "must not be empty"),
    ({"knowledge_name": 12}, 400, "knowledge_name"),
])
def test_knowledge_validation(alice, payload, status, problem):
    assert problem in data(alice.post("/api/v1/knowledge/create", json=payload), status)
    assert data(alice.get("/api/v1/knowledge/select")) == []


def test_knowledge_names_are_unique_and_unknown_ids_are_named(alice):
    data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "Docs"}))
    assert "already exists" in data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "DOCS"}), 400)
    assert data(alice.put("/api/v1/knowledge/update", json={"knowledge_id": "nope", "knowledge_name": "x"}), 404) == \
        "Knowledge base 'nope' not found"
    assert "not found" in data(alice.request("DELETE", "/api/v1/knowledge/delete", json={"knowledge_id": "nope"}), 404)


def test_retrieval_answers_the_passages_text_for_one_id_or_several(alice, svc):
    pets = data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "Pets"}))
    zoo = data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "Zoo"}))
    ingest(svc, alice.workspace, pets["id"], [("dogs.txt", b"Dogs bark at strangers and love long walks.")])
    ingest(svc, alice.workspace, zoo["id"], [("lions.txt", b"Lions sleep twenty hours a day in the zoo.")])
    text = data(alice.post("/api/v1/knowledge/retrieval", json={"query": "why do dogs bark", "knowledge_id": pets["id"]}))
    assert isinstance(text, str) and text.startswith("Dogs bark at strangers")
    both = data(alice.post("/api/v1/knowledge/retrieval", json={"query": "lions sleep dogs bark",
                                                                 "knowledge_id": [pets["id"], zoo["id"]]}))
    assert "Lions sleep" in both and "Dogs bark" in both
    assert "query: Field required" in data(alice.post("/api/v1/knowledge/retrieval", json={"knowledge_id": pets["id"]}), 400)
    assert "not found" in data(alice.post("/api/v1/knowledge/retrieval", json={"query": "x", "knowledge_id": "nope"}),
                               404)


# ---------------------------------------------------------------------------------------------- tools
def test_tools_create_own_visible_all_update_delete(alice):
    builtin = data(alice.get("/api/v1/tool/all"))
    assert {"calculator", "current_time", "web_search"} <= {t["tool_id"] for t in builtin}
    calc = next(t for t in builtin if t["tool_id"] == "calculator")
    assert calc["zh_name"] == "计算器" and calc["is_builtin"] and calc["logo_url"] == "/builtin-tools/calculator/icon"
    assert "kb_search" not in {t["tool_id"] for t in builtin}  # knowledge_ids bring it
    assert data(alice.post("/api/v1/tool/own")) == []

    made = data(alice.post("/api/v1/tool/create", json={"zh_name": "天气", "en_name": "weather",
                                                         "description": "查询天气", "logo_url": "https://x/w.png"}))
    assert (made["zh_name"], made["en_name"], made["description"], made["functions"]) == ("天气", "weather", "查询天气", [])
    assert "No OpenAPI schema yet" in made["needs_setup"]
    assert data(alice.post("/api/v1/tool/own")) == [made]
    visible = data(alice.post("/api/v1/tool/visible"))
    assert visible == data(alice.get("/api/v1/tool/all")) == builtin + [made]

    updated = data(alice.put("/api/v1/tool/update", json={"tool_id": made["tool_id"], "zh_name": "天气预报",
                                                           "openapi_schema": OPENAPI,
                                                           "auth_config": {"auth_type": "Bearer", "data": "tok"}}))
    assert updated["zh_name"] == "天气预报" and updated["functions"] == ["forecast"] and updated["needs_setup"] == ""
    assert updated["description"] == "Forecasts"  # the schema's, as no description was sent
    assert data(alice.request("DELETE", "/api/v1/tool/delete", json={"tool_id": made["tool_id"]})) is None
    assert data(alice.post("/api/v1/tool/own")) == []


def test_a_tool_made_with_a_schema_is_bound_to_agents_with_its_auth(alice, svc):
    made = data(alice.post("/api/v1/tool/create", json={
        "zh_name": "天气", "en_name": "weather", "description": "Weather", "logo_url": "",
        "openapi_schema": json.dumps(OPENAPI), "auth_config": {"auth_type": "APIKey", "data": "k-123"}}))
    provider = svc.tools.get_provider(alice.workspace, made["tool_id"])
    assert [t.name for t in provider.tools] == ["forecast"] and provider.headers[0]["key"] == "X-API-Key"


@pytest.mark.parametrize(("payload", "problem"), [
    ({"zh_name": "天气", "description": "x", "logo_url": ""}, "en_name: Field required"),
    ({"zh_name": "天气", "en_name": "w", "openapi_schema": {"openapi": "3.0.0", "paths": {}}}, "servers"),
    ({"zh_name": "天气", "en_name": "w", "auth_config": {"auth_type": "OAuth", "data": "x"}}, "auth_type"),
    ({"zh_name": "天气", "en_name": "w", "auth_config": {"auth_type": "Header", "data": "x"}}, "object of headers"),
    ({"zh_name": "天气", "en_name": "x" * 31}, "at most 30 characters"),
])
def test_bad_tools_are_refused(alice, payload, problem):
    assert problem in data(alice.post("/api/v1/tool/create", json=payload), 400)
    assert data(alice.post("/api/v1/tool/own")) == []


def test_built_in_tools_cannot_be_changed_and_names_are_unique(alice):
    assert "built-in tool" in data(alice.put("/api/v1/tool/update", json={"tool_id": "calculator", "zh_name": "x"}),
                                   403)
    assert "built-in tool" in data(alice.request("DELETE", "/api/v1/tool/delete", json={"tool_id": "calculator"}), 403)
    data(alice.post("/api/v1/tool/create", json={"zh_name": "A", "en_name": "notes"}))
    assert "already exists" in data(alice.post("/api/v1/tool/create", json={"zh_name": "B", "en_name": "NOTES"}), 400)
    assert "not found" in data(alice.request("DELETE", "/api/v1/tool/delete", json={"tool_id": "nope"}), 404)
