"""LLMOps documents and segments (4.8-4.20): upload files become documents with a custom rule, batches report
real progress, and every edit shows in a hit test at once."""

from __future__ import annotations

import re

import pytest

from tests.helpers import swatch, llmops_data, llmops_dataset, llmops_error

GUIDE = (b"Returns are accepted within thirty days. See https://shop.example.com/returns or write to "
         b"help@shop.example.com.\n\nGift wrapping costs three euros per parcel.\n\nParcels ship from the Lyon warehouse every weekday.\n")
FAQ = b"# FAQ\n\nThe loyalty card gives one point per euro spent.\n"
RULE = {"pre_proces_rules": [{"id": "remove_extra_space", "enabled": True},  # the spec's own spelling
                             {"id": "remove_url_and_email", "enabled": True}],
        "segment": {"separators": ["\n\n"], "chunk_size": 16, "chunk_overlap": 0}}
DOCUMENT = {"id", "dataset_id", "name", "segment_count", "character_count", "hit_count", "position", "enabled",
            "disabled_at", "status", "error", "created_at", "updated_at"}
BATCH_ITEM = {"id", "name", "size", "extension", "mime_type", "position", "segment_count", "completed_segment_count",
              "error", "status", "processing_started_at", "parsing_completed_at", "splitting_completed_at",
              "completed_at", "stopped_at", "created_at"}
SEGMENT = {"id", "document_id", "dataset_id", "position", "content", "keywords", "character_count", "token_count",
           "hit_count", "hash", "enabled", "disabled_at", "status", "error", "created_at", "updated_at"}


def hit(client, dataset: str, query: str, strategy: str = "hybrid") -> list[str]:
    hits = llmops_data(client.post(f"/datasets/{dataset}/hit", json={
        "query": query, "retrieval_strategy": strategy, "k": 10, "score": 0.3}))
    return [h["content"] for h in hits]


@pytest.fixture
def guide(client, svc):
    """A dataset with GUIDE (custom rule) processed: (dataset, batch, document)."""
    dataset, batch, (doc,) = llmops_dataset(client, svc, [("guide.txt", GUIDE)], rule=RULE)
    return dataset, batch, doc


def test_upload_files_become_documents_whose_batch_reports_real_progress(client, svc):
    dataset = llmops_data(client.post("/datasets", json={"name": "shop", "icon": "https://e.com/i.png"}))["id"]
    ids = [llmops_data(client.post("/upload-files/file", files={"file": f}))["id"]
           for f in (("guide.txt", GUIDE), ("faq.md", FAQ))]
    resp = client.post(f"/datasets/{dataset}/documents", json={"upload_file_ids": ids, "process_type": "custom",
                                                               "rule": RULE})
    added = llmops_data(resp)
    assert re.fullmatch(r"20\d{12}[1-9]\d{5}", added["batch"])  # %Y%m%d%H%M%S + 100000-999999
    assert [(d["name"], d["status"]) for d in added["documents"]] == [("guide.txt", "waiting"), ("faq.md", "waiting")]
    assert set(added["documents"][0]) == {"id", "name", "status", "created_at"}

    waiting = llmops_data(client.get(f"/datasets/{dataset}/documents/batch/{added['batch']}"))
    assert all(BATCH_ITEM <= set(d) for d in waiting)
    assert [(d["status"], d["processing_started_at"], d["segment_count"]) for d in waiting] == [("waiting", 0, 0)] * 2

    assert svc.workers.drain(timeout=120)
    done = llmops_data(client.get(f"/datasets/{dataset}/documents/batch/{added['batch']}"))
    guide, faq = done
    assert (guide["name"], guide["extension"], guide["mime_type"], guide["size"]) == \
        ("guide.txt", "txt", "text/plain", len(GUIDE))
    assert (faq["position"], guide["position"]) == (2, 1)
    for d in done:
        assert d["status"] == "completed" and d["error"] == "" and d["stopped_at"] == 0
        assert d["segment_count"] == d["completed_segment_count"] >= 1
        assert 0 < d["processing_started_at"] <= d["parsing_completed_at"] <= d["splitting_completed_at"] \
            <= d["completed_at"]
    assert guide["segment_count"] == 3  # cut at each blank line

    segments = llmops_data(client.get(f"/datasets/{dataset}/documents/{guide['id']}/segments"))["list"]
    assert [s["position"] for s in segments] == [1, 2, 3]
    assert "https://" not in segments[0]["content"] and "@" not in segments[0]["content"]  # the rule's cleaning
    assert all(SEGMENT <= set(s) and s["status"] == "completed" and s["enabled"] for s in segments)
    assert svc.documents.get("default", guide["id"]).file_id == ids[0]  # the upload is the original


def test_adding_documents_checks_everything_first(client, other_client, svc):
    dataset = llmops_data(client.post("/datasets", json={"name": "d", "icon": "https://e.com/i.png"}))["id"]
    mine = llmops_data(client.post("/upload-files/file", files={"file": ("a.md", FAQ)}))["id"]
    theirs = llmops_data(other_client.post("/upload-files/file", files={"file": ("b.md", FAQ)}))["id"]
    image = llmops_data(client.post("/upload-files/image", files={"file": ("i.gif", swatch("GIF"))}))["id"]  # no reader
    url = f"/datasets/{dataset}/documents"
    for body, field in (({"upload_file_ids": [], "process_type": "automatic"}, "upload_file_ids"),
                        ({"upload_file_ids": [mine] * 11, "process_type": "automatic"}, "upload_file_ids"),
                        ({"upload_file_ids": [mine], "process_type": "manual"}, "process_type"),
                        ({"upload_file_ids": [mine], "process_type": "custom"}, "rule"),
                        ({"upload_file_ids": [mine], "process_type": "custom",
                          "rule": {"segment": {"separators": ["("], "chunk_size": 100, "chunk_overlap": 0}}},
                         "rule.segment.separators"),
                        ({"upload_file_ids": [mine], "process_type": "custom",
                          "rule": {"segment": {"separators": [], "chunk_size": 100, "chunk_overlap": 100}}},
                         "rule.segment"),
                        ({"upload_file_ids": [mine], "process_type": "custom",
                          "rule": {"pre_process_rules": [{"id": "shout", "enabled": True}],
                                   "segment": {"separators": [], "chunk_size": 100, "chunk_overlap": 0}}},
                         "rule.pre_process_rules"),
                        ({"upload_file_ids": [mine, image], "process_type": "automatic"}, "upload_file_ids")):
        assert llmops_error(client.post(url, json=body), "validate_error").startswith(field), body
    assert "Upload file" in llmops_error(client.post(url, json={"upload_file_ids": [mine, theirs],
                                                                "process_type": "automatic"}), "not_found")
    assert "Dataset" in llmops_error(other_client.post(url, json={"upload_file_ids": [theirs],
                                                                  "process_type": "automatic"}), "not_found")
    assert llmops_data(client.get(url))["paginator"]["total_record"] == 0
    assert "Batch" in llmops_error(client.get(f"{url}/batch/20260101000000123456"), "not_found")


def test_list_get_rename_enable_and_delete(client, other_client, svc, guide):
    dataset, _, doc = guide
    llmops_dataset(client, svc, [("faq.md", FAQ)], name="other kb")
    listed = llmops_data(client.get(f"/datasets/{dataset}/documents", params={"search_word": "GUI"}))
    assert [d["id"] for d in listed["list"]] == [doc] and listed["paginator"]["total_record"] == 1
    assert llmops_data(client.get(f"/datasets/{dataset}/documents", params={"search_word": "faq"}))["list"] == []
    got = llmops_data(client.get(f"/datasets/{dataset}/documents/{doc}"))
    assert DOCUMENT <= set(got) and (got["status"], got["enabled"], got["disabled_at"]) == ("completed", True, 0)
    assert got["segment_count"] == 3 and got["position"] == 1 and got["dataset_id"] == dataset

    resp = client.post(f"/datasets/{dataset}/documents/{doc}/name", json={"name": "基于工具调用的智能体设计与实现。md"})
    assert resp.json()["message"] == "更新文档名称成功"
    assert llmops_data(client.get(f"/datasets/{dataset}/documents/{doc}"))["name"] == "基于工具调用的智能体设计与实现。md"
    for name in ("", "x" * 101):
        assert llmops_error(client.post(f"/datasets/{dataset}/documents/{doc}/name", json={"name": name}),
                            "validate_error").startswith("name")

    assert any("Gift wrapping" in c for c in hit(client, dataset, "gift wrapping"))
    llmops_data(client.post(f"/datasets/{dataset}/documents/{doc}/enabled", json={"enabled": False}))
    got = llmops_data(client.get(f"/datasets/{dataset}/documents/{doc}"))
    assert got["enabled"] is False and got["disabled_at"] > 0
    for strategy in ("semantic", "full_text", "hybrid"):
        assert hit(client, dataset, "gift wrapping", strategy) == []  # a disabled document is not found
    llmops_data(client.post(f"/datasets/{dataset}/documents/{doc}/enabled", json={"enabled": True}))
    assert any("Gift wrapping" in c for c in hit(client, dataset, "gift wrapping"))
    assert llmops_data(client.get(f"/datasets/{dataset}/documents/{doc}"))["disabled_at"] == 0

    for c, url in ((other_client, f"/datasets/{dataset}/documents/{doc}"),):
        assert llmops_error(c.get(url), "not_found") and llmops_error(c.post(url + "/delete"), "not_found")
    resp = client.post(f"/datasets/{dataset}/documents/{doc}/delete")
    assert resp.json() == {"code": "success", "message": "删除文档成功", "data": {}}
    assert "Document" in llmops_error(client.get(f"/datasets/{dataset}/documents/{doc}"), "not_found")
    assert hit(client, dataset, "gift wrapping") == []


def test_a_document_still_processing_cannot_be_switched_or_given_segments(client, svc):
    dataset = llmops_data(client.post("/datasets", json={"name": "d", "icon": "https://e.com/i.png"}))["id"]
    file_id = llmops_data(client.post("/upload-files/file", files={"file": ("a.md", FAQ)}))["id"]
    (doc,) = llmops_data(client.post(f"/datasets/{dataset}/documents", json={
        "upload_file_ids": [file_id], "process_type": "automatic"}))["documents"]
    base = f"/datasets/{dataset}/documents/{doc['id']}"
    assert "finished processing" in llmops_error(client.post(base + "/enabled", json={"enabled": False}), "fail")
    assert "still being processed" in llmops_error(client.post(base + "/segments", json={"content": "x"}), "fail")
    assert svc.workers.drain(timeout=60)
    assert llmops_data(client.get(base))["status"] == "completed"


def test_segments_list_create_update_enable_delete_and_hit_at_once(client, other_client, guide):
    dataset, _, doc = guide
    base = f"/datasets/{dataset}/documents/{doc}/segments"
    page = llmops_data(client.get(base, params={"search_word": "gift", "page_size": 1}))
    assert page["paginator"]["total_record"] == 1 and "Gift wrapping" in page["list"][0]["content"]
    gift = page["list"][0]
    assert llmops_data(client.get(base, params={"current_page": 2, "page_size": 2}))["paginator"] == \
        {"current_page": 2, "page_size": 2, "total_page": 2, "total_record": 3}

    resp = client.post(base.removesuffix("s"), json={"content": "Store credit never expires.",
                                                     "keywords": ["credit", "expiry"]})
    assert resp.json()["message"] == "新增文档片段成功"
    added = llmops_data(client.get(f"{base}/{llmops_data(resp)['id']}"))
    assert (added["position"], added["keywords"], added["status"]) == (4, ["credit", "expiry"], "completed")
    assert added["hash"] and SEGMENT <= set(added)
    picked_id = llmops_data(client.post(base, json={"content": "Vouchers are mailed in December."}))["id"]
    picked = llmops_data(client.get(f"{base}/{picked_id}"))
    assert picked["position"] == 5 and "vouchers" in [k.lower() for k in picked["keywords"]]  # picked from content
    assert "Store credit never expires." in hit(client, dataset, "store credit", "full_text")

    resp = client.post(f"{base}/{gift['id']}", json={"content": "Gift wrapping is free for members.",
                                                      "keywords": ["gift", "members"]})
    assert resp.json()["message"] == "更新文档片段成功"
    assert "Gift wrapping is free for members." in hit(client, dataset, "gift wrapping members", "semantic")
    assert not any("three euros" in c for c in hit(client, dataset, "gift wrapping three euros"))
    edited = llmops_data(client.get(f"{base}/{gift['id']}"))
    assert edited["keywords"] == ["gift", "members"] and edited["hash"] != gift["hash"]
    llmops_data(client.post(f"{base}/{gift['id']}", json={"content": "Gift boxes are recycled."}))
    assert "boxes" in [k.lower() for k in llmops_data(client.get(f"{base}/{gift['id']}"))["keywords"]]

    llmops_data(client.post(f"{base}/{gift['id']}/enabled", json={"enabled": False}))
    disabled = llmops_data(client.get(f"{base}/{gift['id']}"))
    assert disabled["enabled"] is False and disabled["disabled_at"] > 0
    assert hit(client, dataset, "gift boxes recycled") == []
    llmops_data(client.post(f"{base}/{gift['id']}/enabled", json={"enabled": True}))
    assert "Gift boxes are recycled." in hit(client, dataset, "gift boxes recycled")

    assert llmops_error(other_client.get(f"{base}/{gift['id']}"), "not_found")
    resp = client.post(f"{base}/{gift['id']}/delete")
    assert resp.json()["message"] == "删除文档片段成功"
    assert "Segment" in llmops_error(client.get(f"{base}/{gift['id']}"), "not_found")
    assert hit(client, dataset, "gift boxes recycled") == []
    assert llmops_data(client.get(f"/datasets/{dataset}/documents/{doc}"))["segment_count"] == 4


def test_segment_input_and_parents_are_checked(client, svc, guide):
    dataset, _, doc = guide
    other_dataset, _, (other_doc,) = llmops_dataset(client, svc, [("faq.md", FAQ)], name="faq")
    base = f"/datasets/{dataset}/documents/{doc}/segments"
    segment = llmops_data(client.get(base))["list"][0]["id"]
    for body, field in (({"content": "  "}, "content"), ({}, "content"), ({"content": "word " * 1001}, "content"),
                        ({"content": "ok", "keywords": "one"}, "keywords"),
                        ({"content": "ok", "keywords": [""]}, "keywords.0")):
        assert llmops_error(client.post(base, json=body), "validate_error").startswith(field), body
        assert llmops_error(client.post(f"{base}/{segment}", json=body), "validate_error").startswith(field)
    assert "Document" in llmops_error(client.get(f"/datasets/{other_dataset}/documents/{doc}/segments"), "not_found")
    assert "Segment" in llmops_error(client.get(f"/datasets/{other_dataset}/documents/{other_doc}/segments/{segment}"),
                                     "not_found")
    assert llmops_error(client.post(f"{base}/{segment}/enabled", json={"enabled": "maybe"}), "validate_error")
    assert llmops_data(client.get(base))["paginator"]["total_record"] == 3
