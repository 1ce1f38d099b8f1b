"""ToolService: the built-in catalogue, a tenant's API and MCP providers, and binding tools for agents.

API providers keep their OpenAPI text (re-parsed when bound, so calls always follow what was saved);
MCP servers keep their last tool listing. Secret-looking header and env values never leave in full.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import AlmanacError, Conflict, Forbidden, InvalidInput, NotFound
from core.net import check_public
from core.retrieval import RetrievalService
from core.schemas import Page
from core.scope import check_paging, load_owned, validation_message
from core.secrets import Sealer, UnreadableSecret
from core.tenants import DEFAULT_TENANT_ID
from core.tools import binding, builtin, openapi
from core.tools.credentials import BuiltinCredentials
from core.tools.base import BoundTool, ProviderInfo, ToolContext, ToolInfo, ToolRef
from core.tools.refs import masked, unmask
from core.visitors import current_visitor
from storage.db import Database
from storage.orm import ToolProvider

log = logging.getLogger(__name__)
MAX_NAME = 30
CUSTOM_KINDS = ("api", "mcp")
MCP_LIST_TIMEOUT = 20.0
MAX_ICON_CHARS = 200_000  # a URL, or a small data: URL


def clean_headers(value: Any) -> dict[str, str]:
    """Headers given as [{"key", "value"}] (LLMOps) or as a plain object; keys unique case-insensitively."""
    if value is None:
        return {}
    items = value.items() if isinstance(value, dict) else None
    if items is None:
        if not isinstance(value, list) or not all(isinstance(h, dict) for h in value):
            raise InvalidInput("headers must be a list of {key, value} objects")
        items = [(h.get("key"), "" if h.get("value") is None else h.get("value")) for h in value
                 if str(h.get("key") or "").strip() or h.get("value")]  # forms send blank rows: skip them
    out: dict[str, str] = {}
    for key, val in items:
        key = key.strip() if isinstance(key, str) else key
        if not isinstance(key, str) or not openapi.HEADER_NAME.match(key):
            raise InvalidInput(f"headers: {key!r} is not a valid HTTP header name")
        if not isinstance(val, str) or "\r" in val or "\n" in val:
            raise InvalidInput(f"headers: the value of '{key}' must be one line of text")
        if key.lower() in (k.lower() for k in out):
            raise InvalidInput(f"headers: '{key}' is given twice")
        out[key] = val
    return out


def _pairs(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in headers.items()]


# Header and MCP env values often carry credentials: all of them are stored sealed (core/secrets.py).
def _sealed(values: dict[str, str], sealer: Sealer) -> dict[str, str]:
    return {k: sealer.seal_field(v) for k, v in values.items()}


def _unsealed(values: dict[str, str], sealer: Sealer) -> dict[str, str]:
    return {k: sealer.unseal_field(v) for k, v in values.items()}


def stored_headers(row: ToolProvider, sealer: Sealer) -> dict[str, str]:
    return _unsealed({h["key"]: h["value"] for h in row.headers or []}, sealer)


def stored_config(row: ToolProvider, sealer: Sealer) -> dict:
    config = dict(row.config or {})
    if config.get("env"):
        config["env"] = _unsealed(config["env"], sealer)
    return config


def _sealed_mcp_config(cfg: Any, sealer: Sealer) -> dict:
    config = cfg.model_dump(exclude={"headers"})
    config["env"] = _sealed(config.get("env") or {}, sealer)
    return config


def provider_info(row: ToolProvider, sealer: Sealer) -> ProviderInfo:
    try:
        config, headers = stored_config(row, sealer), stored_headers(row, sealer)
    except UnreadableSecret:  # still listed, so that it can be fixed or deleted
        config, headers = dict(row.config or {}, env={}), {h["key"]: "" for h in row.headers or []}
    if row.kind == "mcp":
        config["env"] = masked(config.get("env") or {})
    return ProviderInfo(id=row.id, kind=row.kind, name=row.name, label=config.get("label") or row.name,
                        description=row.description,
                        icon=row.icon, tools=[ToolInfo.model_validate(t) for t in row.tools or []],
                        headers=_pairs(masked(headers)), config=config, status=row.status,
                        status_message=row.status_message, created_at=row.created_at)


class ToolService:
    def __init__(self, db: Database, settings: Settings, retrieval: RetrievalService, sealer: Sealer | None = None):
        self.db, self.settings, self.retrieval = db, settings, retrieval
        self.sealer = sealer or Sealer(settings)
        self.credentials = BuiltinCredentials(db, settings, self.sealer)  # web search, images

    def seal_stored_secrets(self) -> int:
        """Seal header and env values saved in plain text (before they were sealed); returns how many providers."""
        changed = 0
        with self.db.session() as s:
            for row in s.scalars(select(ToolProvider)):
                headers = [{"key": h["key"], "value": self.sealer.seal_field(h["value"])} for h in row.headers or []]
                config = dict(row.config or {})
                if config.get("env"):
                    config["env"] = _sealed(config["env"], self.sealer)
                if headers != (row.headers or []) or config != (row.config or {}):
                    row.headers, row.config = headers, config
                    changed += 1
        return changed

    # -------------------------------------------------------------------------------------- built-ins
    def categories(self) -> list[dict]:
        return [{"category": c, "name": label, "icon": builtin.category_icon(c)}
                for c, label in builtin.CATEGORIES.items()]

    def _builtin_info(self, p: builtin.BuiltinProvider, settings: Settings | None = None) -> ProviderInfo:
        return ProviderInfo(id=p.name, kind="builtin", name=p.name, label=p.label, description=p.description,
                            icon=f"tools/{p.name}.svg", background=p.background, category=p.category,
                            tools=[t.model_copy(deep=True) for t in p.tools],
                            needs_setup=p.setup(settings or self.settings), created_at=builtin.CATALOGUE_SHIPPED)

    def builtin_providers(self, tenant_id: str = "") -> list[ProviderInfo]:
        """The catalogue; with a tenant, "needs setup" follows its own tool settings too."""
        settings = self.credentials.settings_for(tenant_id) if tenant_id else self.settings
        return [self._builtin_info(p, settings) for p in builtin.PROVIDERS.values()]

    def builtin_settings(self, tenant_id: str, provider: str) -> dict[str, str]:
        """A built-in provider's settings for the form (the API key masked)."""
        return self.credentials.form(tenant_id, self._builtin(provider).name)

    def configure_builtin(self, tenant_id: str, provider: str, values: dict[str, Any], *,
                          clear_api_key: bool = False) -> ProviderInfo:
        """Set a tenant's own key (sealed at rest) and endpoint of a built-in provider, over the server's settings."""
        p = self._builtin(provider)
        self.credentials.save(tenant_id, p.name, values, clear_api_key=clear_api_key)
        return self._builtin_info(p, self.credentials.settings_for(tenant_id))

    def _builtin(self, provider: str) -> builtin.BuiltinProvider:
        found = builtin.PROVIDERS.get(provider)
        if found is None:
            raise NotFound(f"Built-in tool provider '{provider}' not found")
        return found

    def builtin_tool(self, provider: str, tool: str) -> tuple[ProviderInfo, ToolInfo]:
        p = self._builtin(provider)
        info = p.tool(tool)
        if info is None:
            raise NotFound(f"Tool '{tool}' not found in built-in provider '{provider}'")
        return self._builtin_info(p), info.model_copy(deep=True)

    def builtin_icon(self, provider: str) -> tuple[bytes, str]:
        return builtin.icon_path(self._builtin(provider).name).read_bytes(), "image/svg+xml"

    # -------------------------------------------------------------------------------------- shared
    def _check_name(self, s: Session, tenant_id: str, name: Any, exclude_id: str = "") -> str:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("The provider name must not be empty")
        name = " ".join(name.split())
        if len(name) > MAX_NAME:
            raise InvalidInput(f"The provider name must be at most {MAX_NAME} characters")
        taken = s.execute(select(ToolProvider.id, ToolProvider.name).where(ToolProvider.tenant_id == tenant_id))
        if any(n.casefold() == name.casefold() and i != exclude_id for i, n in taken):
            raise Conflict(f"A tool provider named '{name}' already exists")
        return name

    def _load(self, s: Session, tenant_id: str, provider_id: str, kind: str | None = None) -> ToolProvider:
        row = load_owned(s, ToolProvider, provider_id, tenant_id, "Tool provider")
        if row.kind not in CUSTOM_KINDS or (kind and row.kind != kind):
            raise NotFound(f"Tool provider '{provider_id}' not found", kind="tool_provider", ident=provider_id)
        return row

    def _save(self, s: Session, row: ToolProvider) -> ProviderInfo:
        try:
            s.add(row)
            s.flush()
        except IntegrityError as exc:  # two requests creating the same name at once
            raise Conflict(f"A tool provider named '{row.name}' already exists") from exc
        return provider_info(row, self.sealer)

    def get_provider(self, tenant_id: str, provider_id: str, kind: str | None = None) -> ProviderInfo:
        """The tenant's API or MCP provider (with `kind`, only one of that kind)."""
        with self.db.session() as s:
            return provider_info(self._load(s, tenant_id, provider_id, kind), self.sealer)

    def get_provider_tool(self, tenant_id: str, provider_id: str, tool_name: str,
                          kind: str | None = None) -> tuple[ProviderInfo, ToolInfo]:
        info = self.get_provider(tenant_id, provider_id, kind)
        tool = next((t for t in info.tools if t.name == tool_name), None)
        if tool is None:
            raise NotFound(f"Tool '{tool_name}' not found in provider '{info.name}'")
        return info, tool

    def list_providers(self, tenant_id: str, *, kind: str | None = None, search_word: str = "", page: int = 1,
                       page_size: int = 20) -> Page:
        check_paging(page, page_size)
        if kind is not None and kind not in CUSTOM_KINDS:
            raise InvalidInput(f"kind must be one of: {', '.join(CUSTOM_KINDS)}")
        q = select(ToolProvider).where(ToolProvider.tenant_id == tenant_id, ToolProvider.kind.in_(CUSTOM_KINDS))
        if kind:
            q = q.where(ToolProvider.kind == kind)
        if search_word and search_word.strip():
            q = q.where(func.lower(ToolProvider.name).contains(search_word.strip().lower(), autoescape=True))
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(ToolProvider.created_at.desc(), ToolProvider.id)
                             .offset((page - 1) * page_size).limit(page_size)).all()
            return Page(items=[provider_info(r, self.sealer) for r in rows], total=total, page=page,
                        page_size=page_size)

    def delete_provider(self, tenant_id: str, provider_id: str, kind: str | None = None) -> None:
        with self.db.session() as s:
            s.delete(self._load(s, tenant_id, provider_id, kind))

    # -------------------------------------------------------------------------------------- API providers
    def validate_openapi_schema(self, text: str) -> list[ToolInfo]:
        return [op.info() for op in openapi.parse(text).operations]

    def create_api_provider(self, tenant_id: str, name: str, icon: str = "", openapi_schema: str | None = "",
                            headers: Any = None, *, label: str = "", description: str | None = None) -> ProviderInfo:
        """An OpenAPI provider: each operation of the schema is a tool. `openapi_schema=None` saves a provider
        described only (name, label, description) whose tools come with a schema later; `label` is a display
        name, `description` replaces the schema's."""
        spec = openapi.parse(openapi_schema) if openapi_schema is not None else None
        header_map = clean_headers(headers)
        config = {"openapi_schema": openapi_schema or "", **({"label": _text(label, "label", MAX_NAME)} if label else {})}
        with self.db.session() as s:
            row = ToolProvider(tenant_id=tenant_id, kind="api", name=self._check_name(s, tenant_id, name),
                               icon=_icon(icon), config=config, headers=_pairs(_sealed(header_map, self.sealer)),
                               description=_text(description, "description") if description is not None
                               else spec.description if spec else "",
                               tools=[op.info().model_dump() for op in spec.operations] if spec else [], status="ok",
                               status_message="")
            return self._save(s, row)

    def update_api_provider(self, tenant_id: str, provider_id: str, *, name: str | None = None,
                            icon: str | None = None, openapi_schema: str | None = None,
                            headers: Any = None, label: str | None = None,
                            description: str | None = None) -> ProviderInfo:
        """Change any of the fields (None keeps it); a new schema replaces all of the provider's tools (and its
        description, unless one is given)."""
        spec = openapi.parse(openapi_schema) if openapi_schema is not None else None
        header_map = clean_headers(headers) if headers is not None else None
        with self.db.session() as s:
            row = self._load(s, tenant_id, provider_id, "api")
            if name is not None:
                row.name = self._check_name(s, tenant_id, name, exclude_id=row.id)
            if icon is not None:
                row.icon = _icon(icon)
            config = dict(row.config or {})
            if label is not None:
                config["label"] = _text(label, "label", MAX_NAME)
            if spec is not None:
                config["openapi_schema"] = openapi_schema
                row.description = spec.description
                row.tools = [op.info().model_dump() for op in spec.operations]
            row.config = config
            if description is not None:
                row.description = _text(description, "description")
            if header_map is not None:
                row.headers = _pairs(_sealed(unmask(header_map, stored_headers(row, self.sealer)), self.sealer))
            return self._save(s, row)

    # -------------------------------------------------------------------------------------- MCP servers
    def _mcp_config(self, *, transport: Any, url: Any, command: Any, args: Any, env: Any, headers: dict):
        from core.tools.mcp import MCPConfig

        try:
            cfg = MCPConfig.model_validate({"transport": transport, "url": url or "", "command": command or "",
                                            "args": [] if args is None else args, "env": {} if env is None else env,
                                            "headers": headers})
        except ValidationError as exc:
            raise InvalidInput(f"Invalid MCP server settings: {validation_message(exc)}") from None
        if cfg.transport == "http":
            check_public(cfg.url, self.settings.allow_private_urls)
        return cfg

    def stored_mcp_config(self, config: dict, headers: dict[str, str]):
        """The MCPConfig of a saved server (checked again: settings or DNS may have changed since)."""
        return self._mcp_config(transport=config.get("transport"), url=config.get("url"),
                                command=config.get("command"), args=config.get("args"), env=config.get("env"),
                                headers=headers)

    def _list_mcp_tools(self, cfg: Any) -> list[dict]:
        from core.tools.mcp import list_tools

        tools: dict[str, dict] = {}
        for tool in list_tools(cfg, timeout=MCP_LIST_TIMEOUT, allow_private=self.settings.allow_private_urls):
            tools.setdefault(tool.name, tool.model_dump())  # tool names are unique per provider
        return list(tools.values())

    def _check_stdio(self, tenant_id: str, transport: Any) -> None:
        """A stdio server runs a command on this machine: the owner's right, other tenants' only if allowed,
        and never a public demo's visitors' (they work in the owner's workspace)."""
        if transport == "stdio" and self.settings.demo and current_visitor() is not None:
            raise Forbidden("MCP servers that run a local command (stdio) are not available in this demo")
        if transport == "stdio" and tenant_id != DEFAULT_TENANT_ID and not self.settings.allow_mcp_stdio:
            raise Forbidden("MCP servers that run a local command (stdio) are reserved to the server's owner "
                            "(set ALMANAC_ALLOW_MCP_STDIO=true to allow every tenant)")

    def create_mcp_server(self, tenant_id: str, name: str, *, transport: str, url: str = "", command: str = "",
                          args: list[str] | None = None, env: dict[str, str] | None = None, headers: Any = None,
                          description: str = "", icon: str = "") -> ProviderInfo:
        """Connect and list the server's tools first: a server that cannot be reached is not saved."""
        with self.db.session() as s:
            self._check_name(s, tenant_id, name)  # fail fast, before a slow connection
        self._check_stdio(tenant_id, transport)
        header_map, icon, description = clean_headers(headers), _icon(icon), _text(description, "description")
        cfg = self._mcp_config(transport=transport, url=url, command=command, args=args, env=env, headers=header_map)
        tools = self._list_mcp_tools(cfg)
        with self.db.session() as s:
            row = ToolProvider(tenant_id=tenant_id, kind="mcp", name=self._check_name(s, tenant_id, name),
                               icon=icon, description=description,
                               config=_sealed_mcp_config(cfg, self.sealer),
                               headers=_pairs(_sealed(header_map, self.sealer)), tools=tools,
                               status="ok", status_message="")
            return self._save(s, row)

    def update_mcp_server(self, tenant_id: str, provider_id: str, *, name: str | None = None,
                          transport: str | None = None, url: str | None = None, command: str | None = None,
                          args: list[str] | None = None, env: dict[str, str] | None = None,
                          headers: Any = None, description: str | None = None,
                          icon: str | None = None) -> ProviderInfo:
        """Change any of the fields (None keeps it), reconnect and replace the tools; a failure saves nothing."""
        with self.db.session() as s:
            row = self._load(s, tenant_id, provider_id, "mcp")
            if name is not None:
                self._check_name(s, tenant_id, name, exclude_id=row.id)
            old = stored_config(row, self.sealer)
            old_headers = stored_headers(row, self.sealer)
        if transport is not None and transport != old.get("transport"):
            old, old_headers = {}, {}  # another transport: nothing of the old settings applies
        description = _text(description, "description") if description is not None else None
        icon = _icon(icon) if icon is not None else None
        new_headers = unmask(clean_headers(headers), old_headers) if headers is not None else old_headers
        new_env = old.get("env") if env is None else unmask(env, old.get("env") or {}) if isinstance(env, dict) else env
        self._check_stdio(tenant_id, transport or old.get("transport"))
        cfg = self._mcp_config(transport=transport or old.get("transport"), url=_pick(url, old, "url"),
                               command=_pick(command, old, "command"), args=_pick(args, old, "args"), env=new_env,
                               headers=new_headers)
        tools = self._list_mcp_tools(cfg)
        with self.db.session() as s:
            row = self._load(s, tenant_id, provider_id, "mcp")
            if name is not None:
                row.name = self._check_name(s, tenant_id, name, exclude_id=row.id)
            if description is not None:
                row.description = description
            if icon is not None:
                row.icon = icon
            row.config, row.tools = _sealed_mcp_config(cfg, self.sealer), tools
            row.headers = _pairs(_sealed(new_headers, self.sealer))
            row.status, row.status_message = "ok", ""
            return self._save(s, row)

    def refresh_mcp_server(self, tenant_id: str, provider_id: str) -> ProviderInfo:
        """List the tools again; when the server fails, keep the old tools and record the error."""
        with self.db.session() as s:
            row = self._load(s, tenant_id, provider_id, "mcp")
        try:
            cfg = self.stored_mcp_config(stored_config(row, self.sealer), stored_headers(row, self.sealer))
            tools, status, message = self._list_mcp_tools(cfg), "ok", ""
        except AlmanacError as exc:
            tools, status, message = row.tools, "error", exc.message
        with self.db.session() as s:
            row = self._load(s, tenant_id, provider_id, "mcp")
            row.tools, row.status, row.status_message = tools, status, message
            return self._save(s, row)

    # -------------------------------------------------------------------------------------- agents
    def check_refs(self, tenant_id: str, refs: Any) -> list[ToolRef]:
        """An agent's tool choices, validated and normalised (see core/tools/binding.py)."""
        with self.db.session() as s:
            return binding.normalise_refs(s, tenant_id, refs)

    def bind(self, refs: list[ToolRef], ctx: ToolContext) -> list[BoundTool]:
        """Executable tools for one agent run; refs whose tool has gone since are skipped."""
        with self.db.session() as s:
            return binding.bind_refs(self, s, refs, ctx)


def _pick(value: Any, old: dict, key: str) -> Any:
    return value if value is not None else old.get(key)


def _text(value: Any, field: str, limit: int = 2000) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    if len(value) > limit:
        raise InvalidInput(f"{field} must be at most {limit} characters")
    return value.strip()


def _icon(value: Any) -> str:
    return _text(value or "", "icon", MAX_ICON_CHARS)
