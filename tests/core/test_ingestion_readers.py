import io
import json
import os
import zipfile

import pytest

from core.errors import DocumentReadError, InvalidInput, UnsupportedFile
from core.ingestion.readers import SUPPORTED_TYPES, detect_type, read_document


def make_pdf(pages: list[str], user_password: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
        else:
            pdf.rect(20, 20, 80, 60)  # a page with graphics only, like a scan
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    return bytes(pdf.output())


def make_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Employee Handbook", level=1)
    d.add_paragraph("Welcome to the company.")
    d.add_heading("Leave", level=2)
    d.add_paragraph("Staff get 25 days of paid leave.")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Type", "Days"), ("Annual", "25"), ("Sick", "10")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    d.add_paragraph("Ask HR for details.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Prices"
    ws.append(["Product", "Price"])
    ws.append(["Widget", 9.5])
    ws.append([None, None])
    ws.append(["Gadget", 12.0])
    other = wb.create_sheet("Staff")
    other.append(["Name", "Role"])
    other.append(["张三", "工程师"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_supported_types():
    assert set(SUPPORTED_TYPES) == {"txt", "md", "pdf", "docx", "html", "csv", "xlsx", "json", "image", "pptx",
                                    "eml", "epub"}


def test_detect_by_content_before_extension():
    assert detect_type("report.bin.txt", make_pdf(["hi"])) == "pdf"
    assert detect_type("renamed.zip", make_docx()) == "docx"
    assert detect_type("data", make_xlsx()) == "xlsx"
    assert detect_type("notes.txt", b'{"a": 1}') == "json"
    assert detect_type("page.txt", b"<!DOCTYPE html><html><body>x</body></html>") == "html"
    assert detect_type("a.md", b"# Title") == "md"
    assert detect_type("a.csv", b"a,b\n1,2") == "csv"
    assert detect_type("README", b"plain words") == "txt"


def test_detect_unsupported():
    with pytest.raises(UnsupportedFile) as exc:
        detect_type("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00")
    assert exc.value.message.startswith("Unsupported file type '.exe' (supported: txt, md, pdf")
    with pytest.raises(UnsupportedFile, match=r"Save it as \.docx"):
        detect_type("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_empty_file():
    for name in ("a.txt", "a.pdf", "a.csv"):
        with pytest.raises(DocumentReadError, match="The file is empty"):
            read_document(name, b"")


def test_txt_encodings():
    text = "知识库平台\n第二行"
    assert read_document("a.txt", text.encode("utf-8")).text == text
    assert read_document("a.txt", b"\xef\xbb\xbf" + text.encode("utf-8")).text == text
    assert read_document("a.txt", text.encode("gb18030")).text == text
    assert read_document("a.txt", text.encode("utf-16")).text == text
    assert read_document("a.txt", b"line1\r\nline2").text == "line1\nline2"


def test_txt_binary_garbage_is_rejected():
    garbage = os.urandom(4096) + b"\x00"
    with pytest.raises(InvalidInput) as exc:
        read_document("a.txt", garbage)
    assert "binary" in exc.value.message or "decode" in exc.value.message


def test_markdown_keeps_syntax():
    doc = read_document("a.md", "# Title\n\n- item **bold**\n".encode())
    assert doc.kind == "md" and doc.text == "# Title\n\n- item **bold**\n"


def test_pdf_pages():
    doc = read_document("a.pdf", make_pdf(["Apples grow on trees.", "", "Pears are sweet."]))
    assert doc.kind == "pdf"
    assert [s.meta for s in doc.sections] == [{"page": 1}, {"page": 3}]
    assert "Apples grow on trees." in doc.sections[0].text
    assert "Pears are sweet." in doc.sections[1].text
    assert doc.text.index("Apples") < doc.text.index("Pears")


def test_pdf_errors():
    with pytest.raises(DocumentReadError, match=r"No text found in the PDF: .* text recognition \(OCR\) found none"):
        read_document("scan.pdf", make_pdf(["", ""]))  # graphics only: rendered, recognised, nothing found
    with pytest.raises(DocumentReadError, match="password-protected"):
        read_document("locked.pdf", make_pdf(["secret"], user_password="pw"))
    # owner-only protection (empty user password) is readable
    assert "open" in read_document("a.pdf", make_pdf(["open text"], user_password="")).text
    with pytest.raises(DocumentReadError, match="corrupt"):
        read_document("broken.pdf", make_pdf(["hello"])[:400])


def test_docx_headings_paragraphs_tables_in_order():
    doc = read_document("handbook.docx", make_docx())
    assert doc.kind == "docx"
    text = doc.text
    assert text.startswith("# Employee Handbook\n\nWelcome to the company.\n\n## Leave\n\n")
    assert "| Type | Days |" in text and "| Annual | 25 |" in text and "| Sick | 10 |" in text
    assert text.index("paid leave") < text.index("| Annual") < text.index("Ask HR")


def test_docx_corrupt():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<not-xml")
    with pytest.raises(DocumentReadError) as exc:
        read_document("bad.docx", buf.getvalue())
    assert "Word" in exc.value.message and "Traceback" not in exc.value.message


def test_html():
    html = """<html><head><title>Almanac Guide</title><style>p{color:red}</style></head>
    <body><nav>Home | About</nav><h1>Getting started</h1><p>Install the <b>app</b>.</p>
    <script>alert('x')</script><h2>Pricing</h2><table><tr><th>Plan</th><th>Price</th></tr>
    <tr><td>Pro</td><td>$10</td></tr></table><ul><li>One</li><li>Two</li></ul>
    <footer>Copyright</footer></body></html>"""
    doc = read_document("guide.html", html.encode())
    text = doc.text
    assert text.startswith("# Almanac Guide\n\n# Getting started\n\nInstall the app.")
    assert "## Pricing" in text and "| Pro | $10 |" in text and "- One" in text
    for dropped in ("alert", "color:red", "Home | About", "Copyright"):
        assert dropped not in text
    assert doc.sections[0].meta == {"title": "Almanac Guide"}


def test_csv_sniffs_dialect_and_rows():
    data = "name;city;note\nAlice;Paris;\n\nBob;Berlin;likes tea\n".encode()
    doc = read_document("people.csv", data)
    assert doc.kind == "csv"
    assert doc.rows == [
        {"name": "Alice", "city": "Paris", "note": ""},
        {"name": "Bob", "city": "Berlin", "note": "likes tea"},
    ]
    assert doc.row_meta == [{"row": 2}, {"row": 4}]
    assert doc.text == "name: Alice; city: Paris\nname: Bob; city: Berlin; note: likes tea"


def test_csv_header_only():
    with pytest.raises(DocumentReadError, match="no data rows"):
        read_document("a.csv", b"a,b,c\n")


def test_xlsx_sheets():
    doc = read_document("book.xlsx", make_xlsx())
    assert doc.kind == "xlsx"
    assert [s.meta for s in doc.sections] == [{"sheet": "Prices"}, {"sheet": "Staff"}]
    assert doc.sections[0].text == "Product: Widget; Price: 9.5\nProduct: Gadget; Price: 12"
    assert doc.rows[2] == {"Name": "张三", "Role": "工程师"}
    assert doc.row_meta == [{"sheet": "Prices", "row": 2}, {"sheet": "Prices", "row": 4}, {"sheet": "Staff", "row": 2}]


def test_xlsx_corrupt():
    with pytest.raises(DocumentReadError, match="Excel"):
        read_document("a.xlsx", b"PK\x03\x04 not really a zip")


def test_json_nested_is_flattened():
    data = {"product": {"name": "Almanac", "tags": ["kb", "rag"], "owner": {"team": "AI"}}, "ok": True}
    doc = read_document("a.json", json.dumps(data).encode())
    assert doc.rows is None
    assert doc.text.split("\n") == [
        "product.name: Almanac",
        "product.tags[0]: kb",
        "product.tags[1]: rag",
        "product.owner.team: AI",
        "ok: true",
    ]


def test_json_records_are_rows_and_jsonl():
    records = [{"q": "What is it?", "a": "A KB"}, {"q": "Price?", "a": "Free", "n": 2}]
    doc = read_document("faq.json", json.dumps(records).encode())
    assert doc.rows == [
        {"q": "What is it?", "a": "A KB", "n": ""},
        {"q": "Price?", "a": "Free", "n": "2"},
    ]
    lines = "\n".join(json.dumps(r) for r in records).encode()
    assert read_document("faq.jsonl", lines).rows == doc.rows


def test_json_invalid():
    with pytest.raises(DocumentReadError, match="not valid JSON"):
        read_document("a.json", b'{"a": 1,,}')
    with pytest.raises(DocumentReadError, match="nested too deeply"):
        read_document("a.json", b"[" * 200 + b"]" * 200)


def test_whitespace_only_txt():
    with pytest.raises(DocumentReadError, match="empty"):
        read_document("a.txt", b"  \n\n ")
