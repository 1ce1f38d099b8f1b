"""The tenant's workspace, as a single-agent chat product (Nexent) sees it: a configuration document, a default
agent, and answers to workspace conversations with the files a question brings.

- Configuration (kept in the tenant's settings): the app's name, description and icon, a saved model per role,
  the knowledge bases the workspace searches. Saving applies it: the model named for a role becomes the tenant's
  default of that type (the secondary LLM is only kept) and the workspace's embedding model is the one new
  knowledge bases made through it use. `reload` re-reads the stored document and applies it again.
- Default agent (chosen on the Agents page): a published agent, run as published. With none chosen the workspace
  runs a retrieval agent over its knowledge bases (those the configuration names, else all the tenant's): an agent
  whose one tool is knowledge search when the tenant has a language model, else retrieval-only answers that quote
  the best passages.
- Files: a question may bring files from the file storage; their text (read by the ingestion readers, within half
  the model's context window) goes before the question for the model, the saved question stays as asked and
  records the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.assistants import DEFAULT_AGENT_SYSTEM, AssistantInfo, ChatSettings
from core.chat import Attachment, ChatEvent, ConversationInfo
from core.errors import Conflict, InvalidInput, NotFound
from core.ingestion.readers import ReadLimits, read_document
from core.model_configs import ModelConfigInfo
from core.prompting import truncate_tokens
from core.scope import MAX_PAGE_SIZE, parse_config
from storage.db import Database
from storage.orm import Tenant

# role -> the model type it takes
ROLES = {"llm": "llm", "llm_secondary": "llm", "embedding": "embedding", "rerank": "rerank", "stt": "stt", "tts": "tts"}


class WorkspaceConfig(BaseModel):
    """What the workspace stores; `models` maps a role to a saved model's id."""

    model_config = ConfigDict(extra="forbid")
    app_name: str = Field("Almanac", max_length=255)
    app_description: str = Field("", max_length=10_000)
    icon_type: str = Field("preset", max_length=32)
    icon_avatar: str = Field("", max_length=200_000)  # a data: URI or an image URL
    icon_url: str = Field("", max_length=4096)
    models: dict[str, str] = Field(default_factory=dict)
    knowledge_bases: list[str] = Field(default_factory=list, max_length=1000)  # names
    extra: dict[str, Any] = Field(default_factory=dict)  # a client's own fields, kept as sent


class WorkspaceView(BaseModel):
    config: WorkspaceConfig
    models: dict[str, ModelConfigInfo]  # role -> the saved model (roles whose model is gone are left out)


class WorkspaceService:
    def __init__(self, db: Database, chat: Any, assistants: Any, knowledge: Any, models: Any,
                 read_limits: ReadLimits, files: Any = None):
        self.db, self.chat, self.assistants, self.knowledge = db, chat, assistants, knowledge
        self.models, self.read_limits, self.files = models, read_limits, files

    # ------------------------------------------------------------------ tenant settings
    def _settings(self, tenant_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            t = s.get(Tenant, tenant_id)
            if t is None:
                raise NotFound(f"Tenant '{tenant_id}' not found", kind="tenant", ident=tenant_id)
            return dict(t.settings or {})

    def _store(self, tenant_id: str, **changes: Any) -> None:
        with self.db.session() as s:
            t = s.get(Tenant, tenant_id)
            t.settings = {**(t.settings or {}), **changes}  # a new dict: JSON columns track assignment only

    # ------------------------------------------------------------------ configuration
    def config(self, tenant_id: str) -> WorkspaceView:
        config = WorkspaceConfig.model_validate(self._settings(tenant_id).get("workspace") or {})
        saved = {m.id: m for m in self.models.list(tenant_id)}
        return WorkspaceView(config=config, models={role: saved[mid] for role, mid in config.models.items()
                                                    if mid in saved})

    def save_config(self, tenant_id: str, fields: dict[str, Any], model_names: dict[str, str]) -> WorkspaceView:
        """Store the document (`fields` of WorkspaceConfig; `model_names` role -> a saved model's name, "" for
        none) and apply it. Nothing changes when a name or role is unknown."""
        unknown = set(model_names) - set(ROLES)
        if unknown:
            raise InvalidInput(f"Unknown model roles: {', '.join(sorted(unknown))} (roles: {', '.join(ROLES)})")
        models = {}
        for role, name in model_names.items():
            if name.strip():
                models[role] = self.models.get_by_name(tenant_id, name, ROLES[role]).id
        config = parse_config(WorkspaceConfig, {**fields, "models": models})
        for name in config.knowledge_bases:
            self.knowledge.find(tenant_id, name)  # NotFound names it
        self._store(tenant_id, workspace=config.model_dump())
        return self.reload(tenant_id)

    def reload(self, tenant_id: str) -> WorkspaceView:
        """Re-read the stored configuration and apply it: its models become the defaults of their types."""
        view = self.config(tenant_id)
        for role, model in view.models.items():
            if role != "llm_secondary" and not model.is_default:
                self.models.set_default(tenant_id, model.id)
        return self.config(tenant_id)

    def embedding_model(self, tenant_id: str) -> str:
        """`provider:model` of the workspace's embedding model, "" for the default."""
        model = self.config(tenant_id).models.get("embedding")
        return f"{model.provider}:{model.model}" if model else ""

    # ------------------------------------------------------------------ the agent
    def default_agent(self, tenant_id: str) -> AssistantInfo | None:
        """The chosen agent, or None (none chosen, or it was deleted)."""
        agent_id = self._settings(tenant_id).get("default_agent_id")
        return self.assistants.find(tenant_id, agent_id, kind="agent") if agent_id else None

    def set_default_agent(self, tenant_id: str, agent_id: str | None) -> AssistantInfo | None:
        agent = None
        if agent_id:
            agent = self.assistants.get(tenant_id, agent_id, kind="agent")
            if agent.published is None:
                raise Conflict(f"Agent '{agent.name}' is not published yet: publish it first")
        self._store(tenant_id, default_agent_id=agent.id if agent else None)
        return agent

    def run_as(self, tenant_id: str) -> tuple[ChatSettings, list[str]]:
        """What a workspace answer runs with: (settings, knowledge base ids)."""
        existing = {kb.id: kb.name for kb in self.knowledge.list(tenant_id, page_size=MAX_PAGE_SIZE).items}
        agent = self.default_agent(tenant_id)
        if agent is not None:
            if agent.published is None:
                raise Conflict(f"The workspace agent '{agent.name}' is not published: publish it, or choose another "
                               "on the Agents page")
            return (ChatSettings.model_validate({"kind": "agent", **agent.published}),
                    [k for k in agent.published.get("kb_ids", []) if k in existing])
        chosen = {n.casefold() for n in self.config(tenant_id).config.knowledge_bases}
        kb_ids = [k for k, name in existing.items() if name.casefold() in chosen] or list(existing)
        if self.models.llm_spec(tenant_id) is None:
            return ChatSettings(kind="chat"), kb_ids
        return ChatSettings.model_validate({"kind": "agent", "prompt": {"system": DEFAULT_AGENT_SYSTEM}}), kb_ids

    def start(self, tenant_id: str, conversation_id: str | None, question: str, *,
              history: list[dict] | None = None,
              attachments: list[dict] | None = None) -> tuple[ConversationInfo, Iterator[ChatEvent]]:
        """The workspace conversation (a new one without `conversation_id`) and the stream answering `question`.

        `history` (role/content turns) is stored first when the conversation has no messages yet; otherwise the
        conversation's own messages are the history. `attachments` name files of the file storage (`file_id`)
        or carry a client's own `description` of a file."""
        if not (question or "").strip():
            raise InvalidInput("The question must not be empty")
        run_as = self.run_as(tenant_id)
        files = self.attachments(tenant_id, attachments or [])
        if conversation_id is not None:
            conversation = self.chat.get_session(tenant_id, conversation_id, channel="workspace")
        else:
            conversation = self.chat.create_session(tenant_id, channel="workspace")
        try:
            if history and not self.chat.list_messages(tenant_id, conversation.id, limit=1):
                self.chat.add_turns(tenant_id, conversation.id, history)
            events = self.chat.answer(tenant_id, conversation.id, question, run_as=run_as, attachments=files)
        except Exception:
            if conversation_id is None:  # a refused question leaves no conversation behind
                self.chat.delete_session(tenant_id, conversation.id)
            raise
        return conversation, events

    # ------------------------------------------------------------------ files
    def file_text(self, name: str, data: bytes, max_tokens: int = 4000) -> str:
        """A file's text as the ingestion readers read it (OCR for pictures), cut to `max_tokens`."""
        return truncate_tokens(read_document(name, data, limits=self.read_limits).text.strip(), max_tokens)

    def attachments(self, tenant_id: str, items: list[dict]) -> list[Attachment]:
        """A question's files: stored ones (`file_id`), read by the chat service, or a client's own `description`."""
        files = []
        for item in items:
            file_id = str(item.get("file_id") or "").strip()
            if file_id:
                if self.files is None:
                    raise InvalidInput("File storage is not available in this process")
                stored, data = self.files.read(tenant_id, file_id)
                files.append(Attachment(stored.name, data, stored.id, mime_type=stored.mime_type))
            elif description := str(item.get("description") or "").strip():
                files.append(Attachment(str(item.get("name") or ""), text=description))
        return files

