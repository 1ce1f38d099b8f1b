"""EPUB e-books: chapters in spine order, each titled from the table of contents."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from core.errors import DocumentReadError
from core.ingestion.readers.archive import open_zip
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section
from core.ingestion.readers.html_page import html_to_text

LABEL = "EPUB e-book"
_FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")


def _xml(zf, name: str):  # type: ignore[no-untyped-def]
    from defusedxml import ElementTree  # no entity expansion, no external references

    return ElementTree.fromstring(zf.read(name))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(root, name: str):  # type: ignore[no-untyped-def]
    return [el for el in root.iter() if _local(el.tag) == name]


def _check_drm(zf) -> None:  # type: ignore[no-untyped-def]
    if "META-INF/encryption.xml" not in zf.namelist():
        return
    methods = [el.get("Algorithm", "") for el in _find_all(_xml(zf, "META-INF/encryption.xml"), "EncryptionMethod")]
    if any(m not in _FONT_OBFUSCATION for m in methods):  # fonts alone may be obfuscated legitimately
        raise DocumentReadError("The e-book is protected by DRM (encrypted); upload a DRM-free EPUB")


def _toc_titles(zf, opf_dir: str, manifest: dict, spine_toc: str | None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Chapter file -> its first title in the EPUB 3 navigation document or the EPUB 2 NCX."""
    titles: dict[str, str] = {}
    nav = next((href for href, _, props in manifest.values() if "nav" in props.split()), None)
    ncx = manifest[spine_toc][0] if spine_toc in manifest else None
    if nav:
        base = posixpath.dirname(nav)
        for a in _find_all(_xml(zf, nav), "a"):
            target = posixpath.normpath(posixpath.join(base, unquote((a.get("href") or "").split("#")[0])))
            titles.setdefault(target, " ".join("".join(a.itertext()).split()))
    elif ncx:
        base = posixpath.dirname(ncx)
        for point in _find_all(_xml(zf, ncx), "navPoint"):
            label = next((" ".join("".join(t.itertext()).split()) for t in _find_all(point, "text")), "")
            src = next((c.get("src", "") for c in _find_all(point, "content")), "")
            titles.setdefault(posixpath.normpath(posixpath.join(base, unquote(src.split("#")[0]))), label)
    return titles


def _read_epub(data: bytes, ctx: ReadContext) -> ParsedDocument:
    zf = open_zip(data, ctx, LABEL)
    with zf:
        _check_drm(zf)
        rootfile = next((el.get("full-path") for el in _find_all(_xml(zf, "META-INF/container.xml"), "rootfile")), None)
        if not rootfile:
            raise DocumentReadError("The EPUB file has no package document (META-INF/container.xml names none)")
        opf = _xml(zf, rootfile)
        opf_dir = posixpath.dirname(rootfile)
        manifest = {
            el.get("id"): (posixpath.normpath(posixpath.join(opf_dir, unquote(el.get("href", "")))),
                           el.get("media-type", ""), el.get("properties", ""))
            for el in _find_all(opf, "item")
        }
        spine = next(iter(_find_all(opf, "spine")), None)
        titles = _toc_titles(zf, opf_dir, manifest, spine.get("toc") if spine is not None else None)
        sections = []
        for itemref in _find_all(opf, "itemref") if spine is not None else []:
            href, media, _ = manifest.get(itemref.get("idref"), ("", "", ""))
            if not href or "html" not in media or href not in zf.namelist():
                continue
            page_title, text = html_to_text(zf.read(href))
            heading = next((line.lstrip("# ") for line in text.split("\n") if line.startswith("#")), "")
            title = titles.get(href) or heading or page_title
            sections.append(Section(text, {"chapter": title} if title else {}))
    return ParsedDocument("epub", sections)


READER = Reader(kind="epub", label=LABEL, extensions=(".epub",), read=_read_epub,
                zip_member="META-INF/container.xml")
