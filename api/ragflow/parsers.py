"""RAGFlow's chunk methods and parser_config, mapped onto Almanac's splitting strategies.

RAGFlow names twelve chunk methods; Almanac has five splitters (general, markdown, qa, table,
one). Each RAGFlow method maps to the closest one; the RAGFlow name and parser_config are kept
verbatim (knowledge base `extra`) so clients read back what they set. Approximations:
manual/paper/book/laws split by headings (markdown), presentation/email/knowledge_graph split
as general text (no entity graph is built), picture keeps a file as one chunk (its OCR text for images).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.ragflow.errors import ARGUMENT, DialectError
from core.schemas import ChunkConfig

CHUNK_METHODS: dict[str, str] = {
    "naive": "general", "manual": "markdown", "qa": "qa", "table": "table", "paper": "markdown",
    "book": "markdown", "laws": "markdown", "presentation": "general", "picture": "one", "one": "one",
    "knowledge_graph": "general", "email": "general",
}
# The RAGFlow name shown for a core method when nothing more precise is known.
CANONICAL = {"general": "naive", "markdown": "manual", "qa": "qa", "table": "table", "one": "one"}
DEFAULT_DELIMITER = "\n"
RAPTOR_OFF = {"use_raptor": False}
ENTITY_TYPES = ["organization", "person", "location", "event", "time"]
MIN_CORE_CHUNK = 16  # Almanac's smallest chunk (RAGFlow allows 1)


class ParserConfig(BaseModel):
    """The keys RAGFlow's parser_config accepts; others are refused as RAGFlow does."""

    model_config = ConfigDict(extra="forbid")
    chunk_token_num: int | None = Field(None, ge=1, le=2048)
    chunk_token_count: int | None = Field(None, ge=1, le=2048)  # the spec's spelling of chunk_token_num
    delimiter: str | None = Field(None, min_length=1)
    layout_recognize: bool | str | None = None
    html4excel: bool | None = None
    task_page_size: int | None = Field(None, ge=1)
    raptor: dict[str, Any] | None = None
    graphrag: dict[str, Any] | None = None
    entity_types: list[str] | None = None
    auto_keywords: int | None = Field(None, ge=0, le=32)
    auto_questions: int | None = Field(None, ge=0, le=10)
    overlapped_percent: float | None = Field(None, ge=0, lt=100)
    tag_kb_ids: list[str] | None = None
    topn_tags: int | None = Field(None, ge=1, le=10)
    filename_embd_weight: float | None = Field(None, ge=0, le=1)
    pages: list[Any] | None = None


def check_method(method: str | None) -> str:
    if method not in CHUNK_METHODS:
        raise DialectError(ARGUMENT, f"Field: <chunk_method> - Message: <Input should be "
                                             f"{', '.join(repr(m) for m in CHUNK_METHODS)}> - Value: <{method}>")
    return method


def default_parser_config(method: str) -> dict[str, Any]:
    if method == "naive":
        return {"chunk_token_num": 128, "delimiter": DEFAULT_DELIMITER, "html4excel": False,
                "layout_recognize": True, "raptor": dict(RAPTOR_OFF)}
    if method == "knowledge_graph":
        return {"chunk_token_num": 128, "delimiter": DEFAULT_DELIMITER, "entity_types": list(ENTITY_TYPES)}
    if method in ("qa", "manual", "paper", "book", "laws", "presentation"):
        return {"raptor": dict(RAPTOR_OFF)}
    return {}


def merge_parser_config(method: str, given: dict | None, base: dict | None = None) -> dict[str, Any]:
    """`given` over `base` (or the method's defaults), validated; chunk_token_count becomes chunk_token_num."""
    if given is not None and not isinstance(given, dict):
        raise DialectError(ARGUMENT, "Field: <parser_config> - Message: <Input should be a valid dictionary>")
    try:
        parsed = ParserConfig.model_validate(given or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise DialectError(ARGUMENT, f"Field: <parser_config.{where}> - Message: <{err['msg']}>") from None
    values = parsed.model_dump(exclude_none=True)
    if "chunk_token_count" in values:
        values["chunk_token_num"] = values.pop("chunk_token_count")
    return {**(default_parser_config(method) if base is None else base), **values}


def delimiter_separators(delimiter: str) -> list[str]:
    """RAGFlow's delimiter string (each character cuts; `multi-char` in backticks) as Almanac separator regexes."""
    text = delimiter.replace("\\n", "\n").replace("\\t", "\t")
    multi = re.findall(r"`([^`]+)`", text)
    singles = dict.fromkeys(re.sub(r"`[^`]+`", "", text))
    patterns = [re.escape(m) for m in multi]
    if singles:
        patterns.append("[" + "".join(re.escape(c) for c in singles) + "]")
    return patterns


def core_chunk_config(method: str, parser_config: dict[str, Any]) -> dict[str, Any]:
    """The Almanac ChunkConfig (as a dict) that carries out a RAGFlow chunk method and parser_config."""
    size = max(MIN_CORE_CHUNK, int(parser_config.get("chunk_token_num") or 512))
    overlap = int(size * float(parser_config.get("overlapped_percent") or 0) / 100)
    config = {"method": CHUNK_METHODS[method], "chunk_size": size, "chunk_overlap": min(overlap, size - 1),
              "separators": delimiter_separators(parser_config["delimiter"]) if parser_config.get("delimiter") else []}
    if parser_config.get("auto_keywords") is not None:
        config["keywords_per_chunk"] = min(int(parser_config["auto_keywords"]), 30)
    return ChunkConfig.model_validate(config).model_dump()


def method_of(core_config: ChunkConfig | None, preferred: str) -> str:
    """The RAGFlow name for a core config: `preferred` (the dataset's) when it maps to the same splitter."""
    if core_config is None or CHUNK_METHODS.get(preferred) == core_config.method:
        return preferred
    return CANONICAL.get(core_config.method, "naive")
