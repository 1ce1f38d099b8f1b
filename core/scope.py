"""Helpers every service shares: tenant-scoped loading and readable validation errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from storage.orm import KnowledgeBase


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


def load_kb(s: Session, tenant_id: str, kb_id: str) -> KnowledgeBase:
    """The tenant's knowledge base, or NotFound — another tenant's id looks just like a missing one."""
    kb = s.get(KnowledgeBase, kb_id)
    if kb is None or kb.tenant_id != tenant_id:
        raise NotFound(f"Knowledge base '{kb_id}' not found")
    return kb


def check_paging(page: int, page_size: int) -> None:
    if page < 1 or page_size < 1:
        raise InvalidInput("page and page_size must be positive")
