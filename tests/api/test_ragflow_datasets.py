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
    assert res.status_code == 200 and body["code"] == 101 and "name" in body["message"]
    assert set(body) == {"code", "message"}
    broken = client.post(BASE, content=b"{not json", headers={"Content-Type": "application/json"}).json()
    assert broken["code"] == 101 and "JSON" in broken["message"]
    assert client.get(BASE, params={"page": 0}).json()["code"] == 101
    assert client.get(BASE, params={"orderby": "name"}).json()["code"] == 101
    assert svc.knowledge.list(DEFAULT_TENANT_ID).total == 0


# ------------------------------------------------------------------ create
def test_create_dataset_returns_the_spec_fields(client, svc):
    data = create(client)
    for field in ("avatar", "chunk_count", "chunk_method", "create_date", "create_time", "created_by", "description",
                  "document_count", "embedding_model", "id", "language", "name", "parser_config", "permission",
                  "similarity_threshold", "status", "tenant_id", "token_num", "update_date", "update_time",
                  "vector_similarity_weight"):
        assert field in data, field
    assert data["chunk_method"] == "naive" and data["permission"] == "me" and data["language"] == "English"
    assert data["parser_config"]["chunk_token_num"] == 128 and data["parser_config"]["raptor"] == {"use_raptor": False}
    assert data["similarity_threshold"] == 0.2 and data["vector_similarity_weight"] == 0.3
    assert data["tenant_id"] == DEFAULT_TENANT_ID and data["create_date"].endswith(" GMT")
    assert isinstance(data["create_time"], int)
    kb = svc.knowledge.get(DEFAULT_TENANT_ID, data["id"])  # the side effect: a real knowledge base
    assert kb.name == "test_1" and kb.chunk_config.method == "general" and kb.chunk_config.chunk_size == 128


def test_chunk_methods_map_to_real_splitters(client, svc):
    expected = {"naive": "general", "manual": "markdown", "qa": "qa", "table": "table", "paper": "markdown",
                "book": "markdown", "laws": "markdown", "presentation": "general", "picture": "one", "one": "one",
                "knowledge_graph": "general", "email": "general"}
    for i, (method, splitter) in enumerate(expected.items()):
        data = create(client, name=f"kb_{i}", chunk_method=method)
        assert data["chunk_method"] == method
        assert svc.knowledge.get(DEFAULT_TENANT_ID, data["id"]).chunk_config.method == splitter
    assert create(client, name="kg", chunk_method="knowledge_graph")["parser_config"]["entity_types"]
    assert create(client, name="tbl", chunk_method="table")["parser_config"] == {}


def test_parser_config_is_validated_and_applied(client, svc):
    data = create(client, parser_config={"chunk_token_num": 256, "delimiter": "\n!?", "auto_keywords": 3})
    kb = svc.knowledge.get(DEFAULT_TENANT_ID, data["id"])
    assert kb.chunk_config.chunk_size == 256 and kb.chunk_config.keywords_per_chunk == 3
    (separator,) = kb.chunk_config.separators  # each delimiter character cuts
    assert all(re.fullmatch(separator, ch) for ch in "\n!?") and not re.fullmatch(separator, ".")
    bad = client.post(BASE, json={"name": "x1", "parser_config": {"chunk_token_num": 0}}).json()
    assert bad["code"] == 101 and "chunk_token_num" in bad["message"]
    extra = client.post(BASE, json={"name": "x2", "parser_config": {"colour": "red"}}).json()
    assert extra["code"] == 101 and "colour" in extra["message"]


@pytest.mark.parametrize("body", [{"name": "bad name"}, {"name": "1starts_with_digit"}, {"name": "  "},
                                  {"name": "ok", "chunk_method": "nope"}, {"name": "ok", "permission": "all"},
                                  {"name": "ok", "language": "Klingon"}, {"name": "ok", "unknown": 1}])
def test_create_rejects_bad_input_and_changes_nothing(client, svc, body):
    res = client.post(BASE, json=body).json()
    assert res["code"] == 101, res
    assert svc.knowledge.list(DEFAULT_TENANT_ID).total == 0


def test_names_are_unique_case_insensitively(client):
    create(client, name="Reports")
    res = client.post(BASE, json={"name": "REPORTS"}).json()
    assert res == {"code": 102, "message": "Duplicated knowledgebase name in creating dataset."}


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
    assert client.get(BASE, params={"id": "missing"}).json()["code"] == 102
    assert client.get(BASE, params={"name": "missing"}).json()["code"] == 102


# ------------------------------------------------------------------ update
def test_update_dataset(client, svc):
    data = create(client)
    res = client.put(f"{BASE}/{data['id']}", json={"name": "updated_dataset", "description": "d",
                                                    "chunk_method": "manual"}).json()
    assert res["code"] == 0 and res["data"]["name"] == "updated_dataset"
    kb = svc.knowledge.get(DEFAULT_TENANT_ID, data["id"])
    assert kb.name == "updated_dataset" and kb.description == "d" and kb.chunk_config.method == "markdown"
    listed = client.get(BASE, params={"id": data["id"]}).json()["data"][0]
    assert listed["chunk_method"] == "manual" and listed["parser_config"] == {"raptor": {"use_raptor": False}}
    res = client.put(f"{BASE}/{data['id']}", json={"parser_config": {"raptor": {"use_raptor": True}}}).json()
    assert res["data"]["parser_config"]["raptor"] == {"use_raptor": True} and res["data"]["chunk_method"] == "manual"


def test_update_errors(client, other_client):
    data = create(client)
    create(client, name="taken")
    url = f"{BASE}/{data['id']}"
    assert client.put(url, json={"tenant_id": "x"}).json() == {"code": 102, "message": "Can't change tenant_id."}
    assert client.put(url, json={"name": "TAKEN"}).json()["code"] == 102
    assert client.put(url, json={"chunk_method": "nope"}).json()["code"] == 101
    assert client.put(url, json={"embedding_model": "nosuchprovider:x"}).json()["code"] == 101
    theirs = other_client.put(url, json={"name": "mine"}).json()
    assert theirs == {"code": 102, "message": f"You don't own the dataset {data['id']}."}
    assert names(client, id=data["id"]) == ["test_1"]


# ------------------------------------------------------------------ delete and isolation
def test_delete_by_ids_and_all(client):
    a, b, c = (create(client, name=n)["id"] for n in ("d_a", "d_b", "d_c"))
    assert client.request("DELETE", BASE, json={"ids": [a]}).json() == {"code": 0}
    assert sorted(names(client)) == ["d_b", "d_c"]
    bad = client.request("DELETE", BASE, json={"ids": [b, "missing"]}).json()
    assert bad["code"] == 102 and "You don't own the dataset" in bad["message"]
    assert sorted(names(client)) == ["d_b", "d_c"]  # nothing deleted
    assert client.request("DELETE", BASE, json={"ids": [b, b]}).json()["code"] == 101
    assert client.request("DELETE", BASE, json={"ids": []}).json() == {"code": 0}
    assert sorted(names(client)) == ["d_b", "d_c"]
    assert client.request("DELETE", BASE).json() == {"code": 0}  # no ids: all of the caller's
    assert names(client) == []
    assert c


def test_tenants_are_isolated(client, other_client):
    mine = create(client)
    assert names(other_client) == []
    res = other_client.request("DELETE", BASE, json={"ids": [mine["id"]]}).json()
    assert res == {"code": 102, "message": f"You don't own the dataset {mine['id']}."}
    assert other_client.request("DELETE", BASE).json() == {"code": 0}  # deletes only the other tenant's
    assert names(client) == ["test_1"]
    create(other_client)  # the same name is free in another tenant
