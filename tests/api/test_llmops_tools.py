"""LLMOps built-in tools (2.1-2.4) and API tools (2.5-2.11): the spec's shapes, validation naming what is wrong,
and API tools made here are the Tools page's providers, usable by agents."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.helpers import llmops_data, llmops_error

# The spec's own example schema (2.6).
YOUDAO = json.dumps({"description": "这是一个查询对应英文单词字典的工具", "server": "https://dict.youdao.com", "paths": {
    "/suggest": {"get": {"description": "根据传递的单词查询其字典信息", "operationId": "YoudaoSuggest", "parameters": [
        {"name": "q", "in": "query", "description": "要检索查询的单词,例如love/computer", "required": True, "type": "str"},
        {"name": "doctype", "in": "query", "description": "返回的数据类型,支持json和xml两种格式,默认情况下json数据",
         "required": False, "type": "str"}]}}}}, ensure_ascii=False)
WEATHER = json.dumps({"description": "Weather", "server": "https://weather.example.com", "paths": {
    "/now": {"get": {"description": "Current weather of a city", "operationId": "GetCurrentWeather",
                     "parameters": [{"name": "city", "in": "query", "description": "City", "required": True,
                                     "type": "str"}]}}}})
HEADERS = [{"key": "Authorization", "value": "Bearer QQYnRFerJTSEcrfB89fw8pr0a0bmrch8"}]


def create(client: TestClient, name: str = "谷歌搜索", schema: str = YOUDAO) -> str:
    resp = client.post("/api-tools", json={"name": name, "icon": "https://cdn.imooc.com/google.png",
                                           "openapi_schema": schema, "headers": HEADERS})
    assert resp.json()["message"] == "创建自定义 API 工具提供者成功"
    return llmops_data(resp)["id"]


def test_builtin_categories_providers_and_one_tool(client, api_app):
    categories = llmops_data(client.get("/builtin-tools/categories"))
    assert {"search", "image", "utility"} <= {c["category"] for c in categories}
    assert all(set(c) == {"category", "name", "icon"} and c["icon"].lstrip().startswith("<svg") for c in categories)
    providers = {p["name"]: p for p in llmops_data(client.get("/builtin-tools"))}
    images = providers["images"]
    assert {"name", "label", "description", "background", "category", "tools", "created_at"} <= set(images)
    assert images["category"] == "image" and images["created_at"] > 1_700_000_000
    tool = images["tools"][0]
    assert set(tool) >= {"name", "label", "description", "inputs", "params"}
    assert tool["inputs"] == [{"name": "prompt", "description": "A detailed description of the image",
                               "required": True, "type": "string"}]
    size = next(p for p in tool["params"] if p["name"] == "size")
    assert size["type"] == "select" and size["required"] is True and size["min"] is None and \
        {"value": "1792x1024", "label": "Landscape 1792×1024"} in size["options"]

    one = llmops_data(client.get("/builtin-tools/images/tools/image_generation"))
    assert set(one["provider"]) >= {"name", "label", "category", "background", "description"}
    assert one["provider"]["name"] == "images" and one["name"] == "image_generation" and one["params"] == tool["params"]
    assert "not found" in llmops_error(client.get("/builtin-tools/images/tools/nope"), "not_found")
    assert "not found" in llmops_error(client.get("/builtin-tools/nope/tools/x"), "not_found")
    assert llmops_error(TestClient(api_app).get("/builtin-tools"), "unauthorized")


def test_builtin_icons_are_images_without_a_credential(api_app):
    anonymous = TestClient(api_app)
    icon = anonymous.get("/builtin-tools/calculator/icon")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content
    missing = anonymous.get("/builtin-tools/nope/icon")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_api_tool_providers_create_list_get_update_delete(client, svc):
    provider = create(client)
    weather = create(client, "高德工具包", WEATHER)
    page = llmops_data(client.get("/api-tools", params={"search_word": "高德", "current_page": 1, "page_size": 21}))
    assert page["paginator"] == {"current_page": 1, "page_size": 21, "total_page": 1, "total_record": 1}
    (item,) = page["list"]
    assert set(item) >= {"id", "name", "icon", "tools", "description", "headers", "created_at"}
    assert item["id"] == weather and item["description"] == "Weather"
    assert item["tools"][0]["name"] == "GetCurrentWeather" and item["tools"][0]["id"]
    assert item["tools"][0]["inputs"] == [{"name": "city", "description": "City", "required": True,
                                           "type": "string"}]
    assert item["headers"][0]["key"] == "Authorization" and "…" in item["headers"][0]["value"]  # masked
    assert item["headers"][0]["value"] != HEADERS[0]["value"]

    got = llmops_data(client.get(f"/api-tools/{provider}"))
    assert set(got) == {"id", "name", "icon", "openapi_schema", "headers", "created_at", "description"}
    assert json.loads(got["openapi_schema"]) == json.loads(YOUDAO)
    tool = llmops_data(client.get(f"/api-tools/{provider}/tools/YoudaoSuggest"))
    assert (tool["name"], tool["description"]) == ("YoudaoSuggest", "根据传递的单词查询其字典信息")
    assert [i["name"] for i in tool["inputs"]] == ["q", "doctype"] and tool["id"]
    assert set(tool["provider"]) >= {"id", "name", "icon", "description", "headers"}
    assert tool["provider"]["id"] == provider
    assert "not found" in llmops_error(client.get(f"/api-tools/{provider}/tools/Nope"), "not_found")

    # The update replaces the tools; the masked header sent back keeps the stored secret.
    resp = client.post(f"/api-tools/{provider}", json={"name": "Dictionary", "icon": "https://e.com/d.png",
                                                       "openapi_schema": WEATHER, "headers": got["headers"]})
    assert resp.json()["message"] == "更新自定义 API 工具提供者成功"
    stored = svc.tools.get_provider("default", provider)
    assert stored.name == "Dictionary" and [t.name for t in stored.tools] == ["GetCurrentWeather"]
    with svc.db.session() as s:
        from storage.orm import ToolProvider

        stored_headers = s.get(ToolProvider, provider).headers  # sealed at rest
        assert [{**h, "value": svc.sealer.unseal_field(h["value"])} for h in stored_headers] == HEADERS

    assert client.post(f"/api-tools/{provider}/delete").json()["message"] == "删除自定义 API 工具提供者成功"
    assert "not found" in llmops_error(client.get(f"/api-tools/{provider}"), "not_found")
    assert llmops_data(client.get("/api-tools"))["paginator"]["total_record"] == 1


def test_schema_validation_says_what_is_wrong(client):
    resp = client.post("/api-tools/validate-openapi-schema", json={"openapi_schema": YOUDAO})
    assert resp.json() == {"code": "success", "data": {}, "message": "OpenAPI—Schema 校验成功".replace("—", "-")}
    for schema, words in (("", "openapi_schema"), ("{not json", "not valid JSON"),
                          (json.dumps({"server": "https://x.com", "paths": {}}), "at least one path"),
                          (json.dumps({"server": "https://x.com", "paths": {"/a": {"delete": {
                              "operationId": "Del", "parameters": []}}}}), "delete")):
        message = llmops_error(client.post("/api-tools/validate-openapi-schema", json={"openapi_schema": schema}),
                               "validate_error")
        assert message.startswith("openapi_schema") and words in message, message
    assert llmops_error(client.post("/api-tools/validate-openapi-schema", json={}), "validate_error") \
        .startswith("openapi_schema")


def test_bad_providers_are_refused_and_nothing_is_saved(client, other_client):
    create(client, "Taken")
    good = {"name": "n", "icon": "https://e.com/i.png", "openapi_schema": YOUDAO, "headers": []}
    for change, field in (({"name": ""}, "name"), ({"name": "x" * 31}, "name"), ({"name": "taken"}, "name"),
                          ({"icon": "ftp://x"}, "icon"), ({"openapi_schema": "[]"}, "openapi_schema"),
                          ({"headers": [{"key": "Bad Header", "value": "v"}]}, "headers"),
                          ({"headers": "Authorization: x"}, "headers")):
        message = llmops_error(client.post("/api-tools", json={**good, **change}), "validate_error")
        assert message.startswith(field), (change, message)
    assert llmops_data(client.get("/api-tools"))["paginator"]["total_record"] == 1
    mine = llmops_data(client.get("/api-tools"))["list"][0]["id"]
    for resp in (other_client.get(f"/api-tools/{mine}"), other_client.post(f"/api-tools/{mine}/delete"),
                 other_client.post(f"/api-tools/{mine}", json=good),
                 other_client.get(f"/api-tools/{mine}/tools/YoudaoSuggest")):
        assert llmops_error(resp, "not_found") == f"API tool provider '{mine}' not found"
    assert llmops_data(other_client.get("/api-tools"))["list"] == []


def test_api_tools_are_the_tools_page_providers_and_agents_can_use_them(client, svc):
    provider = create(client, "Weather", WEATHER)
    (listed,) = svc.tools.list_providers("default", kind="api").items  # what the Tools page lists
    assert listed.id == provider and listed.name == "Weather"
    app = llmops_data(client.post("/apps", json={"name": "Forecaster"}))["id"]
    by_id = llmops_data(client.get("/api-tools"))["list"][0]["tools"][0]["id"]
    llmops_data(client.put(f"/apps/{app}/config", json={"tools": [
        {"type": "api_tool", "provider_id": provider, "tool_id": by_id, "params": {}}]}))  # our tool id works too
    agent = svc.assistants.get("default", app)
    assert agent.tools == [{"type": "api", "provider": provider, "tool": "GetCurrentWeather", "params": {}}]
    assert llmops_data(client.get(f"/apps/{app}"))["drafted_app_config"]["tools"][0]["tool"]["id"] == by_id
