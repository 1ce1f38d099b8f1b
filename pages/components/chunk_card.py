"""Chunk display pieces shared by the Chunks and Hit testing pages: text, badges, highlight."""

from __future__ import annotations

import html
import re
from typing import Any

import streamlit as st

from core.text import markdown_html, search_tokens
from pages.components.i18n import t

CARD_CSS = """
<style>
.almanac-chunk-text { line-height: 1.65; font-size: 0.95rem; overflow-wrap: anywhere; }
.almanac-chunk-text.off { opacity: 0.5; }
.almanac-chunk-text mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 3px; }
.almanac-chunk-text :is(h1, h2, h3, h4, h5, h6) { font-size: 1rem; font-weight: 650; margin: .5rem 0 .25rem;
  padding: 0; scroll-margin: 0; }
.almanac-chunk-text p, .almanac-chunk-text ul, .almanac-chunk-text ol { margin: 0 0 .4rem; }
.almanac-chunk-text pre { white-space: pre-wrap; font-size: .85rem; }
.almanac-chunk-text table { font-size: .85rem; }
</style>
"""
_TAGS_AND_ENTITIES = re.compile(r"(<[^>]+>|&#?\w+;)")


LOW_OCR_CONFIDENCE = 0.8  # below this, recognised text often has wrong characters: worth checking


def inject_css(extra: str = "") -> None:
    """Page-wide styles for chunk text (and e.g. a highlighted card); takes no space."""
    st.html(CARD_CSS + (f"<style>{extra}</style>" if extra else ""))


def query_terms(query: str) -> list[str]:
    """Words of a query worth highlighting, longest first (so longer matches win)."""
    terms = {tok for tok in search_tokens(query or "") if tok.strip()}
    return sorted(terms, key=len, reverse=True)


def text_html(content: str, terms: list[str] | None = None, enabled: bool = True) -> str:
    """Chunk text (Markdown) as safe HTML (core.text.markdown_html: its own HTML is escaped), `terms` marked."""
    parts = _TAGS_AND_ENTITIES.split(markdown_html(content))
    if terms:
        pattern = re.compile("|".join(re.escape(html.escape(term)) for term in terms), re.IGNORECASE)
        parts = [p if i % 2 else pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", p) for i, p in enumerate(parts)]
    body = "".join(parts).replace("</mark><mark>", "")
    # One HTML block without a line break, so Streamlit's markdown never re-reads it (code keeps its lines).
    body = re.sub(r"<pre>.*?</pre>", lambda m: m.group(0).replace("\n", "&#10;"), body, flags=re.S).replace("\n", "")
    return f"<div class='almanac-chunk-text{'' if enabled else ' off'}'>{body}</div>"


def show_text(content: str, terms: list[str] | None = None, enabled: bool = True) -> None:
    st.markdown(text_html(content, terms, enabled), unsafe_allow_html=True)


def _badge_text(value: Any) -> str:
    return re.sub(r"[\[\]\n]", " ", str(value)).strip()


def badge(text: str, color: str = "gray") -> str:
    return f":{color}-badge[{_badge_text(text)}]"


def keyword_badges(keywords: list[str]) -> str:
    return " ".join(badge(f"#{kw}", "blue") for kw in keywords if kw.strip())


def meta_badges(meta: dict[str, Any]) -> str:
    """Where the chunk came from (page, slide, chapter, attachment, heading path) and whether its
    text was recognised by OCR, when the reader knew them."""
    parts = []
    pages = meta.get("pages")
    if isinstance(pages, list) and pages:
        first, last = pages[0], pages[-1]
        parts.append(badge("📄 " + t("chunks.meta_pages", first=first, last=last), "violet"))
    elif meta.get("page") is not None:
        parts.append(badge("📄 " + t("chunks.meta_page", page=meta["page"]), "violet"))
    slides = meta.get("slides")
    if isinstance(slides, list) and slides:
        parts.append(badge("🖼 " + t("chunks.meta_slides", first=slides[0], last=slides[-1]), "violet"))
    elif meta.get("slide") is not None:
        parts.append(badge("🖼 " + t("chunks.meta_slide", n=meta["slide"]), "violet"))
    parts.append(ocr_badge(meta.get("ocr")))
    for key, icon in (("chapter", "📖"), ("attachment", "📎")):
        if meta.get(key):
            parts.append(badge(f"{icon} {str(meta[key])[:60]}", "gray"))
    headings = meta.get("headings")
    if isinstance(headings, list) and headings:
        trail = " › ".join(str(h) for h in headings[-3:])
        parts.append(badge(f"§ {trail[:80]}", "gray"))
    if meta.get("sheet"):
        parts.append(badge(f"🗂 {meta['sheet']}" + (f" · {meta['row']}" if meta.get("row") else ""), "gray"))
    return " ".join(p for p in parts if p)


def ocr_badge(entries: object) -> str:
    """'OCR p. 2, 3 · 96%' when text was recognised from an image: the lowest confidence, orange when low."""
    if not isinstance(entries, list) or not entries:
        return ""
    scores = [float(e.get("confidence", 0)) for e in entries if isinstance(e, dict)]
    where = sorted({e.get("page") or e.get("slide") for e in entries if isinstance(e, dict)} - {None})
    confidence = f"{min(scores, default=0):.0%}"
    text = (t("chunks.meta_ocr_pages", pages=", ".join(map(str, where[:6])), confidence=confidence) if where
            else t("chunks.meta_ocr", confidence=confidence))
    return badge("🔍 " + text, "orange" if min(scores, default=0) < LOW_OCR_CONFIDENCE else "green")


def split_keywords(text: str) -> list[str]:
    """A comma-separated keyword field (also Chinese commas) -> unique keywords in order."""
    words = [w.strip() for w in re.split(r"[,，、;；]", text or "")]
    return list(dict.fromkeys(w for w in words if w))
