"""Zip-based formats (docx, xlsx, pptx, epub) are read only after their expanded size is checked.

A few kilobytes of zip can expand to gigabytes of XML. Python's zipfile never yields more than
an entry's declared size (it checks the CRC at the end), so the sum of the declared sizes in the
central directory bounds what any library reading through zipfile can unpack.
"""

from __future__ import annotations

import io
import zipfile

from core.errors import DocumentReadError
from core.ingestion.readers.base import ReadContext

MAX_ENTRIES = 10_000  # more members than any real office file or e-book has
# Zip bombs are extreme: 99 KB of .docx unpacking to 42 MB of XML is 424 times. Real office XML
# compresses 5-30 times (Apache POI refuses beyond 100 too); small parts are not worth checking.
MAX_RATIO, RATIO_CHECKED_FROM = 100, 10 * 2**20


def zip_names(data: bytes) -> list[str]:
    """Member names of a zip, [] when it is not a readable zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []


def check_expanded(data: bytes, ctx: ReadContext, label: str) -> None:
    """Refuse a zip-based file whose content would expand beyond the configured limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise DocumentReadError(f"The {label} file is corrupt or truncated and cannot be read") from None
    limit = ctx.limits.max_expanded_bytes
    expanded = sum(i.file_size for i in infos)
    if expanded > limit:
        raise DocumentReadError(
            f"The {label} file expands to {expanded / 2**20:,.0f} MB when unpacked, more than the limit of "
            f"{limit / 2**20:,.0f} MB for unpacked documents (setting ALMANAC_MAX_EXPANDED_MB)"
        )
    for info in infos:
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DocumentReadError(
                f"The {label} file looks like a zip bomb: its part {info.filename} unpacks from "
                f"{info.compress_size / 1024:,.0f} KB to {info.file_size / 2**20:,.0f} MB "
                f"({info.file_size // max(info.compress_size, 1):,} times; at most {MAX_RATIO} times is accepted)"
            )
    if len(infos) > MAX_ENTRIES:
        raise DocumentReadError(f"The {label} file holds {len(infos):,} parts, more than the {MAX_ENTRIES:,} "
                                "a document may have")


def open_zip(data: bytes, ctx: ReadContext, label: str) -> zipfile.ZipFile:
    check_expanded(data, ctx, label)
    return zipfile.ZipFile(io.BytesIO(data))
