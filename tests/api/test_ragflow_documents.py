"""RAGFlow dialect: documents of a dataset (upload, update, download, list, delete, parse, stop)."""

from __future__ import annotations

import pytest

from core.tenants import DEFAULT_TENANT_ID

TEXT = (b"Almanac keeps the travel policy. Employees book trains for trips under four hours.\n\n"
        b"The budget office approves hotel costs above two hundred euros per night.\n")


@pytest.fixture
def dataset(client) -> str:
    res = client.post("/api/v1/datasets", json={"name": "docs_kb"}).json()
    assert res["code"] == 0, res
    return res["data"]["id"]


def upload(client, dataset, *files: tuple[str, bytes]) -> list[dict]:
    res = client.post(f"/api/v1/datasets/{dataset}/documents",
                      files=[("file", (name, data, "text/plain")) for name, data in files]).json()
    assert res["code"] == 0, res
    return res["data"]


def listed(client, dataset, **params) -> dict:
    res = client.get(f"/api/v1/datasets/{dataset}/documents", params=params).json()
    assert res["code"] == 0, res
    return res["data"]


def parse(client, svc, dataset, ids) -> None:
    res = client.post(f"/api/v1/datasets/{dataset}/chunks", json={"document_ids": ids}).json()
    assert res == {"code": 0}, res
    assert svc.workers.drain(timeout=120)


def test_upload_stores_without_parsing(client, svc, dataset):
    docs = upload(client, dataset, ("policy.txt", TEXT), ("notes.md", b"# Notes\n\nShort note."))
    assert [d["name"] for d in docs] == ["policy.txt", "notes.md"]
    d = docs[0]
    assert d["run"] == "UNSTART" and d["size"] == len(TEXT) and d["dataset_id"] == dataset
    assert d["chunk_method"] == "naive" and d["parser_config"]["chunk_token_num"] == 128
    assert d["location"] == "policy.txt" and d["type"] == "doc" and d["progress"] == 0.0
    assert svc.documents.get(DEFAULT_TENANT_ID, d["id"]).task is None  # not queued
    assert listed(client, dataset)["total"] == 2


def test_upload_errors(client, svc, dataset, other_client):
    url = f"/api/v1/datasets/{dataset}/documents"
    assert client.post(url).json() == {"code": 101, "message": "No file part!"}
    assert client.post(url, files=[("file", ("photo.exe", b"MZ\x90\x00binary", "application/octet-stream"))]
                       ).json()["code"] == 101
    theirs = other_client.post(url, files=[("file", ("a.txt", b"hello", "text/plain"))]).json()
    assert theirs["code"] == 102 and "You don't own the dataset" in theirs["message"]
    assert svc.documents.list(DEFAULT_TENANT_ID, dataset).total == 0


def test_parse_reports_real_task_state_and_counts(client, svc, dataset):
    (doc,) = upload(client, dataset, ("policy.txt", TEXT))
    parse(client, svc, dataset, [doc["id"]])
    (d,) = listed(client, dataset, id=doc["id"])["docs"]
    assert d["run"] == "DONE" and d["progress"] == 1.0 and d["chunk_count"] >= 1 and d["token_count"] > 0
    assert d["process_begin_at"].endswith("GMT") and d["process_duration"] >= 0 and d["progress_msg"]
    kb = client.get("/api/v1/datasets", params={"id": dataset}).json()["data"][0]
    assert kb["document_count"] == 1 and kb["chunk_count"] == d["chunk_count"] and kb["token_num"] > 0


def test_parse_and_stop_errors(client, svc, dataset):
    (doc,) = upload(client, dataset, ("policy.txt", TEXT))
    url = f"/api/v1/datasets/{dataset}/chunks"
    assert client.post(url, json={}).json() == {"code": 102, "message": "`document_ids` is required"}
    assert client.request("DELETE", url, json={}).json() == {"code": 102, "message": "`document_ids` is required"}
    assert client.post(url, json={"document_ids": ["missing"]}).json()["code"] == 102
    # Not running: nothing to stop.
    assert client.request("DELETE", url, json={"document_ids": [doc["id"]]}).json()["code"] == 102
    assert client.post(url, json={"document_ids": [doc["id"]]}).json() == {"code": 0}
    (d,) = listed(client, dataset)["docs"]
    assert d["run"] == "RUNNING"  # queued; no worker in this test yet
    assert client.request("DELETE", url, json={"document_ids": [doc["id"]]}).json() == {"code": 0}
    (d,) = listed(client, dataset)["docs"]
    assert d["run"] == "CANCEL"
    assert svc.documents.get(DEFAULT_TENANT_ID, doc["id"]).task.state == "cancelled"


def test_failed_parse_shows_fail(client, svc, dataset):
    (doc,) = upload(client, dataset, ("empty.txt", b"   \n"))
    parse(client, svc, dataset, [doc["id"]])
    (d,) = listed(client, dataset)["docs"]
    assert d["run"] == "FAIL" and d["progress"] == -1.0 and d["progress_msg"]


def test_update_document(client, svc, dataset):
    (doc,) = upload(client, dataset, ("policy.txt", TEXT))
    url = f"/api/v1/datasets/{dataset}/documents/{doc['id']}"
    res = client.put(url, json={"name": "manual.txt", "chunk_method": "manual",
                                "parser_config": {"chunk_token_count": 128}, "meta_fields": {"team": "hr"}}).json()
    assert res["code"] == 0 and res["data"]["name"] == "manual.txt" and res["data"]["chunk_method"] == "manual"
    stored = svc.documents.get(DEFAULT_TENANT_ID, doc["id"])
    assert stored.name == "manual.txt" and stored.chunk_config.method == "markdown" and stored.meta == {"team": "hr"}
    assert client.put(url, json={"name": "manual.pdf"}).json() == {
        "code": 102, "message": "The extension of file can't be changed"}
    upload(client, dataset, ("other.txt", b"other text"))
    assert client.put(url, json={"name": "other.txt"}).json()["code"] == 102
    assert client.put(url, json={"chunk_method": "nope"}).json()["code"] == 101
    assert client.put(f"/api/v1/datasets/{dataset}/documents/missing", json={"name": "x.txt"}).json()["code"] == 102
    assert svc.documents.get(DEFAULT_TENANT_ID, doc["id"]).name == "manual.txt"


def test_download_returns_the_original_bytes(client, dataset, other_client):
    (doc,) = upload(client, dataset, ("policy.txt", TEXT))
    url = f"/api/v1/datasets/{dataset}/documents/{doc['id']}"
    res = client.get(url)
    assert res.status_code == 200 and res.content == TEXT and "policy.txt" in res.headers["content-disposition"]
    theirs = other_client.get(url).json()
    assert theirs["code"] == 102 and set(theirs) == {"code", "message"}


def test_list_filters_and_pages(client, dataset):
    upload(client, dataset, ("alpha.txt", b"a text"), ("beta.txt", b"b text"), ("alphabet.txt", b"c text"))
    assert [d["name"] for d in listed(client, dataset)["docs"]] == ["alphabet.txt", "beta.txt", "alpha.txt"]
    assert listed(client, dataset, keywords="ALPHA")["total"] == 2
    assert [d["name"] for d in listed(client, dataset, name="beta.txt")["docs"]] == ["beta.txt"]
    page = listed(client, dataset, page=2, page_size=2, desc="false")
    assert page["total"] == 3 and [d["name"] for d in page["docs"]] == ["alphabet.txt"]
    first = listed(client, dataset, desc="false")["docs"][0]
    assert listed(client, dataset, create_time_from=first["create_time"] + 10**9)["total"] == 0
    assert listed(client, dataset, create_time_to=first["create_time"])["total"] >= 1
    assert client.get(f"/api/v1/datasets/{dataset}/documents", params={"id": "nope"}).json()["code"] == 102
    assert client.get(f"/api/v1/datasets/{dataset}/documents", params={"orderby": "size"}).json()["code"] == 101


def test_delete_documents(client, svc, dataset):
    a, b, c = upload(client, dataset, ("a.txt", b"aaa"), ("b.txt", b"bbb"), ("c.txt", b"ccc"))
    url = f"/api/v1/datasets/{dataset}/documents"
    assert client.request("DELETE", url, json={"ids": [a["id"]]}).json() == {"code": 0}
    assert listed(client, dataset)["total"] == 2
    assert client.request("DELETE", url, json={"ids": [b["id"], "missing"]}).json()["code"] == 102
    assert listed(client, dataset)["total"] == 2  # nothing deleted
    other = client.post("/api/v1/datasets", json={"name": "other_kb"}).json()["data"]["id"]
    # A document of another dataset cannot be deleted through this one.
    assert client.request("DELETE", f"/api/v1/datasets/{other}/documents", json={"ids": [b["id"]]}
                          ).json()["code"] == 102
    assert client.request("DELETE", url).json() == {"code": 0}
    assert listed(client, dataset)["total"] == 0
    assert c
