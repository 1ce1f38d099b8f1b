import io

import pytest

from core.errors import InvalidInput
from core.ingestion.readers import ParsedDocument, Section, read_document
from core.ingestion.splitting import SPLIT_METHODS, SplitConfig, split
from core.text import count_tokens

ZH = (
    "人工智能是计算机科学的一个分支，它企图了解智能的实质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。"
    "该领域的研究包括机器人、语言识别、图像识别、自然语言处理和专家系统等！"
    "人工智能从诞生以来，理论和技术日益成熟，应用领域也不断扩大？"
    "可以设想，未来人工智能带来的科技产品，将会是人类智慧的“容器”。"
)
EN = (
    "Almanac is a self-hosted knowledge base. It stores documents, splits them into chunks "
    "and indexes every chunk for semantic and keyword search. "
)


def doc(text: str, kind: str = "txt", **meta) -> ParsedDocument:
    return ParsedDocument(kind, [Section(text, meta)])


def make_pdf(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


# --- config validation ---------------------------------------------------------------


def test_methods():
    assert SPLIT_METHODS == ("general", "qa", "one", "markdown", "table")


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (SplitConfig(method="semantic"), "Unknown split method 'semantic' (valid: general, qa, one, markdown, table)"),
        (SplitConfig(chunk_size=8), "chunk_size must be a whole number of tokens between 16 and 8192 (got 8)"),
        (SplitConfig(chunk_size=10000), "between 16 and 8192 (got 10000)"),
        (SplitConfig(chunk_size=100, chunk_overlap=100), "smaller than chunk_size 100 (got 100)"),
        (SplitConfig(chunk_overlap=-1), "at least 0"),
        (SplitConfig(separators=["("]), "Separator 1 '(' is not a valid regular expression"),
        (SplitConfig(separators=["\\n", "x*"]), "Separator 2 'x*' can match empty text"),
    ],
)
def test_validate(cfg, message):
    with pytest.raises(InvalidInput) as exc:
        cfg.validate()
    assert message in exc.value.message


# --- general ------------------------------------------------------------------------------


def test_general_english_respects_chunk_size_and_overlaps():
    text = " ".join(f"Sentence {i} explains feature {i} of the platform." for i in range(60))
    chunks = split(doc(text), SplitConfig(chunk_size=64, chunk_overlap=16))
    assert len(chunks) > 5
    for c in chunks:
        assert 0 < c.token_count <= 64 and c.token_count == count_tokens(c.content)
        assert c.content.startswith("Sentence ") and c.content.endswith(".")  # whole sentences
    for prev, cur in zip(chunks, chunks[1:]):
        first_sentence = cur.content.split(". ")[0] + "."
        assert prev.content.endswith(first_sentence)  # overlap: starts where the previous ended
    assert "Sentence 59 explains feature 59" in chunks[-1].content


def test_general_chinese_respects_chunk_size_and_punctuation():
    text = ZH * 6 + "\n\n" + "没有标点符号的超长中文文本" * 60
    for size in (16, 50, 200):
        chunks = split(doc(text), SplitConfig(chunk_size=size, chunk_overlap=size // 4))
        assert all(c.token_count <= size for c in chunks), size
        assert "".join(c.content for c in chunks).count("人工智能") >= ZH.count("人工智能") * 6
    chunks = split(doc(ZH * 6), SplitConfig(chunk_size=120, chunk_overlap=0))
    # with room for whole sentences, chunks end at Chinese sentence punctuation
    assert all(c.content[-1] in "。！？”" for c in chunks)
    assert len(chunks) > 3


def test_general_small_text_is_one_chunk():
    chunks = split(doc("Just one line."), SplitConfig())
    assert [c.content for c in chunks] == ["Just one line."]
    assert chunks[0].token_count == count_tokens("Just one line.")


def test_general_custom_separators_cut_first():
    articles = "".join(f"第{i}条 本条规定员工的第{i}项权利，以及相应的义务和责任。\n" for i in range(1, 9))
    chunks = split(doc(articles), SplitConfig(chunk_size=80, chunk_overlap=0, separators=[r"第\d+条"]))
    assert len(chunks) >= 2
    for c in chunks:  # every chunk starts at an article and holds only whole articles
        assert c.content.startswith("第")
        assert c.content.count("第") == c.content.count("条 ") * 2


def test_general_keeps_pdf_pages():
    pages = [f"Page {n} topic. " + EN * 6 for n in (1, 2, 3)]
    parsed = read_document("manual.pdf", make_pdf(pages))
    chunks = split(parsed, SplitConfig(chunk_size=100, chunk_overlap=10))
    assert all(("page" in c.meta) != ("pages" in c.meta) for c in chunks)
    first_pages = [c.meta.get("page", (c.meta.get("pages") or [0])[0]) for c in chunks]
    assert first_pages == sorted(first_pages) and first_pages[0] == 1 and first_pages[-1] == 3
    for c in chunks:
        for n in (1, 2, 3):
            if f"Page {n} topic" in c.content:
                assert n == c.meta.get("page") or n in c.meta.get("pages", [])


def test_general_spanning_chunk_lists_both_pages():
    parsed = ParsedDocument("pdf", [Section("Alpha part.", {"page": 1}), Section("Beta part.", {"page": 2})])
    chunks = split(parsed, SplitConfig(chunk_size=100))
    assert len(chunks) == 1 and chunks[0].meta == {"pages": [1, 2]}


# --- markdown -------------------------------------------------------------------------


MD = """Intro before any heading.

# Guide

## Install
Run the installer. Accept the licence.

## Configure / Tune
Set the data directory.

### Advanced
""" + ("Tuning the worker pool changes throughput. " * 30)


def test_markdown_heading_paths_and_resplit():
    chunks = split(doc(MD, "md"), SplitConfig(method="markdown", chunk_size=64, chunk_overlap=0))
    by_head = {tuple(c.meta["headings"]): c for c in chunks}
    assert by_head[()].content == "Intro before any heading."
    assert by_head[("Guide", "Install")].content == "## Install\nRun the installer. Accept the licence."
    assert ("Guide", "Configure / Tune") in by_head  # "/" in a heading survives
    advanced = [c for c in chunks if c.meta["headings"] == ["Guide", "Configure / Tune", "Advanced"]]
    assert len(advanced) > 2  # oversize section was re-split ...
    for c in advanced:  # ... and each piece keeps its heading and the size limit
        assert c.content.startswith("### Advanced\n") and c.token_count <= 64
    assert ("Guide",) not in by_head  # heading without body is not a chunk


# --- qa -----------------------------------------------------------------------------------


def test_qa_from_markers_english_and_chinese():
    text = (
        "FAQ\n\nQ: How do I reset my password?\nA: Use the login page.\nIt takes a minute.\n\n"
        "Question: Is there an API?\nAnswer: Yes, REST.\n\n问：支持中文吗？\n答：支持。\n问: 收费吗\n答: 免费"
    )
    chunks = split(doc(text), SplitConfig(method="qa"))
    assert [c.questions for c in chunks] == [
        ["How do I reset my password?"], ["Is there an API?"], ["支持中文吗？"], ["收费吗"],
    ]
    assert chunks[0].content == "Q: How do I reset my password?\nA: Use the login page.\nIt takes a minute."
    assert chunks[2].content == "Q: 支持中文吗？\nA: 支持。"


def test_qa_from_table_rows():
    parsed = read_document("faq.csv", "question,answer\nWhat is Almanac?,A knowledge base\n退款?,七天内\n".encode())
    chunks = split(parsed, SplitConfig(method="qa"))
    assert [c.content for c in chunks] == ["Q: What is Almanac?\nA: A knowledge base", "Q: 退款?\nA: 七天内"]
    assert chunks[1].meta == {"row": 3} and chunks[1].questions == ["退款?"]


def test_qa_from_markdown_headings():
    text = "# FAQ\n\n## What formats are supported?\nPDF, Word and more.\n\n## Is it free?\nYes."
    chunks = split(doc(text, "md"), SplitConfig(method="qa"))
    assert [c.content for c in chunks] == [
        "Q: What formats are supported?\nA: PDF, Word and more.", "Q: Is it free?\nA: Yes.",
    ]


def test_qa_without_pairs():
    with pytest.raises(InvalidInput, match="No question/answer pairs found"):
        split(doc("Plain prose without any questions."), SplitConfig(method="qa"))


# --- one / table ----------------------------------------------------------------------------


def test_one_chunk_even_if_large():
    parsed = ParsedDocument("pdf", [Section(EN * 50, {"page": 1}), Section(EN * 50, {"page": 2})])
    chunks = split(parsed, SplitConfig(method="one", chunk_size=64, chunk_overlap=0))
    assert len(chunks) == 1 and chunks[0].token_count > 64 and chunks[0].meta == {"pages": [1, 2]}


def test_table_from_xlsx_rows():
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Stock"
    ws.append(["Item", "Qty"])
    ws.append(["Bolts", 40])
    ws.append(["Nuts", None])
    buf = io.BytesIO()
    wb.save(buf)
    chunks = split(read_document("stock.xlsx", buf.getvalue()), SplitConfig(method="table"))
    assert [(c.content, c.meta) for c in chunks] == [
        ("Item: Bolts; Qty: 40", {"sheet": "Stock", "row": 2}),
        ("Item: Nuts", {"sheet": "Stock", "row": 3}),
    ]


def test_table_from_markdown_and_html_tables():
    text = "Prices below.\n\n| Plan | Price |\n| --- | ---: |\n| Free | $0 |\n| Pro | $10 |\n\nEnd."
    chunks = split(doc(text, "md", page=2), SplitConfig(method="table"))
    assert [c.content for c in chunks] == ["Plan: Free; Price: $0", "Plan: Pro; Price: $10"]
    assert chunks[1].meta == {"page": 2, "table": 1, "row": 2}
    html = b"<html><body><p>x</p><table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table></body></html>"
    chunks = split(read_document("t.html", html), SplitConfig(method="table"))
    assert [c.content for c in chunks] == ["A: 1; B: 2"]


def test_table_without_rows():
    with pytest.raises(InvalidInput, match="No table rows found"):
        split(doc("no tables | here\n---"), SplitConfig(method="table"))


def test_general_on_csv_keeps_rows_whole():
    rows = "".join(f"item{i},{'description of item number %d ' % i * 3}\n" for i in range(40))
    parsed = read_document("items.csv", ("name,desc\n" + rows).encode())
    chunks = split(parsed, SplitConfig(chunk_size=64, chunk_overlap=0))
    for c in chunks:
        assert all(line.startswith("name: item") for line in c.content.split("\n"))
        assert c.token_count <= 64
