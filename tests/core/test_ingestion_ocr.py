"""Scanned pages and photos through the real pipeline: OCR in Chinese and English, offline."""

import pytest

from core.errors import DocumentReadError
from core.ingestion.readers import ReadLimits, read_document
from tests.conftest import ingest
from tests.helpers import image_bytes, mixed_pdf, scanned_pdf, text_image

EN = ["The warranty covers water damage for 24 months.", "Claims go to the service desk in Building 7."]
ZH = ["退款申请须在七天内提交至财务部。", "发票遗失可以补开。"]


@pytest.fixture
def kb(svc, tenant):
    return svc.knowledge.create(tenant, "Scans", chunk_config={"chunk_size": 128, "chunk_overlap": 0})


def test_mixed_pdf_ocrs_only_its_scanned_pages_and_both_languages_are_searchable(svc, tenant, kb, monkeypatch):
    messages = []
    advance = svc.tasks.advance
    monkeypatch.setattr(svc.tasks, "advance", lambda task_id, **kw: (messages.append(kw), advance(task_id, **kw))[1])
    pdf = mixed_pdf(["Typed minutes of the quarterly budget review: travel spending is frozen until March.",
                     text_image(EN), text_image(ZH)])
    (doc,) = ingest(svc, tenant, kb.id, [("contract.pdf", pdf)])
    assert doc.status == "completed", doc.task.error

    chunks = svc.chunks.list(tenant, doc.id, page_size=50).items

    def ocr_pages(text: str) -> dict[int, float]:
        chunk = next(c for c in chunks if text in c.content)
        return {entry["page"]: entry["confidence"] for entry in chunk.meta.get("ocr", [])}

    assert 1 not in ocr_pages("budget review")  # the typed page kept its text layer
    assert ocr_pages("water damage")[2] > 0.8 and ocr_pages("七天内")[3] > 0.8

    hit = svc.retrieval.search(tenant, [kb.id], "warranty water damage", mode="full_text", top_k=1, threshold=0)[0]
    assert "water damage" in hit.content and any(e["page"] == 2 for e in hit.meta["ocr"])
    hit = svc.retrieval.search(tenant, [kb.id], "退款申请", mode="full_text", top_k=1, threshold=0)[0]
    assert "财务部" in hit.content and any(e["page"] == 3 for e in hit.meta["ocr"])

    ocr_steps = [m for m in messages if "OCR" in (m.get("message") or "")]
    assert [m["message"] for m in ocr_steps] == ["Recognising text (OCR) on page 2 (1/2 scanned pages)",
                                                "Recognising text (OCR) on page 3 (2/2 scanned pages)"]
    progress = [m["progress"] for m in messages if m.get("progress") is not None]
    assert progress == sorted(progress)  # never backwards, OCR included


def test_photo_of_a_notice_is_read(svc, tenant, kb):
    photo = text_image(ZH + EN[:1], mode="RGBA", background=(255, 255, 255, 0))  # transparent, like a screenshot
    (doc,) = ingest(svc, tenant, kb.id, [("notice.png", image_bytes(photo))])
    assert doc.status == "completed" and doc.kind == "image", doc.task.error
    (chunk,) = svc.chunks.list(tenant, doc.id).items
    assert "财务部" in chunk.content and "water damage" in chunk.content
    assert chunk.meta["ocr"][0]["confidence"] > 0.8 and "page" not in chunk.meta
    assert svc.retrieval.search(tenant, [kb.id], "发票遗失", mode="full_text", threshold=0)


def test_clear_errors_for_unreadable_images(svc, tenant, kb):
    tiny = image_bytes(text_image(["x"]).resize((12, 8)))
    blank = image_bytes(text_image([]))
    docs = ingest(svc, tenant, kb.id, [("icon.png", tiny), ("blank.jpg", image_bytes(text_image([]), "JPEG")),
                                       ("blank.png", blank)])
    assert all(d.status == "error" for d in docs)
    assert docs[0].task.error.startswith("The image is only 12×8 pixels, too small to read text from")
    assert docs[1].task.error.startswith("No text was recognised in the image")


def test_ocr_page_cap_fails_before_any_recognition(monkeypatch):
    import core.ingestion.ocr as ocr

    monkeypatch.setattr(ocr, "recognize", lambda image: pytest.fail("nothing may be recognised over the cap"))
    pages = scanned_pdf([text_image([f"Page {n}"]) for n in range(3)])
    with pytest.raises(DocumentReadError, match=r"has 3 pages that need text recognition \(OCR\), more than the "
                                                r"limit of 2 per document \(setting ALMANAC_OCR_MAX_PAGES\)"):
        read_document("scan.pdf", pages, limits=ReadLimits(max_ocr_pages=2))
    with pytest.raises(DocumentReadError, match="turned off"):
        read_document("photo.png", image_bytes(text_image(["Hello"])), limits=ReadLimits(max_ocr_pages=0))


def test_cancelled_while_recognising_stops_cleanly():
    def cancel(message, fraction):
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):  # the callback's own error, not "corrupt file"
        read_document("scan.pdf", scanned_pdf([text_image(["Page one"])]), progress=cancel)


def test_engine_loads_once_across_threads_and_never_touches_the_network(monkeypatch):
    import socket
    from concurrent.futures import ThreadPoolExecutor

    import rapidocr_onnxruntime

    import core.ingestion.ocr as ocr

    def no_network(*args, **kwargs):
        raise AssertionError(f"OCR tried to reach the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    made = []
    real = rapidocr_onnxruntime.RapidOCR
    monkeypatch.setattr(rapidocr_onnxruntime, "RapidOCR", lambda *a, **k: made.append(1) or real(*a, **k))
    monkeypatch.setattr(ocr, "_engine", None)  # as in a fresh process
    image = text_image(["Invoice 2027-114 is due on Friday."])
    with ThreadPoolExecutor(3) as pool:
        texts = list(pool.map(lambda _: ocr.recognize(image).text, range(3)))
    assert made == [1] and texts == ["Invoice 2027-114 is due on Friday."] * 3
