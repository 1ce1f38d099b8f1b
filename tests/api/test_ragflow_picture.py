"""RAGFlow dialect: chunk_method "picture" turns an uploaded photo into its recognised text (OCR)."""

from __future__ import annotations

from tests.helpers import image_bytes, text_image


def test_picture_dataset_reads_photos_by_ocr(client, svc):
    kb = client.post("/api/v1/datasets", json={"name": "photos", "chunk_method": "picture"}).json()["data"]["id"]
    photo = image_bytes(text_image(["会议室预订请提前一天联系行政部。", "Parking permits are renewed every January."]),
                        "JPEG")
    doc = client.post(f"/api/v1/datasets/{kb}/documents", files=[("file", ("notice.jpg", photo, "image/jpeg"))]
                      ).json()["data"][0]["id"]
    assert client.post(f"/api/v1/datasets/{kb}/chunks", json={"document_ids": [doc]}).json() == {"code": 0}
    assert svc.workers.drain(timeout=120)

    data = client.get(f"/api/v1/datasets/{kb}/documents/{doc}/chunks").json()["data"]
    assert data["doc"]["run"] == "DONE" and data["doc"]["chunk_method"] == "picture" and data["doc"]["type"] == "visual"
    (chunk,) = data["chunks"]  # one chunk per picture, as in RAGFlow
    assert "行政部" in chunk["content"] and "Parking permits" in chunk["content"]
    found = client.post("/api/v1/retrieval", json={"question": "会议室预订", "dataset_ids": [kb]}).json()["data"]
    assert found["chunks"][0]["document_id"] == doc
