"""Request pieces every LLMOps resource shares: paging, search words, names and icons."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, Field, StringConstraints

from api.common.paging import MAX_PAGE

MAX_PAGE_SIZE = 50  # LLMOps: page_size is 1..50

CurrentPage = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page (1-50)")]
SearchWord = Annotated[str, Query(max_length=200, description="matches names (or segment content) in part; "
                                                               "empty = everything")]


def _url(value: str) -> str:
    if value and not value.startswith(("http://", "https://", "/")):
        raise ValueError("must be an image URL (http://, https:// or a path on this server)")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
IconUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), AfterValidator(_url)]
Description = Annotated[str, Field(max_length=2000)]
