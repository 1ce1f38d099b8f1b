"""LLMOps datasets (4.1-4.7) against the spec's examples, with the side effects checked by follow-up calls."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.helpers import llmops_data, llmops_dataset, llmops_error

ICON = "https://cdn.example.com/dataset.png"
LIST_ITEM = {"id", "name", "description", "icon", "document_count", "character_count", "related_app_count",
             "created_at", "updated_at"}
DETAIL = {"id", "name", "icon", "description", "document_count", "character_count", "hit_count",
          "related_app_count", "updated_at", "created_at"}
PAGINATOR = {"current_page", "page_size", "total_page", "total_record"}
HIT = {"id", "document", "dataset_id", "score", "position", "content", "keywords", "character_count", "token_count",
       "hit_count", "enabled", "disabled_at", "status", "error", "created_at", "updated_at"}
POLICY = (b"# Leave policy\n\nEvery employee receives twenty-seven days of paid vacation per year.\n\n"
          b"# Expenses\n\nExpense claims are filed within thirty days with the original receipt.\n")


def create(client: TestClient, name: str, **extra) -> str:
    return llmops_data(client.post("/datasets", json={"name": name, "icon": ICON, **extra}))["id"]


def test_create_get_update_and_delete(client, svc):
    before = int(time.time())
    resp = client.post("/datasets", json={"name": "慕课LLMOps知识库", "icon": ICON, "description": "JavaScript 是一种..."})
    assert resp.json()["message"] == "创建知识库成功"
    dataset = llmops_data(resp)["id"]
    got = llmops_data(client.get(f"/datasets/{dataset}"))
    assert DETAIL <= set(got)
    assert (got["name"], got["icon"], got["description"]) == ("慕课LLMOps知识库", ICON, "JavaScript 是一种...")
    assert got["document_count"] == got["character_count"] == got["hit_count"] == got["related_app_count"] == 0
    assert before <= got["created_at"] <= time.time() + 1 and isinstance(got["updated_at"], int)
    assert svc.knowledge.get("default", dataset).name == "慕课LLMOps知识库"  # the same knowledge base

    resp = client.post(f"/datasets/{dataset}", json={"name": "Renamed", "icon": "https://cdn.example.com/b.png"})
    assert resp.json()["message"] == "更新知识库成功"
    got = llmops_data(client.get(f"/datasets/{dataset}"))
    assert (got["name"], got["icon"]) == ("Renamed", "https://cdn.example.com/b.png")
    assert got["description"] == "Useful for when you want to answer queries about the Renamed"  # never empty

    assert client.post(f"/datasets/{dataset}/delete").json() == {"code": "success", "message": "删除知识库成功",
                                                                 "data": {}}
    assert "not found" in llmops_error(client.get(f"/datasets/{dataset}"), "not_found")


def test_list_pages_and_searches(client):
    for i in range(5):
        create(client, f"Team {i} docs")
    create(client, "Other")
    page = llmops_data(client.get("/datasets", params={"search_word": "team", "current_page": 2, "page_size": 2}))
    assert set(page) == {"list", "paginator"} and set(page["paginator"]) == PAGINATOR
    assert page["paginator"] == {"current_page": 2, "page_size": 2, "total_page": 3, "total_record": 5}
    assert len(page["list"]) == 2 and all(LIST_ITEM <= set(d) for d in page["list"])
    everything = llmops_data(client.get("/datasets"))
    assert everything["paginator"]["total_record"] == 6 and everything["paginator"]["page_size"] == 20
    assert everything["list"][0]["name"] == "Other"  # newest first


def test_bad_input_is_a_validate_error_naming_the_field_and_changes_nothing(client):
    create(client, "Taken")
    for body, field in (({"icon": ICON}, "name"), ({"name": "", "icon": ICON}, "name"),
                        ({"name": "x" * 101, "icon": ICON}, "name"), ({"name": "n"}, "icon"),
                        ({"name": "n", "icon": "javascript:alert(1)"}, "icon"),
                        ({"name": "n", "icon": ICON, "description": "d" * 2001}, "description"),
                        ({"name": "taken", "icon": ICON}, "name")):
        resp = client.post("/datasets", json=body)
        assert llmops_error(resp, "validate_error").startswith(f"{field}:"), body
        assert field in resp.json()["data"] or "already exists" in resp.json()["message"]
    for params in ({"page_size": 51}, {"current_page": 0}, {"page_size": "many"}):
        assert "page" in llmops_error(client.get("/datasets", params=params), "validate_error")
    assert llmops_error(client.post("/datasets", content=b"{not json", headers={"Content-Type": "application/json"}),
                        "validate_error")
    assert llmops_data(client.get("/datasets"))["paginator"]["total_record"] == 1


def test_auth_and_ownership_errors_are_in_the_llmops_envelope(client, other_client, api_app):
    dataset = create(client, "Mine")
    anonymous = TestClient(api_app)
    assert "Authorization" in llmops_error(anonymous.get("/datasets"), "unauthorized")
    assert llmops_error(anonymous.get("/datasets", headers={"Authorization": "Token abc"}), "unauthorized")
    assert "invalid" in llmops_error(anonymous.get("/datasets", headers={"Authorization": "Bearer nope"}),
                                     "unauthorized")
    for call in (lambda c: c.get(f"/datasets/{dataset}"), lambda c: c.post(f"/datasets/{dataset}/delete"),
                 lambda c: c.post(f"/datasets/{dataset}", json={"name": "stolen", "icon": ICON}),
                 lambda c: c.get(f"/datasets/{dataset}/queries"),
                 lambda c: c.post(f"/datasets/{dataset}/hit", json={"query": "q", "retrieval_strategy": "hybrid",
                                                                    "k": 3, "score": 0})):
        assert f"Dataset '{dataset}' not found" == llmops_error(call(other_client), "not_found")
    assert llmops_data(other_client.get("/datasets"))["list"] == []
    assert llmops_data(client.get(f"/datasets/{dataset}"))["name"] == "Mine"


def test_hit_test_in_every_strategy_and_the_recent_queries(client, svc):
    dataset, _, (doc,) = llmops_dataset(client, svc, [("policy.md", POLICY)])
    for strategy in ("semantic", "full_text", "hybrid"):
        hits = llmops_data(client.post(f"/datasets/{dataset}/hit", json={
            "query": "paid vacation days", "retrieval_strategy": strategy, "k": 2, "score": 0.1}))
        assert hits and len(hits) <= 2 and "vacation" in hits[0]["content"], strategy
        assert HIT <= set(hits[0]) and 0.1 <= hits[0]["score"] <= 1
        assert hits[0]["document"] == {"id": doc, "name": "policy.md", "extension": "md",
                                       "mime_type": "text/markdown"}
        assert hits[0]["dataset_id"] == dataset and hits[0]["status"] == "completed" and hits[0]["enabled"]
    assert llmops_data(client.post(f"/datasets/{dataset}/hit", json={
        "query": "paid vacation days", "retrieval_strategy": "semantic", "k": 10, "score": 0.99})) == []
    queries = llmops_data(client.get(f"/datasets/{dataset}/queries"))
    assert [q["query"] for q in queries] == ["paid vacation days"] * 4
    assert set(queries[0]) == {"id", "dataset_id", "query", "source", "created_at"}
    assert queries[0]["source"] == "hit_testing" and queries[0]["dataset_id"] == dataset
    for i in range(12):
        client.post(f"/datasets/{dataset}/hit", json={"query": f"q{i}", "retrieval_strategy": "full_text", "k": 1,
                                                      "score": 0})
    assert [q["query"] for q in llmops_data(client.get(f"/datasets/{dataset}/queries"))][:2] == ["q11", "q10"]
    assert len(llmops_data(client.get(f"/datasets/{dataset}/queries"))) == 10
    svc.retrieval.flush()
    got = llmops_data(client.get(f"/datasets/{dataset}"))
    assert got["hit_count"] == 3 and got["document_count"] == 1 and got["character_count"] > 100


def test_hit_rejects_what_the_spec_does_not_allow(client):
    dataset = create(client, "kb")
    good = {"query": "q", "retrieval_strategy": "hybrid", "k": 3, "score": 0.5}
    for change, field in (({"query": ""}, "query"), ({"query": "x" * 201}, "query"),
                          ({"retrieval_strategy": "fuzzy"}, "retrieval_strategy"), ({"k": 11}, "k"), ({"k": 0}, "k"),
                          ({"score": 1.5}, "score"), ({"score": None}, "score")):
        message = llmops_error(client.post(f"/datasets/{dataset}/hit", json={**good, **change}), "validate_error")
        assert message.startswith(field), change
    assert llmops_data(client.get(f"/datasets/{dataset}/queries")) == []


def test_unknown_paths_under_llmops_prefixes_answer_in_its_envelope(client):
    assert "No such endpoint" in llmops_error(client.get("/datasets/x/y/z/w/v/u/t"), "not_found")
    assert "not allowed" in llmops_error(client.delete("/datasets/x"), "fail")
    assert "not allowed" in llmops_error(client.put("/apps"), "fail")
    assert client.get("/api/v1/no-such-thing").json()["code"] != "not_found"  # RAGFlow's, by the credential
