"""One knowledge base, two dialects: what RAGFlow's API creates, WeKnora's API shows with the same content,
and the other way round (same tenant, same key)."""

from __future__ import annotations

from tests.helpers import weknora_data as data

TEXT = (b"The travel policy says employees book trains for trips under four hours.\n\n"
        b"Hotel costs above two hundred euros per night need approval from the budget office.\n\n"
        b"Lunch receipts are kept for seven years by the finance archive.\n")


def ragflow(res) -> object:
    body = res.json()
    assert body["code"] == 0, body
    return body.get("data")


def ragflow_chunks(client, kb: str, doc: str) -> list[str]:
    return [c["content"] for c in ragflow(client.get(f"/api/v1/datasets/{kb}/documents/{doc}/chunks",
                                                     params={"page_size": 100}))["chunks"]]


def weknora_chunks(weknora, doc: str) -> list[str]:
    return [c["content"] for c in data(weknora.get(f"/api/v1/chunks/{doc}", params={"page_size": 100}))]


def test_a_ragflow_dataset_is_a_weknora_knowledge_base(client, weknora, svc):
    ds = ragflow(client.post("/api/v1/datasets", json={"name": "travel", "parser_config": {"chunk_token_num": 24}}))
    (doc,) = ragflow(client.post(f"/api/v1/datasets/{ds['id']}/documents",
                                 files=[("file", ("policy.txt", TEXT, "text/plain"))]))
    assert client.post(f"/api/v1/datasets/{ds['id']}/chunks", json={"document_ids": [doc["id"]]}).json()["code"] == 0
    assert svc.workers.drain(timeout=120)

    kb = data(weknora.get(f"/api/v1/knowledge-bases/{ds['id']}"))
    assert (kb["name"], kb["knowledge_count"], kb["chunking_config"]["chunk_size"]) == ("travel", 1, 24)
    (knowledge,) = data(weknora.get(f"/api/v1/knowledge-bases/{ds['id']}/knowledge"))
    assert (knowledge["id"], knowledge["title"], knowledge["parse_status"]) == (doc["id"], "policy.txt", "completed")
    assert weknora_chunks(weknora, doc["id"]) == ragflow_chunks(client, ds["id"], doc["id"])
    assert len(weknora_chunks(weknora, doc["id"])) >= 2
    assert weknora.get(f"/api/v1/knowledge/{doc['id']}/download").content == TEXT
    hits = data(weknora.get(f"/api/v1/knowledge-bases/{ds['id']}/hybrid-search", params={"query": "hotel approval"}))
    retrieved = ragflow(client.post("/api/v1/retrieval",
                                    json={"dataset_ids": [ds["id"]], "question": "hotel approval"}))
    assert hits[0]["id"] == retrieved["chunks"][0]["id"] and "Hotel" in hits[0]["content"]


def test_a_weknora_knowledge_base_is_a_ragflow_dataset(client, weknora, svc):
    kb = data(weknora.post("/api/v1/knowledge-bases", json={"name": "travel_wk", "config": {"chunk_size": 24,
                                                                                             "chunk_overlap": 0}}), 201)
    doc = data(weknora.post(f"/api/v1/knowledge-bases/{kb['id']}/knowledge/file",
                            files={"file": ("policy.txt", TEXT)}))
    assert svc.workers.drain(timeout=120)

    (ds,) = ragflow(client.get("/api/v1/datasets", params={"id": kb["id"]}))
    assert (ds["name"], ds["document_count"]) == ("travel_wk", 1)
    listed = ragflow(client.get(f"/api/v1/datasets/{kb['id']}/documents"))
    assert [(d["id"], d["name"], d["run"]) for d in listed["docs"]] == [(doc["id"], "policy.txt", "DONE")]
    assert ragflow_chunks(client, kb["id"], doc["id"]) == weknora_chunks(weknora, doc["id"])
    assert len(weknora_chunks(weknora, doc["id"])) >= 2
    assert client.get(f"/api/v1/datasets/{kb['id']}/documents/{doc['id']}").content == TEXT

    # an edit in one dialect is the other's too
    chunk = data(weknora.get(f"/api/v1/chunks/{doc['id']}"))[0]
    data(weknora.put(f"/api/v1/chunks/{doc['id']}/{chunk['id']}", json={"content": "Trains are booked by HR."}))
    assert ragflow_chunks(client, kb["id"], doc["id"])[0] == "Trains are booked by HR."
