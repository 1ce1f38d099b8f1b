"""Core objects in AgentChat's field names (its tables' `to_dict()`), and AgentChat's tool and MCP ids in core terms.

Tools: a built-in tool's AgentChat id is its name (`calculator`, `current_time`, ...); a tool the workspace
made is one of its API tool providers, whose id is the tool id. An agent's `tool_ids` and `mcp_ids` become
whole-provider tool refs (every tool the provider has when the agent runs), so they read back as given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.assistants import AssistantInfo
from core.conversations import ConversationInfo, MessageInfo
from core.schemas import KnowledgeBaseInfo
from core.tools.base import ProviderInfo, ToolInfo
from core.users import UserInfo

KB_TOOL = "kb_search"  # added by knowledge_ids, not chosen as a tool
EVERY_TOOL = "*"
BUILTIN_ZH = {"calculator": "计算器", "current_time": "当前时间", "http_request": "HTTP 请求",
              "web_reader": "网页阅读", "web_search": "联网搜索", "image_generation": "图片生成"}


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def user_view(u: UserInfo) -> dict[str, Any]:
    return {"user_id": u.id, "user_name": u.name, "user_email": u.email or None, "user_avatar": u.avatar,
            "user_description": u.description, "workspace_id": u.tenant_id, "role": u.role, "delete": u.disabled,
            "create_time": when(u.created_at), "update_time": when(u.updated_at)}


# ---------------------------------------------------------------------------------------------- agents
def tool_refs(tool_ids: list[str], mcp_ids: list[str], builtin_names: set[str]) -> list[Any]:
    """AgentChat's tool and MCP ids as core tool refs (unknown ids are named by the core's validation)."""
    refs: list[Any] = [i if i in builtin_names else {"type": "api", "provider": i, "tool": EVERY_TOOL}
                       for i in tool_ids]
    return refs + [{"type": "mcp", "provider": i, "tool": EVERY_TOOL} for i in mcp_ids]


def tool_ids_of(tools: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(tool_ids, mcp_ids) of an agent's tool refs, in order, each once."""
    tool_ids, mcp_ids = {}, {}
    for ref in tools:
        kind = ref.get("type", "builtin")
        if kind == "builtin" and ref.get("tool") != KB_TOOL:
            tool_ids[ref.get("tool", "")] = None
        elif kind == "api":
            tool_ids[ref.get("provider", "")] = None
        elif kind == "mcp":
            mcp_ids[ref.get("provider", "")] = None
    return list(tool_ids), list(mcp_ids)


def memory_on(a: AssistantInfo) -> bool:
    return a.strategy.memory_mode == "long_term_memory"


def agent_view(a: AssistantInfo) -> dict[str, Any]:
    tool_ids, mcp_ids = tool_ids_of(a.tools)
    return {"id": a.id, "agent_id": a.id, "name": a.name, "description": a.description, "logo_url": a.avatar,
            "system_prompt": a.prompt.system, "llm_id": a.llm.model_id, "enable_memory": memory_on(a),
            "use_embedding": memory_on(a), "tool_ids": tool_ids, "mcp_ids": mcp_ids, "knowledge_ids": a.kb_ids,
            "agent_skill_ids": [], "is_custom": True, "create_time": when(a.created_at),
            "update_time": when(a.updated_at)}


# ---------------------------------------------------------------------------------------------- dialogs
def dialog_view(c: ConversationInfo, agent: AssistantInfo | None = None) -> dict[str, Any]:
    view = {"dialog_id": c.id, "name": c.title, "agent_id": c.assistant_id, "agent_type": "Agent",
            "create_time": when(c.created_at), "update_time": when(c.updated_at)}
    if agent is not None:
        view.update({"logo_url": agent.avatar, "description": agent.description, "agent_name": agent.name})
    return view


def tool_event(status: str, name: str, message: str, at: float) -> dict[str, Any]:
    """A tool step as AgentChat streams and stores it."""
    return {"type": "event", "timestamp": at,
            "data": {"status": status, "title": f"执行可用工具: {name}", "message": message}}


def trace_events(m: MessageInfo) -> list[dict[str, Any]]:
    at = m.created_at.timestamp()
    events = []
    for step in m.trace:
        name = step.get("name", "")
        if step.get("type") == "tool_call":
            events.append(tool_event("START", name, f"正在调用插件工具 {name}...", at))
        elif step.get("type") == "tool_result":
            events.append(tool_event("ERROR" if step.get("is_error") else "END", name, step.get("content", ""), at))
    return events


def history_view(m: MessageInfo) -> dict[str, Any]:
    return {"id": m.id, "dialog_id": m.conversation_id, "role": m.role, "content": m.content,
            "events": trace_events(m), "files": [{"name": a.get("name", ""), "file_id": a.get("file_id", "")} for a in m.attachments], "like": m.feedback,
            "create_time": when(m.created_at), "update_time": when(m.created_at)}


# ---------------------------------------------------------------------------------------------- knowledge
def file_size(n: int) -> str:
    """AgentChat's format_file_size: 1536 -> "1.5KB"."""
    size, units = float(n), ["B", "KB", "MB", "GB", "TB"]
    unit = 0
    while size >= 1024 and unit < len(units) - 1:
        size /= 1024
        unit += 1
    return f"{round(size, 2):g}{units[unit]}"


def knowledge_view(kb: KnowledgeBaseInfo) -> dict[str, Any]:
    return {"id": kb.id, "knowledge_id": kb.id, "name": kb.name, "description": kb.description or None,
            "count": kb.document_count, "file_size": file_size(kb.size), "create_time": when(kb.created_at),
            "update_time": when(kb.updated_at)}


# ---------------------------------------------------------------------------------------------- tools
def builtin_tool_view(p: ProviderInfo, t: ToolInfo) -> dict[str, Any]:
    return {"tool_id": t.name, "zh_name": BUILTIN_ZH.get(t.name, t.label or t.name), "en_name": t.name,
            "display_name": t.label or t.name, "description": t.description, "logo_url": f"/builtin-tools/{p.name}/icon",
            "is_builtin": True, "is_user_defined": False, "functions": [t.name], "needs_setup": p.needs_setup,
            "create_time": None, "update_time": None}


def own_tool_view(p: ProviderInfo) -> dict[str, Any]:
    return {"tool_id": p.id, "zh_name": p.label, "en_name": p.name, "display_name": p.label,
            "description": p.description, "logo_url": p.icon, "is_builtin": False, "is_user_defined": True,
            "functions": [t.name for t in p.tools], "needs_setup": "" if p.tools else
            "No OpenAPI schema yet: nothing to call until one is added (tool/update with openapi_schema)",
            "create_time": when(p.created_at), "update_time": when(p.created_at)}


def builtin_tool_views(providers: list[ProviderInfo]) -> list[dict[str, Any]]:
    return [builtin_tool_view(p, t) for p in providers for t in p.tools if t.name != KB_TOOL]
