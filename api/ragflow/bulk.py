"""RAGFlow's bulk requests and lenient paging, shared by its resources.

Bulk: an empty or missing id list means every item; an id given twice is acted on once and reported
(`Duplicate <item> ids: <id>`), not refused; ids that name nothing are reported while the others are
acted on. Each resource words the outcome as RAGFlow does (`Outcome.answer`).
Paging: `page=0` is the first page; `page_size=0` an empty page (the total is still counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from api.common.paging import MAX_IDS, MAX_PAGE, MAX_PAGE_SIZE, duplicates
from api.ragflow.errors import data_error

RagflowPage = Annotated[int, Query(ge=0, le=MAX_PAGE, description="1-based page number (0 = 1)")]
RagflowPageSize = Annotated[int, Query(ge=0, le=MAX_PAGE_SIZE, description="items per page (0 = none)")]


def page_window(page: int, page_size: int) -> tuple[int, int]:
    """[start, stop) of a page in a full list."""
    start = (max(page, 1) - 1) * page_size
    return start, start + page_size


class BulkIds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ids: list[str] | None = Field(None, max_length=MAX_IDS)


@dataclass
class Outcome:
    """What a bulk request found: the items by id (each once, in order), the ids that name none, and one
    message per id given more than once."""

    found: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, ids: list[str], items: dict[str, Any], noun: str) -> Outcome:
        unique = list(dict.fromkeys(ids))
        return cls(found={i: items[i] for i in unique if i in items}, missing=[i for i in unique if i not in items],
                   duplicates=[f"Duplicate {noun} ids: {i}" for i in duplicates(ids)])

    def answer(self, partial: str, errors: list[str] | None = None, joiner: str = ";") -> dict[str, Any]:
        """Success; with errors (the duplicates unless given), RAGFlow's partial success (`partial` worded
        with {n} done and {e} errors) when something was done, else a data error joining them."""
        errors = self.duplicates if errors is None else errors
        if not errors:
            return {"code": 0}
        if not self.found:
            raise data_error(joiner.join(errors))
        return {"code": 0, "message": partial.format(n=len(self.found), e=len(errors)),
                "data": {"success_count": len(self.found), "errors": errors}}
