"""An LLMOps app is an Almanac agent; an app config (its draft, or what it last published) maps onto the
agent's settings, so the Agents page, the public page and every other dialect see the same agent.

| LLMOps field | Almanac |
|---|---|
| model_config.provider / model | llm.model_id: a saved LLM matched by id, name or model name ("" = the default) |
| model_config.parameters | llm temperature, top_p, presence/frequency penalty, max_tokens |
| dialog_round (or model_config.dialog_round) | strategy.max_rounds |
| memory_mode / long_term_memory.enable | strategy.memory_mode |
| preset_prompt | prompt.system ("" = the default agent prompt) |
| datasets, retrieval_config | kb_ids; prompt.search_mode / top_n / similarity_threshold |
| tools [{type, provider_id, tool_id, params}] | tool refs (builtin_tool / api_tool / mcp_tool) |
| opening_statement | prompt.opener |

Everything else (opening_questions, suggested_after_answer, speech_to_text, text_to_speech, review_config,
workflows, and fields this version does not know) is kept verbatim in extra["llmops"] and returned as given.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.llmops.errors import validate_error
from api.llmops.views import api_tool_id, ts
from core.assistants import DEFAULT_AGENT_SYSTEM, AssistantInfo
from core.container import Services
from core.errors import AlmanacError, InvalidInput, NotFound

TOOL_TYPES = {"builtin_tool": "builtin", "api_tool": "api", "mcp_tool": "mcp"}
LLM_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")
MAPPED = {"model", "dialog_round", "memory_mode", "long_term_memory", "preset_prompt", "datasets",
          "retrieval_config", "tools", "opening_statement"}
VIEW_ONLY = {"id", "status", "created_at", "updated_at"}  # what GET adds: ignored when a config is sent back
KEY = "llmops"


class ModelParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    max_tokens: int | None = Field(None, ge=1, le=200_000)


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: str = Field("", max_length=64)
    model: str = Field("", max_length=255)
    parameters: ModelParameters | None = None
    dialog_round: int | None = Field(None, ge=0, le=100)


class ToolChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")  # what GET returns (provider, tool details) may be sent back
    type: Literal["builtin_tool", "api_tool", "mcp_tool"]
    provider_id: str = Field(min_length=1, max_length=255)
    tool_id: str = Field(min_length=1, max_length=255)
    params: dict[str, Any] = Field(default_factory=dict)


class DatasetChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=64)


class RetrievalChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retrieval_strategy: Literal["semantic", "full_text", "hybrid"] | None = None
    k: int | None = Field(None, ge=1, le=20)
    score: float | None = Field(None, ge=0, le=1)


class Toggle(BaseModel):
    model_config = ConfigDict(extra="allow")
    enable: bool


class AppConfigBody(BaseModel):
    """The draft fields to change; omitted fields keep their value."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    model: ModelChoice | None = Field(None, alias="model_config")
    dialog_round: int | None = Field(None, ge=0, le=100)
    memory_mode: Literal["long_term_memory", "none"] | None = None
    long_term_memory: Toggle | None = None
    preset_prompt: str | None = Field(None, max_length=20_000)
    datasets: list[str | DatasetChoice] | None = Field(None, max_length=100)
    retrieval_config: RetrievalChoice | None = None
    tools: list[ToolChoice] | None = Field(None, max_length=64)
    opening_statement: str | None = Field(None, max_length=2000)
    opening_questions: list[str] | None = Field(None, max_length=10)
    suggested_after_answer: Toggle | None = None
    speech_to_text: Toggle | None = None
    text_to_speech: Toggle | None = None
    review_config: dict[str, Any] | None = None
    workflows: list[Any] | None = Field(None, max_length=64)


# ------------------------------------------------------------------ request -> agent settings
def agreed(field_a: str, a: Any, field_b: str, b: Any) -> Any:
    """One value given two ways (either may be None); validate_error when they disagree."""
    if a is not None and b is not None and a != b:
        raise validate_error(field_b, f"contradicts {field_a}")
    return a if a is not None else b


def llm_changes(svc: Services, tenant_id: str, choice: ModelChoice | None) -> dict[str, Any]:
    if choice is None:
        return {}
    changes = choice.parameters.model_dump(exclude_none=True) if choice.parameters else {}
    if choice.model:
        found = svc.models.find(tenant_id, "llm", choice.model, choice.provider)
        if found is None:
            names = ", ".join(f"{m.provider}/{m.model}" for m in svc.models.list(tenant_id, "llm")) or "none yet"
            raise validate_error("model_config.model", f"no LLM '{choice.model}' is configured (configured: {names})")
        changes["model_id"] = found.id
    elif "model" in choice.model_fields_set:
        changes["model_id"] = ""  # the tenant's default LLM
    return changes


def tool_refs(svc: Services, tenant_id: str, tools: list[ToolChoice]) -> list[dict[str, Any]]:
    refs = []
    for choice in tools:
        tool = choice.tool_id
        if choice.type == "api_tool" and _is_uuid(tool):  # our own tool ids are accepted as well as names
            try:
                provider = svc.tools.get_provider(tenant_id, choice.provider_id, "api")
                tool = next((t.name for t in provider.tools if api_tool_id(provider.id, t.name) == tool), tool)
            except AlmanacError:
                pass  # the binding below names the unknown provider
        refs.append({"type": TOOL_TYPES[choice.type], "provider": choice.provider_id, "tool": tool,
                     "params": choice.params})
    try:
        svc.tools.check_refs(tenant_id, refs)
    except InvalidInput as exc:
        raise validate_error("tools", exc.message) from None
    return refs


def dataset_ids(svc: Services, tenant_id: str, datasets: list[str | DatasetChoice]) -> list[str]:
    ids = [d if isinstance(d, str) else d.id for d in datasets]
    for kb_id in ids:
        try:
            svc.knowledge.require(tenant_id, kb_id)
        except NotFound:
            raise validate_error("datasets", f"there is no dataset '{kb_id}'") from None
    return ids


def draft_changes(svc: Services, tenant_id: str, app: AssistantInfo, body: AppConfigBody) -> dict[str, Any]:
    """AssistantService.update arguments for a PUT of the draft."""
    given = body.model_fields_set
    strategy: dict[str, Any] = {}
    rounds = agreed("dialog_round", body.dialog_round, "model_config.dialog_round",
                    body.model.dialog_round if body.model else None)
    if rounds is not None:
        strategy["max_rounds"] = rounds
    memory = agreed("memory_mode", body.memory_mode, "long_term_memory.enable",
                    None if body.long_term_memory is None else
                    "long_term_memory" if body.long_term_memory.enable else "none")
    if memory is not None:
        strategy["memory_mode"] = memory
    prompt: dict[str, Any] = {}
    if body.preset_prompt is not None:
        prompt["system"] = body.preset_prompt if body.preset_prompt.strip() else DEFAULT_AGENT_SYSTEM
    if body.opening_statement is not None:
        prompt["opener"] = body.opening_statement
    if body.retrieval_config is not None:
        r = body.retrieval_config
        prompt.update({k: v for k, v in (("search_mode", r.retrieval_strategy), ("top_n", r.k),
                                         ("similarity_threshold", r.score)) if v is not None})
    kept = dict(app.extra.get(KEY, {}))
    # Kept as sent, fields this version does not know included.
    kept.update(body.model_dump(mode="json", include=given - MAPPED - VIEW_ONLY))
    if body.preset_prompt is not None:
        kept["preset_prompt_blank"] = not body.preset_prompt.strip()
    changes: dict[str, Any] = {"strategy": strategy, "prompt": prompt, "llm": llm_changes(svc, tenant_id, body.model),
                               "extra": {KEY: kept}}
    if body.datasets is not None:
        changes["kb_ids"] = dataset_ids(svc, tenant_id, body.datasets)
    if body.tools is not None:
        changes["tools"] = tool_refs(svc, tenant_id, body.tools)
    return changes


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ agent settings -> config view
def config_id(app: AssistantInfo, which: str) -> str:
    """Configs are not rows of their own: the draft's id is stable, a publication's changes with each publish."""
    stamp = app.published_at.isoformat() if which == "published" and app.published_at else ""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"almanac:app-config:{app.id}:{which}:{stamp}"))


def model_view(svc: Services, tenant_id: str, llm: dict[str, Any], rounds: int) -> dict[str, Any]:
    provider = model = ""
    if llm.get("model_id"):
        try:
            found = svc.models.get(tenant_id, llm["model_id"])
            provider, model = found.provider, found.model
        except AlmanacError:
            pass  # deleted since: the default LLM answers
    return {"provider": provider, "model": model, "dialog_round": rounds,
            "parameters": {k: llm[k] for k in LLM_PARAMS if k in llm}}


def datasets_view(svc: Services, tenant_id: str, kb_ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for kb_id in kb_ids:
        try:
            kb = svc.knowledge.get(tenant_id, kb_id)
        except AlmanacError:
            continue  # deleted since: the agent no longer searches it
        out.append({"id": kb.id, "name": kb.name, "icon": kb.icon, "description": kb.description})
    return out


def tools_view(svc: Services, tenant_id: str, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = {v: k for k, v in TOOL_TYPES.items()}
    out = []
    for ref in refs:
        try:
            if ref["type"] == "builtin":
                provider, tool = svc.tools.builtin_tool(ref["provider"], ref["tool"])
                provider_icon = f"/builtin-tools/{provider.name}/icon"
            else:
                provider, tool = svc.tools.get_provider_tool(tenant_id, ref["provider"], ref["tool"])
                provider_icon = provider.icon
        except AlmanacError:
            continue  # removed since: the agent runs without it
        tool_id = api_tool_id(provider.id, tool.name) if ref["type"] == "api" else tool.name
        out.append({"type": kinds[ref["type"]], "provider_id": ref["provider"], "tool_id": ref["tool"],
                    "params": dict(ref.get("params") or {}),
                    "provider": {"id": provider.id, "name": provider.name, "label": provider.label or provider.name,
                                 "icon": provider_icon, "description": provider.description},
                    "tool": {"id": tool_id, "name": tool.name, "label": tool.label or tool.name,
                             "description": tool.description, "params": [p.model_dump() for p in tool.params]}})
    return out


def config_view(svc: Services, app: AssistantInfo, which: Literal["drafted", "published"]) -> dict[str, Any] | None:
    """The draft, or the published configuration (None when never published), in LLMOps' shape."""
    if which == "drafted":
        snapshot = {"kb_ids": app.kb_ids, "llm": app.llm.model_dump(), "prompt": app.prompt.model_dump(),
                    "strategy": app.strategy.model_dump(), "tools": app.tools, "extra": app.extra}
        created, updated = app.created_at, app.updated_at
    elif app.published is None:
        return None
    else:
        snapshot, created = app.published, app.published_at
        updated = created
    prompt, strategy = snapshot.get("prompt", {}), snapshot.get("strategy", {})
    kept = dict((snapshot.get("extra") or {}).get(KEY, {}))
    blank = kept.pop("preset_prompt_blank", False) and prompt.get("system") == DEFAULT_AGENT_SYSTEM
    rounds, memory = int(strategy.get("max_rounds", 5)), strategy.get("memory_mode", "none")
    return {
        **kept,
        "id": config_id(app, "published" if which == "published" else "draft"),
        "model_config": model_view(svc, app.tenant_id, snapshot.get("llm", {}), rounds),
        "dialog_round": rounds, "memory_mode": memory, "long_term_memory": {"enable": memory == "long_term_memory"},
        "preset_prompt": "" if blank else prompt.get("system", ""),
        "datasets": datasets_view(svc, app.tenant_id, list(snapshot.get("kb_ids", []))),
        "retrieval_config": {"retrieval_strategy": prompt.get("search_mode", "hybrid"), "k": prompt.get("top_n", 6),
                             "score": prompt.get("similarity_threshold", 0.2)},
        "tools": tools_view(svc, app.tenant_id, list(snapshot.get("tools", []))),
        "opening_statement": prompt.get("opener", ""),
        "status": which, "created_at": ts(created), "updated_at": ts(updated),
    }
