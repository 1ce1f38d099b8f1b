"""From what an agent stores (ToolRefs) to what the agent loop calls (BoundTools).

A ref names a built-in provider by name, or one of the tenant's API / MCP providers by id (its
name works too). For convenience a ref may also be written as "calculator" (a built-in tool
name) or "provider/tool". The tool "*" of an API / MCP provider stands for all the tools the
provider has when the agent runs (AgentChat binds whole tools and MCP servers this way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.scope import validation_message
from core.tools import builtin, openapi
from core.tools.base import BoundTool, ToolContext, ToolInfo, ToolRef, ToolResult, function_name, json_schema
from core.tools.refs import check_params, guarded
from storage.orm import ToolProvider

if TYPE_CHECKING:
    from core.tools.registry import ToolService

log = logging.getLogger(__name__)
MAX_REFS = 64
EVERY_TOOL = "*"


def _builtin_names() -> str:
    return ", ".join(t.name for p in builtin.PROVIDERS.values() for t in p.tools)


def _parse_item(item: Any, i: int) -> tuple[ToolRef, bool]:
    """A ref from one list item, and whether its type was given (else it is found by name)."""
    if isinstance(item, ToolRef):
        return item, True
    if isinstance(item, str):
        text = item.strip()
        if not text:
            raise InvalidInput(f"tools[{i}]: empty tool name")
        provider, _, tool = text.rpartition("/")
        return ToolRef(provider=provider.strip(), tool=tool.strip()), False
    if isinstance(item, dict):
        try:
            return ToolRef.model_validate(item), "type" in item
        except ValidationError as exc:
            raise InvalidInput(f"tools[{i}]: {validation_message(exc)}") from None
    raise InvalidInput(f"tools[{i}]: must be a tool name or an object with provider and tool")


def _custom_row(s: Session, tenant_id: str, provider: str) -> ToolProvider | None:
    row = s.get(ToolProvider, provider)
    if row is not None and row.tenant_id == tenant_id and row.kind != "builtin":
        return row
    wanted = provider.casefold()
    rows = s.scalars(select(ToolProvider).where(ToolProvider.tenant_id == tenant_id,
                                                ToolProvider.kind != "builtin")).all()
    return next((r for r in rows if r.name.casefold() == wanted), None)


def resolve(s: Session, tenant_id: str, ref: ToolRef, typed: bool) -> tuple[ToolRef, ToolInfo, Any]:
    """(normalised ref, tool info, the BuiltinProvider or ToolProvider row); InvalidInput names what is unknown."""
    if not ref.provider:  # a bare tool name: a built-in tool, or a built-in provider with one tool
        for p in builtin.PROVIDERS.values():
            if (info := p.tool(ref.tool)) is not None:
                return ToolRef(provider=p.name, tool=info.name, params=ref.params), info, p
        p = builtin.PROVIDERS.get(ref.tool)
        if p is not None and len(p.tools) == 1:
            return ToolRef(provider=p.name, tool=p.tools[0].name, params=ref.params), p.tools[0], p
        raise InvalidInput(f"Unknown tool '{ref.tool}' (built-in tools: {_builtin_names()})")
    if ref.type == "builtin" and ref.provider in builtin.PROVIDERS:
        p = builtin.PROVIDERS[ref.provider]
        info = p.tool(ref.tool)
        if info is None:
            raise InvalidInput(f"Unknown tool '{ref.tool}' in built-in provider '{p.name}' "
                               f"(tools: {', '.join(t.name for t in p.tools)})")
        return ToolRef(provider=p.name, tool=info.name, params=ref.params), info, p
    if ref.type == "builtin" and typed:
        raise InvalidInput(f"Unknown built-in tool provider '{ref.provider}' "
                           f"(valid: {', '.join(builtin.PROVIDERS)})")
    row = _custom_row(s, tenant_id, ref.provider)
    if row is None:
        raise InvalidInput(f"Unknown tool provider '{ref.provider}'")
    info = next((ToolInfo.model_validate(t) for t in row.tools or [] if t.get("name") == ref.tool), None)
    if info is None:
        raise InvalidInput(f"Unknown tool '{ref.tool}' in provider '{row.name}' "
                           f"(tools: {', '.join(t.get('name', '') for t in row.tools or []) or 'none'})")
    return ToolRef(type=row.kind, provider=row.id, tool=info.name, params=ref.params), info, row


def _whole_provider(s: Session, tenant_id: str, ref: ToolRef, typed: bool) -> ToolRef:
    """A ref to every tool of a custom provider, normalised to its type and id."""
    row = _custom_row(s, tenant_id, ref.provider)
    if row is None or (typed and row.kind != ref.type):
        raise InvalidInput(f"Unknown tool provider '{ref.provider}'")
    return ToolRef(type=row.kind, provider=row.id, tool=EVERY_TOOL)


def _expanded(s: Session, tenant_id: str, refs: list[Any]) -> list[Any]:
    """Refs with each whole-provider ref replaced by refs to the tools its provider has now."""
    out: list[Any] = []
    for i, item in enumerate(refs or []):
        try:
            ref, typed = _parse_item(item, i)
        except InvalidInput:
            out.append(item)  # reported (and skipped) by the caller
            continue
        if ref.tool != EVERY_TOOL:
            out.append(item)
        elif (row := _custom_row(s, tenant_id, ref.provider)) is not None and (not typed or row.kind == ref.type):
            out += [ToolRef(type=row.kind, provider=row.id, tool=t.get("name", "")) for t in row.tools or []]
    return out


def normalise_refs(s: Session, tenant_id: str, refs: Any) -> list[ToolRef]:
    """Validated refs with their settings checked and defaults filled in; duplicates collapse to the first."""
    if refs is None:
        return []
    if isinstance(refs, str | dict | ToolRef):
        refs = [refs]
    if not isinstance(refs, list | tuple):
        raise InvalidInput("tools must be a list")
    if len(refs) > MAX_REFS:
        raise InvalidInput(f"An agent can use at most {MAX_REFS} tools")
    out, seen = [], set()
    for i, item in enumerate(refs):
        ref, typed = _parse_item(item, i)
        if ref.tool == EVERY_TOOL and ref.provider:
            ref, params = _whole_provider(s, tenant_id, ref, typed), {}
        else:
            ref, info, _ = resolve(s, tenant_id, ref, typed)
            params = check_params(info, ref.params)
        key = (ref.type, ref.provider, ref.tool)
        if key not in seen:
            seen.add(key)
            out.append(ref.model_copy(update={"params": params}))
    return out


def _executor(service: ToolService, ref: ToolRef, info: ToolInfo, source: Any, params: dict,
              ctx: ToolContext) -> tuple[Callable[[dict], ToolResult], str]:
    """The function that runs this tool with the LLM's arguments, and the provider's label."""
    if isinstance(source, builtin.BuiltinProvider):
        def run_builtin(args: dict) -> ToolResult:
            call = builtin.Call(args, params, ctx, service.credentials.settings_for(ctx.tenant_id), service.retrieval)
            return builtin.run(source, info.name, call)

        return run_builtin, source.label
    from core.tools.registry import stored_config, stored_headers  # registry imports this module

    headers, config = stored_headers(source, service.sealer), stored_config(source, service.sealer)
    if source.kind == "api":
        spec = openapi.parse(config.get("openapi_schema"))
        op = spec.operation(info.name)
        if op is None:
            raise InvalidInput(f"'{info.name}' is no longer in the provider's schema")
        allow_private = service.settings.allow_private_urls

        def run_api(args: dict) -> ToolResult:
            return openapi.call(spec.server, op, args, headers, allow_private=allow_private, timeout=ctx.timeout)

        return run_api, source.name

    def run_mcp(args: dict) -> ToolResult:
        from core.tools.mcp import call_tool

        return call_tool(service.stored_mcp_config(config, headers), info.name, args, timeout=ctx.timeout,
                         allow_private=service.settings.allow_private_urls)

    return run_mcp, source.name


def bind_refs(service: ToolService, s: Session, refs: list[Any], ctx: ToolContext) -> list[BoundTool]:
    bound: list[BoundTool] = []
    taken: set[str] = set()
    for i, item in enumerate(_expanded(s, ctx.tenant_id, refs)):
        try:
            ref, info, source = resolve(s, ctx.tenant_id, *_parse_item(item, i))
            params = check_params(info, ref.params)
            execute, provider_label = _executor(service, ref, info, source, params, ctx)
        except InvalidInput as exc:  # deleted or changed since the agent was saved
            log.warning("agent tool %r skipped: %s", item, exc.message)
            continue
        label = info.label or info.name
        bound.append(BoundTool(name=function_name(info.name, taken), label=label,
                               description=info.description or label, parameters=json_schema(info.inputs),
                               run=guarded(info, label, execute, ctx.timeout), provider=ref.provider,
                               provider_label=provider_label))
    return bound
