"""Tools for agents: the built-in catalogue, OpenAPI providers and MCP servers (see registry.ToolService)."""

from core.tools.base import (
    BoundTool,
    ProviderInfo,
    ToolContext,
    ToolInfo,
    ToolInput,
    ToolParam,
    ToolRef,
    ToolResult,
)
from core.tools.registry import ToolService

__all__ = ["BoundTool", "ProviderInfo", "ToolContext", "ToolInfo", "ToolInput", "ToolParam", "ToolRef", "ToolResult",
           "ToolService"]
