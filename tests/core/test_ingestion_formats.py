"""PowerPoint, e-mail and EPUB readers, tables kept as tables, and the bounds on archives and chunks."""

import io
import time
import zipfile
from email.message import EmailMessage

import pytest

from core.errors import DocumentReadError, UnsupportedFile
from core.ingestion.readers import ReadLimits, detect_type, read_document
from core.ingestion.splitting import SplitConfig, split
from tests.conftest import ingest
from tests.helpers import epub_bytes, pptx_bytes

TABLE = [["Region", "Target", "Owner"], ["North", "120", "Li Wei"], ["South", "95", "Ana Ruiz"]]


def deck() -> bytes:
    return pptx_bytes([
        {"title": "Sales plan 2027", "bullets": ["Grow revenue in the north", "Hire two engineers"],
         "table": TABLE, "notes": "Mention the travel budget freeze."},
        {"title": "第二季度目标", "bullets": ["扩大华南市场"]},
    ])


def test_pptx_slides_in_order_with_numbers_notes_and_tables():
    doc = read_document("plan.pptx", deck())
    assert doc.kind == "pptx" and [s.meta for s in doc.sections] == [{"slide": 1}, {"slide": 2}]
    first = doc.sections[0].text
    assert first.startswith("# Sales plan 2027\n\nGrow revenue in the north\nHire two engineers")
    assert "| Region | Target | Owner |\n| --- | --- | --- |\n| North | 120 | Li Wei |" in first
    assert first.endswith("Notes: Mention the travel budget freeze.")
    assert doc.sections[1].text == "# 第二季度目标\n\n扩大华南市场"


def test_password_protected_pptx_and_legacy_files_are_explained():
    from msoffcrypto.format.ooxml import OOXMLFile

    locked = io.BytesIO()
    OOXMLFile(io.BytesIO(deck())).encrypt("secret", locked)
    with pytest.raises(DocumentReadError, match=r"The PowerPoint file is password-protected; remove the password"):
        read_document("plan.pptx", locked.getvalue())
    with pytest.raises(UnsupportedFile, match=r"Save it as \.pptx"):
        read_document("old.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)


def email_bytes() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Li Wei <li.wei@example.com>"
    msg["To"] = "team@example.com"
    msg["Subject"] = "Travel policy update / 差旅政策更新"
    msg["Date"] = "Tue, 01 Dec 2026 09:30:00 +0800"
    msg.set_content("Plain version")
    msg.add_alternative("<html><body><h1>Travel policy</h1><p>Economy class for flights under <b>four hours</b>."
                        "</p><script>track()</script></body></html>", subtype="html")
    msg.add_attachment("city,daily allowance\nShanghai,600\nBeijing,550\n".encode(), maintype="text",
                       subtype="csv", filename="allowances.csv")
    msg.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="tool.exe")
    return msg.as_bytes()


def test_eml_headers_body_and_attachments():
    doc = read_document("policy.eml", email_bytes())
    assert doc.kind == "eml"
    assert doc.meta["from"] == "Li Wei <li.wei@example.com>" and doc.meta["subject"].startswith("Travel policy")
    assert doc.meta["date"].startswith("Tue, 01 Dec 2026") and doc.meta["unreadable_attachments"] == ["tool.exe"]
    body, attachment = doc.sections
    assert body.text.startswith("Subject: Travel policy update / 差旅政策更新\nFrom: Li Wei")
    assert "Plain version" in body.text  # the plain alternative is preferred
    assert attachment.meta == {"attachment": "allowances.csv"}
    assert attachment.text.startswith("Attachment: allowances.csv\n\ncity: Shanghai; daily allowance: 600")


def test_eml_with_only_html_is_cleaned_and_headers_reach_the_document(svc, tenant):
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "hr@example.com", "Holiday rota"
    msg.set_content("<p>The office closes on <i>24 December</i>.</p><style>p{}</style>", subtype="html")
    kb = svc.knowledge.create(tenant, "Mail")
    (doc,) = ingest(svc, tenant, kb.id, [("rota.eml", msg.as_bytes())], meta={"team": "ops"})
    assert doc.status == "completed", doc.task.error
    assert doc.meta == {"subject": "Holiday rota", "from": "hr@example.com", "team": "ops"}
    (chunk,) = svc.chunks.list(tenant, doc.id).items
    assert "The office closes on 24 December." in chunk.content and "p{}" not in chunk.content


def test_epub_chapters_in_spine_order_with_titles():
    data = epub_bytes("Handbook", [("Getting started", "Install the app."), ("第二章 配置", "设置数据目录。")])
    assert detect_type("book.zip", data) == "epub"
    doc = read_document("book.epub", data)
    assert [s.meta for s in doc.sections] == [{"chapter": "Getting started"}, {"chapter": "第二章 配置"}]
    assert doc.sections[1].text == "# 第二章 配置\n\n设置数据目录。"


def test_epub_with_drm_is_explained():
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(epub_bytes("x", [("a", "b")]))) as src, zipfile.ZipFile(buf, "w") as out:
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("META-INF/encryption.xml", '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"'
                     ' xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
                     'Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/></enc:EncryptedData></encryption>')
    with pytest.raises(DocumentReadError, match="protected by DRM"):
        read_document("locked.epub", buf.getvalue())


# --- tables stay tables -------------------------------------------------------------------


def test_a_table_is_one_chunk_or_rows_with_the_header_repeated():
    doc = read_document("plan.pptx", deck())
    chunks = split(doc, SplitConfig(chunk_size=200, chunk_overlap=0))
    (table_chunk,) = [c.content for c in chunks if "| Region |" in c.content]  # with its slide's text
    assert "| Region | Target | Owner |\n| --- | --- | --- |\n| North | 120 | Li Wei |\n| South | 95 | Ana Ruiz |" in table_chunk

    rows = [["Item", "Description"]] + [[f"Part {n}", f"Spare part number {n} for the pump"] for n in range(40)]
    from core.ingestion.readers.base import ParsedDocument, Section, md_table

    big = ParsedDocument("docx", [Section("Intro text.\n\n" + md_table(rows) + "\n\nClosing words.")])
    pieces = split(big, SplitConfig(chunk_size=64, chunk_overlap=8))
    table_pieces = [p.content for p in pieces if "| Item | Description |" in p.content]
    assert len(table_pieces) > 3 and all(p.token_count <= 64 for p in pieces)
    body = [line for p in table_pieces for line in p.split("\n")[2:]]
    assert body == [f"| Part {n} | Spare part number {n} for the pump |" for n in range(40)]  # every row once, whole
    assert pieces[0].content == "Intro text." and pieces[-1].content == "Closing words."

    small = md_table(TABLE)
    prose = " ".join(f"Sentence {n} is about the regional sales plan." for n in range(30))
    mixed = ParsedDocument("docx", [Section(f"{prose}\n\n{small}\n\n{prose}")])
    holding = [p.content for p in split(mixed, SplitConfig(chunk_size=64, chunk_overlap=8)) if "| North |" in p.content]
    assert len(holding) == 1 and small in holding[0]  # a table that fits is never cut


def test_a_ruled_pdf_table_becomes_a_markdown_table_in_place():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Regional targets agreed in the spring planning meeting.")
    with pdf.table() as table:
        for row in TABLE:
            cells = table.row()
            for value in row:
                cells.cell(value)
    pdf.multi_cell(0, 6, "Targets are reviewed every quarter.")
    doc = read_document("targets.pdf", bytes(pdf.output()))
    assert doc.sections[0].text == ("Regional targets agreed in the spring planning meeting.\n\n"
                                    "| Region | Target | Owner |\n| --- | --- | --- |\n| North | 120 | Li Wei |\n"
                                    "| South | 95 | Ana Ruiz |\n\nTargets are reviewed every quarter.")


# --- bounds on archives and chunks (issue 11) -------------------------------------------


def bomb_docx(paragraphs: int) -> bytes:
    """A .docx whose document.xml repeats one paragraph: ~170 KB that unpacks to ~40 MB of XML."""
    import docx

    seed = io.BytesIO()
    docx.Document().save(seed)
    para = "<w:p><w:r><w:t>The refund policy applies to every order placed in the store this year.</w:t></w:r></w:p>"
    out = io.BytesIO()
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                head, tail = data.decode().split("<w:body>", 1)
                data = f"{head}<w:body>{para * paragraphs}{tail}".encode()
            dst.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_docx_bomb_fails_fast_with_the_limit_named(svc, tenant):
    bomb = bomb_docx(400_000)
    expanded = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist())
    assert len(bomb) < 200_000 and expanded > 40 * 2**20
    kb = svc.knowledge.create(tenant, "Bombs", chunk_config={"chunk_size": 128, "chunk_overlap": 0})
    started = time.monotonic()
    (doc,) = ingest(svc, tenant, kb.id, [("report.docx", bomb)])
    assert time.monotonic() - started < 5
    assert doc.status == "error" and doc.chunk_count == 0
    assert doc.task.error.startswith("The Word (.docx) file looks like a zip bomb: its part word/document.xml unpacks")
    assert "at most 100 times is accepted" in doc.task.error


def test_expanded_size_cap_applies_to_every_zip_based_format():
    limits = ReadLimits(max_expanded_bytes=20_000)
    for name, data in [("plan.pptx", deck()), ("book.epub", epub_bytes("x", [("a", "b" * 30_000)]))]:
        with pytest.raises(DocumentReadError, match=r"expands to .* MB when unpacked, more than the limit of .* "
                                                    r"\(setting ALMANAC_MAX_EXPANDED_MB\)"):
            read_document(name, data, limits=limits)


def test_chunk_cap_per_document(svc, tenant):
    svc.workers.pipeline.max_chunks = 50
    kb = svc.knowledge.create(tenant, "Many", chunk_config={"chunk_size": 16, "chunk_overlap": 0})
    text = "\n\n".join(f"Paragraph {n} says something different about item {n}." for n in range(200))
    (doc,) = ingest(svc, tenant, kb.id, [("long.txt", text.encode())])
    assert doc.status == "error" and doc.chunk_count == 0
    assert doc.task.error.startswith("The document would make 200 chunks, more than the limit of 50 per document "
                                     "(setting ALMANAC_MAX_CHUNKS_PER_DOCUMENT)")
