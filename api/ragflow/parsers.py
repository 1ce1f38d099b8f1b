"""RAGFlow's chunk methods and parser_config, mapped onto Almanac's splitting strategies.

A dataset's parser_config is validated the way RAGFlow validates it (strict types, ranges, nested `raptor`
and `graphrag` blocks, no unknown keys) and kept verbatim in the knowledge base's `extra`, with RAGFlow's
defaults filled in, so clients read back what they set. A document's parser_config is free-form in RAGFlow
(it is merged into the document's settings unchecked) and kept the same way on the document.

RAGFlow names thirteen chunk methods; Almanac has five splitters (general, markdown, qa, table, one). Each
RAGFlow method maps to the closest one. Approximations: manual/paper/book/laws split by headings (markdown),
presentation/email/knowledge_graph/tag split as general text (no entity graph is built), picture keeps a file
as one chunk (its OCR text for images). RAPTOR, GraphRAG, auto_questions and layout_recognize are kept but have no effect.
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from core.schemas import ChunkConfig

CHUNK_METHODS: dict[str, str] = {
    "naive": "general", "manual": "markdown", "qa": "qa", "table": "table", "paper": "markdown",
    "book": "markdown", "laws": "markdown", "presentation": "general", "picture": "one", "one": "one",
    "knowledge_graph": "general", "email": "general", "tag": "general",
}
# The methods a dataset may use (documents may also use knowledge_graph), in RAGFlow's order.
DatasetMethod = Literal["naive", "book", "email", "laws", "manual", "one", "paper", "picture", "presentation", "qa",
                        "table", "tag"]
# The RAGFlow name shown for a core method when nothing more precise is known.
CANONICAL = {"general": "naive", "markdown": "manual", "qa": "qa", "table": "table", "one": "one"}
MIN_CORE_CHUNK = 16  # Almanac's smallest chunk (RAGFlow allows 1)
MAX_CONFIG_CHARS = 65535
RAPTOR_PROMPT = ("Please summarize the following paragraphs. Be careful with the numbers, do not make things up. "
                 "Paragraphs as following:\n      {cluster_content}\nThe above is the content you need to summarize.")
GRAPH_ENTITY_TYPES = ["organization", "person", "geo", "event", "category"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RaptorConfig(Strict):
    use_raptor: bool = False
    prompt: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = RAPTOR_PROMPT
    max_token: int = Field(256, ge=1, le=2048)
    threshold: float = Field(0.1, ge=0.0, le=1.0)
    max_cluster: int = Field(64, ge=1, le=1024)
    random_seed: int = Field(0, ge=0)


class GraphragConfig(Strict):
    use_graphrag: bool = False
    entity_types: list[str] = Field(default_factory=lambda: list(GRAPH_ENTITY_TYPES))
    method: Literal["light", "general"] = "light"
    community: bool = False
    resolution: bool = False


class ParserConfig(Strict):
    """A dataset's parser_config as RAGFlow accepts it; unset keys take these defaults."""

    auto_keywords: int = Field(0, ge=0, le=32)
    auto_questions: int = Field(0, ge=0, le=10)
    chunk_token_num: int = Field(512, ge=1, le=2048)
    delimiter: str = Field(r"\n", min_length=1)
    graphrag: GraphragConfig = Field(default_factory=GraphragConfig)
    html4excel: bool = False
    layout_recognize: str = "DeepDOC"
    raptor: RaptorConfig = Field(default_factory=RaptorConfig)
    tag_kb_ids: list[str] = Field(default_factory=list)
    topn_tags: int = Field(1, ge=1, le=10)
    filename_embd_weight: float | None = Field(0.1, ge=0.0, le=1.0)
    task_page_size: int | None = Field(None, ge=1)
    pages: list[list[int]] | None = None

    @model_validator(mode="after")
    def _bounded_size(self) -> ParserConfig:
        if (size := len(self.model_dump_json())) > MAX_CONFIG_CHARS:
            raise PydanticCustomError("string_too_long", "Parser config exceeds size limit (max 65,535 characters). "
                                      "Current size: {actual}", {"actual": size})
        return self


NAIVE_DEFAULTS: dict[str, Any] = {
    "layout_recognize": "DeepDOC", "chunk_token_num": 512, "delimiter": "\n", "auto_keywords": 0, "auto_questions": 0,
    "html4excel": False, "topn_tags": 3,
    "raptor": {"use_raptor": True, "prompt": RAPTOR_PROMPT, "max_token": 256, "threshold": 0.1, "max_cluster": 64,
               "random_seed": 0},
    "graphrag": {"use_graphrag": True, "entity_types": list(GRAPH_ENTITY_TYPES), "method": "light"},
}
OFF = {"raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}}
KNOWLEDGE_GRAPH_DEFAULTS = {"chunk_token_num": 8192, "delimiter": r"\n",
                            "entity_types": ["organization", "person", "location", "event", "time"], **OFF}


def default_parser_config(method: str) -> dict[str, Any]:
    """RAGFlow's parser_config for a method when none is given (an empty dict where RAGFlow has none)."""
    if method == "naive":
        return copy.deepcopy(NAIVE_DEFAULTS)
    if method == "knowledge_graph":
        return copy.deepcopy(KNOWLEDGE_GRAPH_DEFAULTS)
    if method in ("qa", "manual", "paper", "book", "laws", "presentation"):
        return copy.deepcopy(OFF)
    return {}


def deep_merge(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given` over `base`, nested dicts merged key by key."""
    merged = copy.deepcopy(base)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def creation_config(method: str, given: ParserConfig | None) -> dict[str, Any]:
    """A new dataset's parser_config: the method's defaults, overlaid with every field of a given config."""
    if given is None:
        return default_parser_config(method)
    return deep_merge(default_parser_config(method), given.model_dump())


def delimiter_separators(delimiter: str) -> list[str]:
    """RAGFlow's delimiter string (each character cuts; `multi-char` in backticks) as Almanac separator regexes."""
    text = delimiter.replace("\\n", "\n").replace("\\t", "\t")
    multi = re.findall(r"`([^`]+)`", text)
    singles = dict.fromkeys(re.sub(r"`[^`]+`", "", text))
    patterns = [re.escape(m) for m in multi]
    if singles:
        patterns.append("[" + "".join(re.escape(c) for c in singles) + "]")
    return patterns


def number(value: Any, default: float) -> float:
    """A numeric setting, or the default when a (free-form) document config holds something else."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def core_chunk_config(method: str, parser_config: dict[str, Any]) -> dict[str, Any]:
    """The Almanac ChunkConfig (as a dict) that carries out a RAGFlow chunk method and parser_config."""
    size = min(8192, max(MIN_CORE_CHUNK, int(number(parser_config.get("chunk_token_num"), 512))))
    overlap = int(size * min(max(number(parser_config.get("overlapped_percent"), 0), 0), 99) / 100)
    delimiter = parser_config.get("delimiter")
    config = {"method": CHUNK_METHODS.get(method, "general"), "chunk_size": size,
              "chunk_overlap": min(overlap, size - 1),
              "separators": delimiter_separators(delimiter) if isinstance(delimiter, str) and delimiter else []}
    if (keywords := int(number(parser_config.get("auto_keywords"), 0))) > 0:  # 0 (RAGFlow's "off"): our default
        config["keywords_per_chunk"] = min(keywords, 30)
    return ChunkConfig.model_validate(config).model_dump()


def method_of(core_config: ChunkConfig | None, preferred: str) -> str:
    """The RAGFlow name for a core config: `preferred` (the dataset's) when it maps to the same splitter."""
    if core_config is None or CHUNK_METHODS.get(preferred) == core_config.method:
        return preferred
    return CANONICAL.get(core_config.method, "naive")
