"""Offline OCR for Chinese and English: RapidOCR with the PP-OCRv4 ONNX models its wheel ships.

Nothing is downloaded: the detection, angle and recognition models are files inside the
`rapidocr-onnxruntime` package. The engine loads once per process, on first use (~1-2 s), in the
thread that first needs it (an ingestion worker, so its ONNX threads start at the worker's
priority). Calls are serialised: one recognition already keeps every core busy, so running two
at once would only make both slower.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from core.errors import DocumentReadError

log = logging.getLogger(__name__)

MIN_SIDE = 20  # pixels: below this no line of text can be legible
MAX_SIDE = 2400  # larger images are scaled down first; PP-OCR works at <= 2000 px anyway
DETECT_MIN_SIDE = 736  # RapidOCR's detector scales an image up until its short side is this long

_engine = None
_load_lock = threading.Lock()
_run_lock = threading.Lock()
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@dataclass
class OcrLine:
    text: str
    confidence: float
    top: float
    bottom: float
    left: float


@dataclass
class OcrPage:
    text: str  # lines in reading order; a blank line between paragraphs
    confidence: float  # mean line confidence weighted by length, 0..1 (0 when nothing was found)
    lines: list[OcrLine]


def _load():  # type: ignore[no-untyped-def]
    global _engine
    with _load_lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR

                _engine = RapidOCR()
            except Exception as exc:  # missing package or a system library (e.g. libGL for OpenCV)
                log.exception("the OCR engine could not be loaded")
                raise DocumentReadError(
                    f"Text recognition (OCR) is not available on this server ({type(exc).__name__}: {exc}); "
                    "ask the administrator to install the requirements"
                ) from None
    return _engine


def recognize(image) -> OcrPage:  # type: ignore[no-untyped-def]
    """Text of a PIL image. Raises DocumentReadError for an image too small to hold text."""
    import numpy as np

    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise DocumentReadError(
            f"The image is only {width}×{height} pixels, too small to read text from; "
            f"upload a larger scan or photo (at least {MIN_SIDE} pixels each way, ideally 150 dpi or more)"
        )
    if max(width, height) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    engine = _engine or _load()
    with _run_lock:
        # No per-line angle classifier: on clean upright scans it turned 3 of 24 lines upside down
        # (then dropped as unreadable), and a page scanned upside down is one rotation, not per line.
        result, _ = engine(np.asarray(_padded(image.convert("RGB"))), use_cls=False)
    lines = [
        OcrLine(text.strip(), float(score), min(p[1] for p in box), max(p[1] for p in box), min(p[0] for p in box))
        for box, text, score in (result or []) if text.strip()
    ]
    return OcrPage(_layout(lines), _confidence(lines), lines)


def _padded(image):  # type: ignore[no-untyped-def]
    """A wide strip (a one-line label, a cropped sentence) padded with white to at most 2:1.

    The detector enlarges the short side to DETECT_MIN_SIDE: a 1100x170 strip would become
    4800x736 (5x the pixels of a page, ~10x slower); padded first it becomes about 1500x736."""
    from PIL import Image

    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short >= DETECT_MIN_SIDE or long <= 2 * short:
        return image
    canvas = Image.new("RGB", (max(width, long // 2), max(height, long // 2)), "white")
    canvas.paste(image, (0, 0))
    return canvas


def _confidence(lines: list[OcrLine]) -> float:
    weight = sum(len(line.text) for line in lines)
    return round(sum(line.confidence * len(line.text) for line in lines) / weight, 4) if weight else 0.0


def _layout(lines: list[OcrLine]) -> str:
    """Boxes -> text: boxes whose vertical middles fall within one row join left to right;
    a gap larger than a line's height between rows starts a new paragraph."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.top, item.left)):
        middle = (line.top + line.bottom) / 2
        if rows and rows[-1][0].top <= middle <= rows[-1][0].bottom:
            rows[-1].append(line)
        else:
            rows.append([line])
    out: list[str] = []
    previous_bottom = None
    for row in rows:
        row.sort(key=lambda item: item.left)
        height = max(item.bottom - item.top for item in row)
        if previous_bottom is not None and row[0].top - previous_bottom > height:
            out.append("")
        out.append(_join(item.text for item in row))
        previous_bottom = max(item.bottom for item in row)
    return "\n".join(out)


def _join(parts) -> str:  # type: ignore[no-untyped-def]
    text = ""
    for part in parts:
        glue = "" if not text or (_CJK.match(text[-1]) and _CJK.match(part[0])) else " "
        text += glue + part
    return text
