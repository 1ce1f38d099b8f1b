"""Documents page: adding documents, live status, per-document actions, search and paging, both languages."""

from __future__ import annotations

from dataclasses import dataclass

from pages import documents as page
from tests.conftest import ingest
from tests.ui.conftest import open_page

DOCS = "pages/documents.py"


def body(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def toasts(at) -> str:
    return " ".join(t.value for t in at.toast)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def one_doc(ui, tenant, kb):
    (doc,) = ui.documents.list(tenant, kb.id).items
    return doc


@dataclass
class FakeUpload:
    """What st.file_uploader hands the page."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def test_without_knowledge_bases_the_page_points_to_creating_one(ui):
    at = open_page(DOCS)
    assert "no knowledge bases" in " ".join(i.value for i in at.info)


def test_empty_knowledge_base_asks_for_files(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(DOCS, kb=kb.id)
    assert "No documents yet" in " ".join(i.value for i in at.info)
    uploader = at.file_uploader[0]
    assert uploader.accept_multiple_files
    assert uploader.proto.max_upload_size_mb == ui.settings.max_upload_mb == 100  # "100MB per file", not 200
    assert at.button(key="docs_upload").disabled  # nothing chosen yet


def test_upload_many_files_through_the_uploader(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(DOCS, kb=kb.id)
    at.file_uploader[0].set_value([("a.txt", b"Vacation is 25 days a year.", "text/plain"),
                                   ("b.md", b"# Bikes\n\nBikes are allowed.", "text/markdown")]).run()
    assert at.button(key="docs_upload").label == "Upload 2 files"
    at.button(key="docs_upload").click().run()
    assert not at.exception
    assert "2 files uploaded" in toasts(at)
    docs = ui.documents.list(tenant, kb.id).items
    assert sorted(d.name for d in docs) == ["a.txt", "b.md"]
    assert {d.status for d in docs} == {"waiting"}
    assert at.session_state["docs_refresh"] == page.REFRESH_SECONDS  # live while something is queued
    assert at.file_uploader[0].key.endswith("_1")  # a fresh, empty uploader
    lines = [m.value for m in at.markdown if "almanac-task" in m.value]
    assert len(lines) == 2 and all("class='bar'" in line and "waiting · 0%" in line for line in lines)

    assert ui.workers.drain(30)
    at.run()
    assert at.session_state["docs_refresh"] is None  # nothing running: no timer
    lines = [m.value for m in at.markdown if "almanac-task" in m.value]
    assert body(at).count("completed") == 2 and len(lines) == 2 and not any("class='bar'" in x for x in lines)
    assert "finished" in body(at) and "took" in body(at)  # stage timestamps


def test_custom_rules_and_store_without_parsing(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(DOCS, kb=kb.id)
    at.radio(key="docs_rules_en_mode").set_value("custom").run()
    at.selectbox(key="docs_rules_en_method").set_value("markdown")
    at.number_input(key="docs_rules_en_size").set_value(128)
    at.number_input(key="docs_rules_en_overlap").set_value(16)
    at.text_area(key="docs_rules_en_seps").input("\\n\\n\n第.+条")
    at.multiselect(key="docs_rules_en_pre").set_value(["remove_extra_space"])
    at.checkbox(key="docs_store_only").check()
    at.file_uploader[0].set_value(("notes.md", b"# Notes\n\nSome text.", "text/markdown"))
    at.run()
    at.button(key="docs_upload").click().run()
    assert "stored without parsing" in toasts(at)
    doc = one_doc(ui, tenant, kb)
    assert doc.status == "unstart" and doc.task is None
    cfg = doc.chunk_config
    assert (cfg.method, cfg.chunk_size, cfg.chunk_overlap) == ("markdown", 128, 16)
    assert cfg.separators == ["\\n\\n", "第.+条"] and cfg.preprocess == ["remove_extra_space"]
    assert "Stored without parsing" in body(at)
    assert at.toggle(key=f"docs_on_{doc.id}_1").disabled  # only completed documents can be switched

    at.button(key=f"docs_parse_{doc.id}").click().run()
    assert ui.documents.get(tenant, doc.id).status == "waiting"
    assert "queued for processing" in toasts(at)


def test_invalid_custom_rules_are_explained(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(DOCS, kb=kb.id)
    at.radio(key="docs_rules_en_mode").set_value("custom").run()
    at.number_input(key="docs_rules_en_size").set_value(32)
    at.number_input(key="docs_rules_en_overlap").set_value(48)
    at.file_uploader[0].set_value(("a.txt", b"text", "text/plain"))
    at.run()
    at.button(key="docs_upload").click().run()
    assert not at.exception
    assert "overlap" in errors(at)
    assert ui.documents.list(tenant, kb.id).total == 0


def test_upload_handler_with_file_like_objects(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    docs = page.upload_files(kb.id, [FakeUpload("x.txt", b"hello"), FakeUpload("y.txt", b"world")],
                             chunk_config={"chunk_size": 64, "chunk_overlap": 8}, parse=False)
    assert [d.name for d in docs] == ["x.txt", "y.txt"]
    assert docs[0].chunk_config.chunk_size == 64 and docs[0].status == "unstart"
    ui.documents.max_upload_bytes = 3
    assert page.upload_files(kb.id, [FakeUpload("big.txt", b"too large")]) is None  # TooLarge shown, not raised
    assert ui.documents.list(tenant, kb.id).total == 2


def test_url_import_errors_are_friendly(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(DOCS, kb=kb.id)
    at.button(key="docs_import").click().run()
    assert "http://" in " ".join(w.value for w in at.warning)
    at.text_input(key="docs_url").input("http://127.0.0.1:9/secret")
    at.button(key="docs_import").click().run()
    assert not at.exception
    assert "Could not import this URL" in errors(at) and "private or local address" in errors(at)
    at.text_input(key="docs_url").input("ftp://example.com/file.txt")
    at.button(key="docs_import").click().run()
    assert "Not an http(s) URL" in errors(at)
    assert ui.documents.list(tenant, kb.id).total == 0


def test_rename(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    (doc,) = ingest(ui, tenant, kb.id, [("draft.txt", b"Vacation is 25 days.")])
    at = open_page(DOCS, kb=kb.id)
    at.button(key=f"docs_rename_{doc.id}").click().run()  # unchanged name: nothing happens
    assert not at.toast and ui.documents.get(tenant, doc.id).name == "draft.txt"
    at.text_input(key=f"docs_name_{doc.id}").input("policy_final.txt")
    at.button(key=f"docs_rename_{doc.id}").click().run()
    assert ui.documents.get(tenant, doc.id).name == "policy_final.txt"
    assert "Renamed to policy_final.txt" in toasts(at)
    assert "policy\\_final.txt" in body(at)  # shown literally (Markdown-escaped)


def test_disable_and_enable(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    (doc,) = ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days.")])
    at = open_page(DOCS, kb=kb.id)
    at.toggle(key=f"docs_on_{doc.id}_1").set_value(False).run()
    assert not ui.documents.get(tenant, doc.id).enabled
    assert "is disabled" in toasts(at)
    assert at.toggle(key=f"docs_on_{doc.id}_0").value is False
    at.toggle(key=f"docs_on_{doc.id}_0").set_value(True).run()
    assert ui.documents.get(tenant, doc.id).enabled


def test_reparse_and_cancel(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    (doc,) = ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days.")])
    at = open_page(DOCS, kb=kb.id)
    assert at.button(key=f"docs_parse_{doc.id}").label == "Re-parse"
    assert at.button(key=f"docs_cancel_{doc.id}").disabled  # nothing to cancel
    assert page.refresh_interval(kb.id) is None

    at.button(key=f"docs_parse_{doc.id}").click().run()
    assert ui.documents.get(tenant, doc.id).status == "waiting"
    assert at.session_state["docs_refresh"] == page.REFRESH_SECONDS
    assert at.button(key=f"docs_parse_{doc.id}").disabled
    assert at.toggle(key=f"docs_on_{doc.id}_1").disabled

    at.button(key=f"docs_cancel_{doc.id}").click().run()
    assert ui.documents.get(tenant, doc.id).status == "cancelled"
    assert "was cancelled" in toasts(at)
    assert at.session_state["docs_refresh"] is None
    assert "cancelled" in body(at)


def test_delete_asks_for_confirmation(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    keep, gone = ingest(ui, tenant, kb.id, [("keep.txt", b"one"), ("gone.txt", b"two")])
    at = open_page(DOCS, kb=kb.id)
    at.button(key=f"docs_delete_{gone.id}").click().run()
    assert "Delete “gone.txt”" in " ".join(w.value for w in at.warning)
    assert ui.documents.list(tenant, kb.id).total == 2  # nothing deleted yet
    at.button(key=f"docs_delete_no_{gone.id}").click().run()
    assert not at.warning
    at.button(key=f"docs_delete_{gone.id}").click().run()
    at.button(key=f"docs_delete_yes_{gone.id}").click().run()
    assert [d.name for d in ui.documents.list(tenant, kb.id).items] == ["keep.txt"]
    assert "Deleted gone.txt" in toasts(at)


def test_search_filter_and_pagination(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ui.documents.upload(tenant, kb.id, [(f"note_{i:02}.txt", b"x") for i in range(23)], parse=False)
    ingest(ui, tenant, kb.id, [("alpha_plan.txt", b"Alpha plan.")])
    at = open_page(DOCS, kb=kb.id)
    names = lambda: [m.value for m in at.markdown if m.value.startswith("📄 **")]  # noqa: E731
    assert len(names()) == page.PAGE_SIZE
    at.button(key="docs_page_next").click().run()
    assert len(names()) == 24 - page.PAGE_SIZE

    at.text_input(key="docs_search").input("ALPHA").run()
    assert len(names()) == 1 and "alpha\\_plan.txt" in names()[0]
    at.text_input(key="docs_search").input("nothing-like-this").run()
    assert "No documents match" in " ".join(i.value for i in at.info)

    at.text_input(key="docs_search").input("").run()
    at.selectbox(key="docs_status_en").set_value("unstart").run()
    assert len(names()) == page.PAGE_SIZE and "alpha" not in " ".join(names())
    at.selectbox(key="docs_status_en").set_value("completed").run()
    assert len(names()) == 1
    at.selectbox(key="docs_status_en").set_value("")
    at.selectbox(key="docs_sort_en").set_value("name").run()
    assert "alpha" in names()[0]


def test_failed_document_shows_its_error(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    (doc,) = ingest(ui, tenant, kb.id, [("legacy.doc", b"old word file")])
    assert doc.status == "error"
    at = open_page(DOCS, kb=kb.id)
    text = body(at)
    assert "Processing failed" in text and "Save it as .docx" in text
    assert "failed" in text  # the last stage in the timeline


def test_download_returns_the_original(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    (doc,) = ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days.")])
    at = open_page(DOCS, kb=kb.id)
    assert at.get("download_button")
    assert page.download_bytes(doc.id) == b"Vacation is 25 days."
    assert page.download_bytes("missing") == b""


def test_chinese(ui, tenant):
    kb = ui.knowledge.create(tenant, "手册")
    ingest(ui, tenant, kb.id, [("政策.txt", "年假二十五天。".encode()), ("legacy.doc", b"x")])
    at = open_page(DOCS, lang="zh", kb=kb.id)
    assert at.title[0].value.endswith("文档")
    text = body(at)
    assert "已完成" in text and "失败" in text and "名称" in text and "处理失败" in text
    assert at.selectbox(key="docs_status_zh").options[0] == "全部状态"


def test_empty_chinese(ui, tenant):
    kb = ui.knowledge.create(tenant, "手册")
    at = open_page(DOCS, lang="zh", kb=kb.id)
    assert "还没有文档" in " ".join(i.value for i in at.info)
    assert at.button(key="docs_upload").label == "上传"


def test_uploading_a_file_again_warns_with_replace_keep_both_or_skip(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ingest(ui, tenant, kb.id, [("refund.md", b"# Refunds\n\nWithin thirty days.")])
    at = open_page(DOCS, kb=kb.id)
    files = [("refund (1).md", b"# Refunds\n\nWithin thirty days.", "text/markdown"),
             ("bikes.md", b"# Bikes\n\nBikes are allowed.", "text/markdown")]
    at.file_uploader[0].set_value(files).run()
    at.button(key="docs_upload").click().run()
    assert not at.exception and ui.documents.list(tenant, kb.id).total == 1  # nothing stored before the choice
    warning = " ".join(w.value for w in at.warning)
    assert "1 of these files is already in this knowledge base" in warning and r"refund \(1\).md → refund.md" in warning
    assert [b.label for b in at.button if b.key.startswith("docs_dup_")] == ["Replace", "Keep both", "Skip them"]
    at.button(key="docs_dup_skip").click().run()
    assert not at.exception
    assert sorted(d.name for d in ui.documents.list(tenant, kb.id).items) == ["bikes.md", "refund.md"]
    assert "1 file uploaded" in toasts(at) and "1 duplicates skipped" in toasts(at)
    assert not [w for w in at.warning if "already in this knowledge base" in w.value]

    at.file_uploader[0].set_value(files[:1]).run()
    at.button(key="docs_upload").click().run()
    at.button(key="docs_dup_replace").click().run()
    assert sorted(d.name for d in ui.documents.list(tenant, kb.id).items) == ["bikes.md", "refund (1).md"]
    at.file_uploader[0].set_value(files[:1]).run()
    at.button(key="docs_upload").click().run()
    at.button(key="docs_dup_keep").click().run()
    assert sorted(d.name for d in ui.documents.list(tenant, kb.id).items) == ["bikes.md", "refund (1).md",
                                                                            "refund (1).md"]


def test_a_new_file_uploads_without_a_question(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(DOCS, kb=kb.id)
    at.file_uploader[0].set_value([("a.txt", b"Alpha.", "text/plain")]).run()
    at.button(key="docs_upload").click().run()
    assert "1 file uploaded" in toasts(at) and not at.warning
