"""Helpers every service shares: tenant-scoped loading and readable validation errors."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from storage.orm import Document, KnowledgeBase

T = TypeVar("T")


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors as one readable sentence: `field: problem; field: problem`."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def parse_config(model: type, value: Any) -> Any:
    try:
        return model.model_validate(value or {})
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from exc


def load_owned(s: Session, model: type[T], row_id: str, tenant_id: str, label: str, **parent: Any) -> T:
    """The tenant's row, or NotFound — another tenant's id looks just like a missing one.

    `parent` narrows the lookup to one parent (e.g. `kb_id=...` for a document): a row of another parent
    is not found either, so callers addressing `/datasets/{kb}/documents/{doc}` need no check of their own.
    """
    row = s.get(model, row_id) if isinstance(row_id, str) and row_id else None
    if (row is None or row.tenant_id != tenant_id
            or any(value is not None and getattr(row, key) != value for key, value in parent.items())):
        raise NotFound(f"{label} '{row_id}' not found", kind=model.__tablename__.removesuffix("s"), ident=row_id)
    return row


def load_kb(s: Session, tenant_id: str, kb_id: str) -> KnowledgeBase:
    return load_owned(s, KnowledgeBase, kb_id, tenant_id, "Knowledge base")


def load_document(s: Session, tenant_id: str, doc_id: str, kb_id: str | None = None) -> Document:
    """The tenant's document; with `kb_id`, that knowledge base is checked first (its NotFound names it)."""
    if kb_id is not None:
        load_kb(s, tenant_id, kb_id)
    return load_owned(s, Document, doc_id, tenant_id, "Document", kb_id=kb_id)


MAX_PAGE, MAX_PAGE_SIZE = 1_000_000, 100_000  # page * page_size stays far inside a database integer


def check_paging(page: int, page_size: int) -> None:
    if page < 1 or page_size < 1:
        raise InvalidInput("page and page_size must be positive")
    if page > MAX_PAGE or page_size > MAX_PAGE_SIZE:
        raise InvalidInput(f"page must be at most {MAX_PAGE:,} and page_size at most {MAX_PAGE_SIZE:,}")
