"""RAGFlow's ids: UUIDs as 32 hex digits. A malformed one is refused with RAGFlow's wording (code 101)
before anything is looked up; RAGFlow requires version 1, Almanac's ids are version 4, so any version passes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError


def uuid_hex(value: Any) -> str:
    try:
        return UUID(value).hex if isinstance(value, str) else UUID(hex=str(value)).hex
    except (ValueError, TypeError, AttributeError):
        raise PydanticCustomError("invalid_UUID1_format", "Invalid UUID1 format") from None


RagflowId = Annotated[str, BeforeValidator(uuid_hex)]
