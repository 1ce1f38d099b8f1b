"""RAGFlow dialect: chunks of a document and /api/v1/retrieval."""

from __future__ import annotations

import pytest

from core.tenants import DEFAULT_TENANT_ID

TEXT = (b"The travel policy says employees book trains for trips under four hours.\n\n"
        b"Hotel costs above two hundred euros per night need approval from the budget office.\n\n"
        b"Lunch receipts are kept for seven years by the finance archive.\n")


@pytest.fixture
def parsed(client, svc) -> tuple[str, str]:
    """(dataset id, document id) of a parsed document."""
    kb = client.post("/api/v1/datasets", json={"name": "chunks_kb", "parser_config": {"chunk_token_num": 24}}
                     ).json()["data"]["id"]
    doc = client.post(f"/api/v1/datasets/{kb}/documents", files=[("file", ("policy.txt", TEXT, "text/plain"))]
                      ).json()["data"][0]["id"]
    assert client.post(f"/api/v1/datasets/{kb}/chunks", json={"document_ids": [doc]}).json() == {"code": 0}
    assert svc.workers.drain(timeout=120)
    return kb, doc


def chunks_url(kb: str, doc: str) -> str:
    return f"/api/v1/datasets/{kb}/documents/{doc}/chunks"


def list_chunks(client, kb, doc, **params) -> dict:
    res = client.get(chunks_url(kb, doc), params=params).json()
    assert res["code"] == 0, res
    return res["data"]


def retrieve(client, **body) -> dict:
    res = client.post("/api/v1/retrieval", json=body).json()
    assert res["code"] == 0, res
    return res["data"]


def test_list_chunks_with_doc(client, parsed):
    kb, doc = parsed
    data = list_chunks(client, kb, doc)
    assert data["total"] == len(data["chunks"]) >= 2
    c = data["chunks"][0]
    assert c["document_id"] == doc and c["dataset_id"] == kb and c["docnm_kwd"] == "policy.txt"
    assert c["available"] is True and isinstance(c["important_keywords"], list) and "travel" in c["content"]
    assert data["doc"]["id"] == doc and data["doc"]["run"] == "DONE" and data["doc"]["chunk_count"] == data["total"]
    assert list_chunks(client, kb, doc, keywords="Hotel")["total"] == 1
    assert list_chunks(client, kb, doc, page=2, page_size=1)["chunks"][0]["id"] == data["chunks"][1]["id"]
    assert list_chunks(client, kb, doc, id=c["id"])["chunks"][0]["id"] == c["id"]
    assert client.get(chunks_url(kb, doc), params={"id": "nope"}).json()["code"] == 102


def test_add_chunk_with_keywords_and_searchable_questions(client, svc, parsed):
    kb, doc = parsed
    res = client.post(chunks_url(kb, doc), json={"content": "Parking is free on weekends.",
                                                 "important_keywords": ["parking"],
                                                 "questions": ["Where can visitors leave a bicycle?"]}).json()
    assert res["code"] == 0, res
    chunk = res["data"]["chunk"]
    assert chunk["content"] == "Parking is free on weekends." and chunk["important_keywords"] == ["parking"]
    assert chunk["questions"] == ["Where can visitors leave a bicycle?"] and chunk["document_id"] == doc
    assert chunk["dataset_id"] == kb and chunk["create_time"] and chunk["create_timestamp"] > 0
    assert svc.chunks.get(DEFAULT_TENANT_ID, chunk["id"]).keywords == ["parking"]
    # The question makes the chunk findable by words it does not contain.
    found = retrieve(client, question="bicycle", dataset_ids=[kb], similarity_threshold=0.0)
    assert found["chunks"][0]["id"] == chunk["id"]
    assert client.post(chunks_url(kb, doc), json={}).json() == {"code": 102, "message": "`content` is required"}
    assert client.post(chunks_url(kb, doc), json={"content": "x", "important_keywords": "notalist"}).json() == {
        "code": 102, "message": "`important_keywords` is required to be a list"}
    verbatim = client.post(chunks_url(kb, doc), json={"content": "\n!?。；！？\"'", "important_keywords": ["", "a", "a"]}
                           ).json()["data"]["chunk"]
    assert verbatim["content"] == "\n!?。；！？\"'" and verbatim["important_keywords"] == ["", "a", "a"]  # as written


def test_update_chunk(client, svc, parsed):
    kb, doc = parsed
    cid = list_chunks(client, kb, doc)["chunks"][0]["id"]
    url = f"{chunks_url(kb, doc)}/{cid}"
    assert client.put(url, json={"content": "ragflow123", "important_keywords": ["kw"]}).json()["code"] == 0
    stored = svc.chunks.get(DEFAULT_TENANT_ID, cid)
    assert stored.content == "ragflow123" and stored.keywords == ["kw"]
    assert client.put(url, json={"available": False}).json()["code"] == 0
    assert svc.chunks.get(DEFAULT_TENANT_ID, cid).enabled is False
    assert list_chunks(client, kb, doc, id=cid)["chunks"][0]["available"] is False
    found = retrieve(client, question="ragflow123", dataset_ids=[kb], similarity_threshold=0.0)["chunks"]
    assert cid not in [c["id"] for c in found]  # a disabled chunk is never retrieved
    missing = client.put(f"{chunks_url(kb, doc)}/nope", json={"content": "x"}).json()
    assert missing == {"code": 102, "message": "Can't find this chunk nope"}
    wrong_doc = client.put(f"/api/v1/datasets/{kb}/documents/nope/chunks/{cid}", json={"content": "x"}).json()
    assert wrong_doc == {"code": 102, "message": "You don't own the document nope."}
    assert client.put(url, json={"content": "  "}).json()["code"] == 102
    assert svc.chunks.get(DEFAULT_TENANT_ID, cid).content == "ragflow123"


def test_delete_chunks(client, parsed):
    kb, doc = parsed
    ids = [c["id"] for c in list_chunks(client, kb, doc)["chunks"]]
    url = chunks_url(kb, doc)
    # Partly invalid: the valid ones are deleted, the count reported as RAGFlow reports it.
    assert client.request("DELETE", url, json={"chunk_ids": [ids[0], "nope"]}).json() == {
        "code": 102, "message": "rm_chunk deleted chunks 1, expect 2"}
    assert list_chunks(client, kb, doc)["total"] == len(ids) - 1
    twice = client.request("DELETE", url, json={"chunk_ids": [ids[1], ids[1]]}).json()
    assert twice == {"code": 0, "message": "Partially deleted 1 chunks with 1 errors",
                     "data": {"success_count": 1, "errors": [f"Duplicate chunk ids: {ids[1]}"]}}
    assert client.request("DELETE", url, json={"chunk_ids": []}).json() == {  # empty: all
        "code": 0, "message": f"deleted {len(ids) - 2} chunks"}
    data = list_chunks(client, kb, doc)
    assert data["total"] == 0 and data["doc"]["chunk_count"] == 0


def test_chunks_of_other_tenants_and_datasets_are_out_of_reach(client, other_client, parsed):
    kb, doc = parsed
    theirs = other_client.get(chunks_url(kb, doc)).json()
    assert theirs["code"] == 102 and "You don't own" in theirs["message"]
    other_kb = client.post("/api/v1/datasets", json={"name": "second"}).json()["data"]["id"]
    wrong = client.get(chunks_url(other_kb, doc)).json()
    assert wrong == {"code": 102, "message": f"You don't own the document {doc}."}
    assert other_client.post("/api/v1/retrieval", json={"question": "hotel", "dataset_ids": [kb]}).json()["code"] == 102


def test_retrieval_scores_highlight_aggs_and_paging(client, parsed):
    kb, doc = parsed
    data = retrieve(client, question="hotel approval", dataset_ids=[kb], highlight=True, similarity_threshold=0.0)
    top = data["chunks"][0]
    assert "Hotel" in top["content"] and "<em>Hotel</em>" in top["highlight"] and "<em>approval</em>" in top["highlight"]
    for field in ("similarity", "vector_similarity", "term_similarity"):
        assert 0.0 <= top[field] <= 1.0
    assert top["term_similarity"] == 1.0 and top["document_keyword"] == "policy.txt" and top["kb_id"] == kb
    assert data["doc_aggs"] == [{"doc_name": "policy.txt", "doc_id": doc, "count": data["total"]}]
    assert data["total"] >= 2
    sims = [c["similarity"] for c in data["chunks"]]
    assert sims == sorted(sims, reverse=True)
    page2 = retrieve(client, question="hotel approval", dataset_ids=[kb], similarity_threshold=0.0, page=2, page_size=1)
    assert page2["chunks"][0]["id"] == data["chunks"][1]["id"] and page2["total"] == data["total"]
    assert "highlight" not in page2["chunks"][0]
    by_doc = retrieve(client, question="hotel", dataset_ids=[kb], document_ids=[doc], similarity_threshold=0.0)
    assert by_doc["chunks"][0]["document_id"] == doc
    one = retrieve(client, question="hotel approval", dataset_ids=[kb], similarity_threshold=0.0, top_k=1)
    assert one["total"] == data["total"]  # top_k is a candidate pool; it never shortens a page
    assert retrieve(client, question="hotel", dataset_ids=[kb], page=0, page_size=1)["chunks"] == \
        retrieve(client, question="hotel", dataset_ids=[kb], page=1, page_size=1)["chunks"]
    strict = retrieve(client, question="hotel", dataset_ids=[kb], similarity_threshold=0.99)
    assert strict["total"] == 0 and strict["chunks"] == []


def test_retrieval_errors(client, parsed):
    kb, _ = parsed
    assert client.post("/api/v1/retrieval", json={"dataset_ids": [kb]}).json() == {
        "code": 102, "message": "`question` is required."}
    assert client.post("/api/v1/retrieval", json={"question": "x"}).json() == {
        "code": 102, "message": "`dataset_ids` is required."}
    assert client.post("/api/v1/retrieval", json={"question": "x", "document_ids": [kb]}).json() == {
        "code": 102, "message": "`dataset_ids` is required."}
    assert client.post("/api/v1/retrieval", json={"question": "x", "dataset_ids": [kb], "document_ids": ["nope"]}
                       ).json() == {"code": 102, "message": "The datasets don't own the document nope"}
    assert client.post("/api/v1/retrieval", json={"question": "x", "dataset_ids": [kb], "top_k": 0}).json() == {
        "code": 101, "message": "`top_k` must be greater than 0"}
    assert client.post("/api/v1/retrieval", json={"question": "x", "dataset_ids": ["nope"]}).json()["code"] == 102
    assert client.post("/api/v1/retrieval", json={"question": "x", "dataset_ids": [kb],
                                                  "vector_similarity_weight": "heavy"}).json()["code"] == 101
