"""What every tool is, whatever its source (built-in, OpenAPI provider, MCP server).

Shapes follow LLMOps' plugin API (2.1-2.4): a provider with tools; each tool has `inputs`
(what the LLM fills in) and `params` (settings chosen when the tool is added to an agent).
An agent stores ToolRefs; at run time they are bound into BoundTools the agent loop can call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProviderKind = Literal["builtin", "api", "mcp"]
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI accepts as a function name


class ToolInput(BaseModel):
    """One argument the LLM fills in. type: string | number | integer | boolean | object | array."""

    name: str
    description: str = ""
    required: bool = False
    type: str = "string"


class ParamOption(BaseModel):
    label: str
    value: str


class ToolParam(BaseModel):
    """One setting of a tool, chosen by whoever adds the tool to an agent."""

    name: str
    label: str
    type: Literal["string", "number", "boolean", "select"] = "string"
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    help: str = ""
    options: list[ParamOption] = Field(default_factory=list)


class ToolInfo(BaseModel):
    name: str
    label: str = ""
    description: str = ""
    inputs: list[ToolInput] = Field(default_factory=list)
    params: list[ToolParam] = Field(default_factory=list)


class ProviderInfo(BaseModel):
    id: str  # built-in: its name; api / mcp: the row id
    kind: ProviderKind
    name: str
    label: str = ""
    description: str = ""
    icon: str = ""  # built-in: an asset name served by the API; api / mcp: whatever the user gave (URL)
    background: str = "#E5E7EB"
    category: str = ""
    tools: list[ToolInfo] = Field(default_factory=list)
    headers: list[dict[str, str]] = Field(default_factory=list)  # api: values of secret-looking keys masked
    config: dict[str, Any] = Field(default_factory=dict)  # api: {"openapi_schema"}; mcp: transport, url, command...
    status: str = "ok"  # mcp: result of the last connection
    status_message: str = ""
    needs_setup: str = ""  # built-in providers that need a key: what to configure ("" when ready)
    created_at: datetime | None = None


class ToolRef(BaseModel):
    """A tool chosen for an agent, as stored with the agent's configuration."""

    model_config = ConfigDict(extra="forbid")
    type: ProviderKind = "builtin"
    provider: str  # built-in provider name, or the id of an api / mcp provider
    tool: str
    params: dict[str, Any] = Field(default_factory=dict)


class ToolResult(BaseModel):
    content: str = ""  # what the LLM reads
    # Knowledge passages (core.prompting.passage dicts). The agent numbers them for citations
    # and renders them for the LLM, so a tool that returns passages may leave content empty.
    references: list[dict[str, Any]] = Field(default_factory=list)
    is_error: bool = False


@dataclass
class ToolContext:
    """What a bound tool may need from the run: whose it is and which knowledge bases it may read."""

    tenant_id: str
    kb_ids: list[str] = field(default_factory=list)
    timeout: float = 30.0  # seconds a single call may take


@dataclass
class BoundTool:
    """A tool ready to call: the function the LLM sees plus the code that runs it."""

    name: str  # unique within one agent run; matches FUNCTION_NAME
    label: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments
    run: Callable[[dict[str, Any]], ToolResult]
    provider: str = ""  # built-in provider name, or the id of an api / mcp provider
    provider_label: str = ""

    def openai_spec(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description[:1024],
                             "parameters": self.parameters}}


def json_schema(inputs: list[ToolInput]) -> dict[str, Any]:
    """The JSON schema of a tool's inputs, as function calling wants it."""
    props = {i.name: {"type": i.type, "description": i.description} for i in inputs}
    for i in inputs:
        if i.type == "array":
            props[i.name]["items"] = {}
    return {"type": "object", "properties": props, "required": [i.name for i in inputs if i.required]}


def function_name(name: str, taken: set[str]) -> str:
    """A valid, unique function name for `name` (OpenAI allows [A-Za-z0-9_-]{1,64})."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60] or "tool"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate
