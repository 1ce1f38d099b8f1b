"""Nexent models over the registry, addressed by model_name: create, update, delete, list, healthcheck, connect
status, verify_config; /api/me/* against an upstream OpenAI-compatible server (tests/mock_llm.py), and its clear
error when none is configured."""

from __future__ import annotations

import pytest

from tests.mock_llm import MockOpenAIServer, Reply


def body(res, status: int = 200) -> dict:
    assert res.status_code == status, res.text
    got = res.json()
    assert got["code"] == status and got["message"], got
    return got


def test_create_list_update_and_delete(client, mock_llm, svc, tenant):
    made = body(client.post("/api/model/create", json={
        "model_name": "Qwen/qwen-max", "model_type": "llm", "base_url": mock_llm.base_url, "api_key": "sk-abcdef123456",
        "max_tokens": 4096, "display_name": "Qwen"}))
    assert made["data"] is None and "Qwen/qwen-max" in made["message"]
    [m] = body(client.get("/api/model/list"))["data"]
    assert (m["model_name"], m["model_repo"], m["display_name"], m["model_type"], m["max_tokens"]) == \
        ("Qwen/qwen-max", "Qwen", "Qwen", "llm", 4096)
    assert m["connect_status"] == "未检测" and m["api_key"] == "sk-…3456" and m["model_factory"] == "openai"
    assert svc.models.default(tenant, "llm") is None  # saved, not made the default silently (issue 14, point 2)

    updated = body(client.post("/api/model/update", json={"model_name": "Qwen/qwen-max", "model_type": "llm",
                                                          "display_name": "Qwen Max", "api_key": "sk-…3456",
                                                          "max_tokens": 8192}))
    assert updated["data"] == {"model_name": "Qwen/qwen-max"}
    saved = svc.models.get_by_name(tenant, "Qwen Max")
    assert saved.params["max_tokens"] == 8192 and saved.api_key_masked == "sk-…3456"  # the masked key kept the key
    assert saved.base_url == mock_llm.base_url  # an empty base_url keeps the stored one

    assert body(client.post("/api/model/delete", json={"model_name": "Qwen Max"}))["data"] == \
        {"model_name": "Qwen Max"}
    assert body(client.get("/api/model/list"))["data"] == []


def test_health_connect_status_and_verify(client, mock_llm):
    client.post("/api/model/create", json={"model_name": "mock-model", "model_type": "llm",
                                           "base_url": mock_llm.base_url})
    health = body(client.get("/api/model/healthcheck", params={"model_name": "mock-model"}))["data"]
    assert health["connectivity"] is True and health["connect_status"] == "可用" and health["status"] == "Connected"
    assert body(client.get("/api/model/get_connect_status", params={"model_name": "mock-model"}))["data"] == \
        {"model_name": "mock-model", "connect_status": "可用"}
    for sent, shown in (("检测中", "检测中"), ("UNAVAILABLE", "不可用")):
        changed = body(client.post("/api/model/update_connect_status",
                                   json={"model_name": "mock-model", "connect_status": sent}))["data"]
        assert changed == {"model_name": "mock-model", "connect_status": shown}
        assert body(client.get("/api/model/get_connect_status", params={"model_name": "mock-model"}))["data"][
            "connect_status"] == shown
    # model_name in a JSON body works as well as in the query string
    assert body(client.request("GET", "/api/model/get_connect_status", json={"model_name": "mock-model"}))["data"]

    mock_llm.script([Reply(status=401, error_message="bad key")])
    failed = body(client.get("/api/model/healthcheck", params={"model_name": "mock-model"}))["data"]
    assert failed["connectivity"] is False and failed["connect_status"] == "不可用"

    verified = body(client.post("/api/model/verify_config", json={
        "model_name": "mock-model", "model_type": "llm", "base_url": mock_llm.base_url}))
    assert verified["data"]["connectivity"] is True and "succeeded" in verified["message"]
    unreachable = body(client.post("/api/model/verify_config", json={
        "model_name": "x", "model_type": "llm", "base_url": "http://127.0.0.1:9/v1"}))
    assert unreachable["data"]["connectivity"] is False and unreachable["data"]["connect_status"] == "不可用"
    assert len(body(client.get("/api/model/list"))["data"]) == 1  # verifying saved nothing


def test_bad_input(client, other_client, mock_llm):
    client.post("/api/model/create", json={"model_name": "mine", "model_type": "llm", "base_url": mock_llm.base_url})
    cases = [
        ("post", "/api/model/create", {"model_name": "m", "model_type": "painter"}, 400),
        ("post", "/api/model/create", {"model_name": "mine", "model_type": "llm", "base_url": mock_llm.base_url}, 409),
        ("post", "/api/model/create", {"model_type": "llm"}, 422),
        ("post", "/api/model/create", {"model_name": "m", "model_type": "llm", "model_factory": "acme"}, 400),
        ("post", "/api/model/update", {"model_name": "nope", "model_type": "llm"}, 404),
        ("post", "/api/model/update", {"model_name": "mine", "model_type": "embedding"}, 400),
        ("post", "/api/model/delete", {"model_name": "nope"}, 404),
        ("post", "/api/model/delete", {}, 400),
        ("get", "/api/model/healthcheck", None, 400),
        ("post", "/api/model/update_connect_status", {"model_name": "mine", "connect_status": "great"}, 400),
        ("post", "/api/model/verify_config", {"model_name": "m", "model_type": "llm", "base_url": "ftp://x"}, 400),
    ]
    for method, path, sent, status in cases:
        res = client.request(method.upper(), path, json=sent)
        assert res.status_code == status, (path, sent, res.text)
        got = res.json()
        assert ("detail" in got) if status == 422 else (got["code"] == status and got["message"]), got
    assert [m["model_name"] for m in client.get("/api/model/list").json()["data"]] == ["mine"]
    assert other_client.get("/api/model/list").json()["data"] == []
    assert other_client.post("/api/model/delete", json={"model_name": "mine"}).status_code == 404


@pytest.fixture
def upstream(svc):
    with MockOpenAIServer(api_key="me-key", models=["qwen-chat", "bge-m3-embedding", "gte-rerank"]) as server:
        svc.settings.model_engine_url = server.base_url
        svc.settings.model_engine_api_key = "me-key"
        yield server


def test_upstream_service_models(client, upstream):
    listed = body(client.get("/api/me/model/list"))["data"]
    assert [(m["id"], m["type"]) for m in listed] == [("qwen-chat", "chat"), ("bge-m3-embedding", "embed"),
                                                      ("gte-rerank", "rerank")]
    assert [m["id"] for m in body(client.get("/api/me/model/list", params={"type": "embed"}))["data"]] == \
        ["bge-m3-embedding"]
    assert body(client.get("/api/me/healthcheck"))["data"]["status"] == "Connected"
    checked = body(client.get("/api/me/model/healthcheck", params={"model_name": "qwen-chat"}))["data"]
    assert checked["connectivity"] is True and checked["connect_status"] == "可用"
    assert upstream.chat_requests[-1]["headers"]["Authorization"] == "Bearer me-key"
    assert client.get("/api/me/model/healthcheck", params={"model_name": "nope"}).status_code == 404
    assert client.get("/api/me/model/list", params={"type": "video"}).status_code == 400


def test_upstream_service_errors_are_clear(client, svc):
    for path in ("/api/me/model/list", "/api/me/healthcheck", "/api/me/model/healthcheck?model_name=x"):
        res = client.get(path)
        assert res.status_code == 503 and "ALMANAC_MODEL_ENGINE_URL" in res.json()["message"], path
    assert client.get("/api/me/healthcheck").json()["data"]["status"] == "Disconnected"
    svc.settings.model_engine_url = "http://127.0.0.1:9/v1"
    down = client.get("/api/me/healthcheck", params={"timeout": 1})
    assert down.status_code == 502 and down.json()["data"]["connect_status"] == "不可用"
