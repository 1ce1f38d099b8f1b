"""A small mixed-format, bilingual corpus with known answers, written on demand."""

from __future__ import annotations

import csv
import io
from pathlib import Path

FACTS_EN = {
    "refund.md": ("# Refund policy\n\nCustomers may return any product within thirty days of purchase for a full "
                  "refund. Items must be unused and in their original packaging.\n\n## Exceptions\n\n"
                  "Gift cards and downloadable software cannot be refunded."),
    "security.txt": ("Security guidelines. Employees must rotate their passwords every ninety days. "
                     "Two-factor authentication is mandatory for all remote access to company systems. "
                     "Lost laptops must be reported to the IT helpdesk within one hour."),
    "garden.html": ("<html><head><title>Garden care</title><script>var x=1;</script></head><body>"
                    "<h1>Tomato growing</h1><p>Tomatoes need at least six hours of direct sunlight each day "
                    "and should be watered deeply twice a week.</p><nav>menu</nav></body></html>"),
}
FACTS_ZH = {
    "年假制度.md": ("# 年假制度\n\n员工入职满一年后每年享有十五天带薪年假。年假需要提前两周向直属经理申请。\n\n"
                  "## 病假\n\n病假每年最多十天，需要提供医院证明。"),
    "食堂.txt": "公司食堂每天中午十一点半开放，提供素食和清真餐。晚餐时间为下午五点半到七点。",
}
QUESTIONS = [
    ("How many days do customers have to return a product?", "thirty days"),
    ("How often must passwords be rotated?", "ninety days"),
    ("How much sunlight do tomatoes need?", "six hours"),
    ("Which employee benefits cover paid vacation leave?", "带薪年假"),
    ("员工每年有多少天带薪年假？", "十五天"),
    ("食堂几点开门？", "十一点半"),
    ("Which laptop incidents must be reported?", "Lost laptops"),
    ("Who manages the quarterly budget?", "Finance team"),
]


def pdf_bytes(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def docx_bytes(paragraphs: list[str], table: list[list[str]]) -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Budget handbook", level=1)
    for p in paragraphs:
        d.add_paragraph(p)
    t = d.add_table(rows=len(table), cols=len(table[0]))
    for r, row in enumerate(table):
        for c, cell in enumerate(row):
            t.cell(r, c).text = cell
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**FACTS_EN, **FACTS_ZH}.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "travel.pdf").write_bytes(pdf_bytes([
        "Travel policy. Economy class is required for flights shorter than six hours.",
        "Hotel costs are reimbursed up to 150 euros per night in major cities.",
    ]))
    (folder / "budget.docx").write_bytes(docx_bytes(
        ["The Finance team manages the quarterly budget and approves all purchases above 5000 euros."],
        [["Quarter", "Budget"], ["Q1", "120000"], ["Q2", "135000"]],
    ))
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "offices.csv").write_bytes(csv_bytes([
        ["city", "address", "phone"], ["Berlin", "Unter den Linden 5", "+49 30 1234"],
        ["上海", "南京路 100 号", "+86 21 5555"],
    ]))
    return folder
