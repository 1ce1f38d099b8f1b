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
    assert d["chunk_method"] == "naive" and d["parser_config"]["chunk_token_num"] == 512  # the dataset's
    assert d["location"] == "policy.txt" and d["type"] == "doc" and d["progress"] == 0.0
    assert svc.documents.get(DEFAULT_TENANT_ID, d["id"]).task is None  # not queued
    assert listed(client, dataset)["total"] == 2


def test_upload_errors(client, svc, dataset, other_client):
    url = f"/api/v1/datasets/{dataset}/documents"
    assert client.post(url).json() == {"code": 101, "message": "No file part!"}
    exe = client.post(url, files=[("file", ("photo.exe", b"MZ\x90\x00binary", "application/octet-stream"))]).json()
    assert exe == {"code": 500, "message": "photo.exe: This type of file has not been supported yet!"}
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


def test_uploads_of_a_taken_name_are_numbered(client, dataset):
    names = [d["name"] for d in upload(client, dataset, ("a.txt", b"one"), ("a.txt", b"two"))]
    assert names == ["a.txt", "a(1).txt"]
    assert [d["name"] for d in upload(client, dataset, ("a.txt", b"three"))] == ["a(2).txt"]


def test_uploads_are_taken_by_extension(client, dataset):
    docs = upload(client, dataset, ("slides.pptx", b"PK\x03\x04"), ("photo.png", b"\x89PNG"), ("mail.eml", b"From: a"))
    assert [d["run"] for d in docs] == ["UNSTART"] * 3  # stored; parsing reports what it cannot read


def test_update_document(client, svc, dataset):
    (doc,) = upload(client, dataset, ("policy.txt", TEXT))
    url = f"/api/v1/datasets/{dataset}/documents/{doc['id']}"
    res = client.put(url, json={"name": "manual.txt", "chunk_method": "manual",
                                "parser_config": {"chunk_token_num": 128}, "meta_fields": {"team": "hr"}}).json()
    assert res["code"] == 0 and res["data"]["name"] == "manual.txt" and res["data"]["chunk_method"] == "manual"
    stored = svc.documents.get(DEFAULT_TENANT_ID, doc["id"])
    assert stored.name == "manual.txt" and stored.chunk_config.method == "markdown" and stored.meta == {"team": "hr"}
    assert stored.chunk_config.chunk_size == 128
    assert client.put(url, json={"name": "manual.pdf"}).json() == {
        "code": 101, "message": "The extension of file can't be changed"}
    assert client.put(url, json={"name": ""}).json()["message"] == "The extension of file can't be changed"
    upload(client, dataset, ("other.txt", b"other text"))
    assert client.put(url, json={"name": "other.txt"}).json() == {
        "code": 102, "message": "Duplicated document name in the same dataset."}
    assert client.put(url, json={"chunk_method": "nope"}).json() == {
        "code": 102, "message": "`chunk_method` nope doesn't exist"}
    assert client.put(url, json={"meta_fields": "x"}).json() == {"code": 102, "message": "meta_fields must be a "
                                                                                          "dictionary"}
    assert client.put(url, json={"chunk_count": 5}).json() == {"code": 102, "message": "Can't change `chunk_count`."}
    assert client.put(f"/api/v1/datasets/{dataset}/documents/missing", json={"name": "x.txt"}).json() == {
        "code": 102, "message": "The dataset doesn't own the document."}
    assert svc.documents.get(DEFAULT_TENANT_ID, doc["id"]).name == "manual.txt"


def test_document_settings_read_back_as_written(client, svc, dataset):
    (doc,) = upload(client, dataset, ("policy.txt", TEXT))
    url = f"/api/v1/datasets/{dataset}/documents/{doc['id']}"
    written = {"layout_recognize": "Naive", "delimiter": "`##`", "raptor": {"use_raptor": False}, "custom": [1, 2]}
    assert client.put(url, json={"chunk_method": "naive", "parser_config": written}).json()["code"] == 0
    (d,) = listed(client, dataset, id=doc["id"])["docs"]
    assert all(d["parser_config"][k] == v for k, v in written.items())  # merged into the document's settings
    assert d["parser_config"]["chunk_token_num"] == 512 and d["chunk_method"] == "naive"
    assert svc.documents.get(DEFAULT_TENANT_ID, doc["id"]).chunk_config.separators == ["\\#\\#"]
    assert client.put(url, json={"chunk_method": "naive", "parser_config": {}}).json()["code"] == 0
    (d,) = listed(client, dataset, id=doc["id"])["docs"]
    assert d["parser_config"]["layout_recognize"] == "DeepDOC"  # {}: the method's defaults
    assert client.put(url, json={"chunk_method": "qa"}).json()["data"]["parser_config"] == {
        "raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}}


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
    assert [d["name"] for d in listed(client, dataset, page=0, page_size=1)["docs"]] == ["alphabet.txt"]  # 0 = 1
    assert listed(client, dataset, page_size=0) == {"docs": [], "total": 3}
    first = listed(client, dataset)["docs"][0]
    assert listed(client, dataset, id=first["id"], name="beta.txt") == {"docs": [], "total": 0}


def test_delete_documents(client, svc, dataset):
    a, b, c = upload(client, dataset, ("a.txt", b"aaa"), ("b.txt", b"bbb"), ("c.txt", b"ccc"))
    url = f"/api/v1/datasets/{dataset}/documents"
    assert client.request("DELETE", url, json={"ids": [a["id"]]}).json() == {"code": 0}
    assert listed(client, dataset)["total"] == 2
    other = client.post("/api/v1/datasets", json={"name": "other_kb"}).json()["data"]["id"]
    # A document of another dataset cannot be deleted through this one.
    assert client.request("DELETE", f"/api/v1/datasets/{other}/documents", json={"ids": [b["id"]]}
                          ).json() == {"code": 102, "message": f"Documents not found: {[b['id']]}"}
    # Partly invalid: the valid ones are deleted, the others reported.
    assert client.request("DELETE", url, json={"ids": [b["id"], "missing"]}).json() == {
        "code": 102, "message": "Documents not found: ['missing']"}
    assert [d["name"] for d in listed(client, dataset)["docs"]] == ["c.txt"]
    twice = client.request("DELETE", url, json={"ids": [c["id"], c["id"]]}).json()
    assert twice == {"code": 0, "message": "Partially deleted 1 datasets with 1 errors",
                     "data": {"success_count": 1, "errors": [f"Duplicate document ids: {c['id']}"]}}
    upload(client, dataset, ("d.txt", b"ddd"), ("e.txt", b"eee"))
    assert client.request("DELETE", url, json={"ids": []}).json() == {"code": 0}  # empty: all
    assert listed(client, dataset)["total"] == 0


def test_parse_partly_invalid_ids(client, svc, dataset):
    a, b = upload(client, dataset, ("a.txt", TEXT), ("b.txt", TEXT))
    url = f"/api/v1/datasets/{dataset}/chunks"
    res = client.post(url, json={"document_ids": [a["id"], "missing"]}).json()
    assert res == {"code": 102, "message": "Documents not found: ['missing']"}
    assert svc.documents.get(DEFAULT_TENANT_ID, a["id"]).task is not None  # queued all the same
    assert svc.workers.drain(timeout=120)
    twice = client.post(url, json={"document_ids": [b["id"], b["id"]]}).json()
    assert twice["code"] == 0 and twice["data"] == {"success_count": 1,
                                                    "errors": [f"Duplicate document ids: {b['id']}"]}
