"""Documents generated on the fly for tests: scans, mixed PDFs, slides, e-books."""

from __future__ import annotations

import io
import subprocess
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest

CJK_FONTS = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
             Path("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc"))


@lru_cache(maxsize=1)
def cjk_font_path() -> str:
    """A font with Chinese and Latin glyphs (Debian fonts-noto-cjk); skips the test without one."""
    for path in CJK_FONTS:
        if path.exists():
            return str(path)
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if "CJK" not in found:
        pytest.skip("needs a CJK font (Debian fonts-noto-cjk)")
    return found


def text_image(lines: list[str], size: int = 30, width: int = 1100, mode: str = "RGB", background="white"):  # type: ignore[no-untyped-def]
    """A PIL image of `lines` in black, like a clean scan."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(cjk_font_path(), size)
    height = 60 + int(size * 1.9) * len(lines)
    image = Image.new(mode, (width, height), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 30 + int(size * 1.9) * i), line, font=font, fill="black")
    return image


def image_bytes(image, fmt: str = "PNG") -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def scanned_pdf(images: list) -> bytes:  # type: ignore[type-arg]
    """A PDF whose pages are only pictures (no text layer), as a scanner makes."""
    buf = io.BytesIO()
    first, *rest = [im.convert("RGB") for im in images]
    first.save(buf, format="PDF", save_all=True, append_images=rest, resolution=150)
    return buf.getvalue()


def mixed_pdf(pages: list) -> bytes:  # type: ignore[type-arg]
    """fpdf2 PDF: a str page is typed text (a text layer), a PIL image page is a full-page picture."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for page in pages:
        pdf.add_page()
        if isinstance(page, str):
            pdf.multi_cell(0, 7, page)
        else:
            pdf.image(page, x=10, y=10, w=190)
    return bytes(pdf.output())


def pptx_bytes(slides: list[dict]) -> bytes:
    """slides: {"title", "bullets": [...], "table": [[...]], "notes", "picture": PIL image}."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    for spec in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1 if spec.get("title") else 6])
        if spec.get("title"):
            slide.shapes.title.text = spec["title"]
            slide.placeholders[1].text = "\n".join(spec.get("bullets", []))
        if spec.get("table"):
            rows = spec["table"]
            shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(1), Inches(4.5), Inches(8), Inches(1.5))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
        if spec.get("picture") is not None:
            slide.shapes.add_picture(io.BytesIO(image_bytes(spec["picture"])), Inches(0.5), Inches(0.5), Inches(9))
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def epub_bytes(title: str, chapters: list[tuple[str, str]]) -> bytes:
    """An EPUB 3 written by hand: (chapter title, paragraph) in spine order, with a nav document."""
    items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
                    for i in range(len(chapters)))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    nav_links = "".join(f'<li><a href="text/c{i}.xhtml">{t}</a></li>' for i, (t, _) in enumerate(chapters))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                    'full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
        zf.writestr("OEBPS/content.opf", f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
                    f'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
                    f'</metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
                    f'properties="nav"/>{items}</manifest><spine>{spine}</spine></package>')
        zf.writestr("OEBPS/nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml" '
                    'xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>'
                    f'{nav_links}</ol></nav></body></html>')
        for i, (chapter, body) in enumerate(chapters):
            zf.writestr(f"OEBPS/text/c{i}.xhtml", f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{chapter}'
                        f'</title></head><body><h1>{chapter}</h1><p>{body}</p></body></html>')
    return buf.getvalue()
