"""Bounds every dialect shares for paging and id lists (out of range -> that dialect's validation error)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Query

from core.scope import MAX_PAGE, MAX_PAGE_SIZE

MAX_IDS = 10_000  # ids in one bulk request

__all__ = ["MAX_IDS", "MAX_PAGE", "MAX_PAGE_SIZE", "PageParam", "PageSizeParam", "duplicates"]


def duplicates(ids: list[str]) -> list[str]:
    """The ids given more than once, in order of first appearance."""
    counts = Counter(ids)
    return [i for i in dict.fromkeys(ids) if counts[i] > 1]


PageParam = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSizeParam = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")]
