"""HTML pages: scripts, navigation and footers dropped; headings, lists and tables kept as Markdown."""

from __future__ import annotations

import re

from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section, md_table

_DROP = ("script", "style", "nav", "footer", "noscript", "template", "svg", "iframe")
_BLOCKS = ("p", "div", "section", "article", "main", "header", "aside", "blockquote",
           "pre", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "address", "hr", "form")
_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S)


def html_to_text(data: bytes | str) -> tuple[str, str]:
    """(title, text as light Markdown) of an HTML page; also used for e-mail bodies and e-book chapters."""
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(data, "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup(list(_DROP) + ["head"]):
        tag.decompose()
    for table in soup.find_all("table"):
        rows = [[c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
        table.replace_with(NavigableString(f"\n\n{md_table(rows)}\n\n"))
    for level in range(1, 7):
        for h in soup.find_all(f"h{level}"):
            h.replace_with(NavigableString(f"\n\n{'#' * level} {h.get_text(' ', strip=True)}\n\n"))
    for li in soup.find_all("li"):
        li.insert(0, NavigableString("\n- "))
    for br in soup.find_all("br"):
        br.replace_with(NavigableString("\n"))
    for tag in soup.find_all(_BLOCKS):
        tag.insert_after(NavigableString("\n\n"))
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    return title, re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _read_html(data: bytes, ctx: ReadContext) -> ParsedDocument:
    title, text = html_to_text(data)
    if title and not text.startswith(f"# {title}"):
        text = f"# {title}\n\n{text}"
    return ParsedDocument("html", [Section(text, {"title": title} if title else {})])


READER = Reader(kind="html", label="HTML", extensions=(".html", ".htm", ".xhtml"), read=_read_html,
                sniff=lambda data, ext: bool(_START.match(data[:4096])))
