"""The sample site of demo mode (ALMANAC_DEMO=true), e.g. the Hugging Face Space.

First start: a bilingual knowledge base from assets/demo/ (documents written for this project), a chat
assistant over it and a published agent, each with a public chat page. The rows exist at once; the
server's ingestion workers embed the documents in the background (seconds).

On a schedule (ALMANAC_DEMO_RESET_HOURS) whatever visitors made in the workspace goes: knowledge bases,
documents, assistants and agents, chats, tool providers, the search log. The sample stays, and when a
visitor changed or deleted part of it, it is seeded afresh. Visitors' limits are core/visitors.py's.

What was seeded is kept in <data dir>/demo.json, with a fingerprint of the sample taken once its
documents are ingested: a reset compares the sample against it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from core.schemas import FINAL_STATES
from core.tenants import DEFAULT_TENANT_ID
from storage.orm import Assistant, Chunk, Conversation, Document, KnowledgeBase, QueryLog, Task, ToolProvider

if TYPE_CHECKING:
    from core.container import Services

log = logging.getLogger(__name__)
TENANT = DEFAULT_TENANT_ID  # the workspace the admin UI shows visitors
DEMO_DOCS = Path(__file__).resolve().parents[1] / "assets" / "demo"
KB_NAME = "Sample handbook · 示例手册"
KB_DESCRIPTION = ("Harbor Lane Books' staff handbook (travel, expenses, remote work, leave) and notes on this demo, "
                  "in English and Chinese. 示例手册：差旅、报销、远程办公、年假，以及演示说明。")
ASSISTANT_NAME = "Handbook assistant · 手册助手"
AGENT_NAME = "Handbook agent · 手册智能体"
OPENER = ("Hi! I answer from the sample handbook of Harbor Lane Books: travel, expenses, remote work and leave, "
          "and notes about this demo. Ask in English or Chinese.\n\n你好！我根据示例手册回答问题，中文提问也可以。")
AGENT_TOOLS = ["kb_search", "calculator", "current_time"]
CHUNKING = {"method": "markdown", "chunk_size": 160, "chunk_overlap": 16}  # about a section per chunk
SETTLED_POLL_S = 2.0  # while the sample's documents are being ingested
SCHEDULE_POLL_S = 60.0


@dataclass
class Sample:
    """What was seeded (ids), when, and its fingerprint once ingested (None until then)."""

    kb_id: str
    doc_ids: list[str]
    assistant_id: str
    agent_id: str
    seeded_at: float
    last_reset: float
    fingerprint: str | None = None
    removed_last_time: dict[str, int] = field(default_factory=dict)


class DemoSite:
    def __init__(self, services: Services):
        self.svc = services
        self.path = services.settings.resolved_data_dir / "demo.json"
        self.interval = services.settings.demo_reset_hours * 3600
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()  # one seed or reset at a time

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Sample:
        """Seed now when there is no intact sample (quick: rows and queued documents), then keep the
        site in a background thread: the fingerprint once ingested, the reset when due."""
        sample = self.ensure_sample()
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="demo-site", daemon=True)
            self._thread.start()
        return sample

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            pause = SCHEDULE_POLL_S
            try:
                sample = self.sample() or self.ensure_sample()
                if sample.fingerprint is None:
                    self.record_fingerprint()
                    pause = SETTLED_POLL_S
                if time.time() >= sample.last_reset + self.interval:
                    self.reset()
                pause = min(pause, max(1.0, sample.last_reset + self.interval - time.time()))
            except Exception:  # noqa: BLE001 - the site must keep running; the operator gets the traceback
                log.exception("demo site upkeep failed")
            self._stop.wait(pause)

    # ------------------------------------------------------------------ the record
    def sample(self) -> Sample | None:
        try:
            return Sample(**json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _save(self, sample: Sample) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".demo.", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(sample), f, indent=2)
        os.replace(tmp, self.path)

    def next_reset(self) -> datetime | None:
        sample = self.sample()
        if sample is None:
            return None  # naive UTC, as the database's timestamps
        return datetime.fromtimestamp(sample.last_reset + self.interval, timezone.utc).replace(tzinfo=None)

    # ------------------------------------------------------------------ seeding
    def ensure_sample(self) -> Sample:
        with self._lock:
            sample = self.sample()
            if sample is not None and self._rows_exist(sample):
                return sample
            if sample is not None:
                self._remove_sample(sample)
            return self.seed()

    def seed(self) -> Sample:
        """Create the sample: knowledge base and documents (queued for ingestion), assistant, published agent."""
        svc = self.svc
        with self._lock:
            kb = svc.knowledge.create(TENANT, self._free_kb_name(), description=KB_DESCRIPTION, icon="📘",
                                      language="English", chunk_config=CHUNKING)
            files = [(p.name, p.read_bytes()) for p in sorted(DEMO_DOCS.iterdir()) if p.is_file()]
            docs = svc.documents.upload(TENANT, kb.id, files)
            prompt = {"opener": OPENER}
            assistant = svc.assistants.create(TENANT, self._free_name("chat", ASSISTANT_NAME), kind="chat",
                                              description="Answers from the sample handbook, citing it.",
                                              avatar="📘", kb_ids=[kb.id], prompt=prompt)
            agent = svc.assistants.create(TENANT, self._free_name("agent", AGENT_NAME), kind="agent",
                                          description="Searches the handbook, calculates and tells the time.",
                                          avatar="🤖", kb_ids=[kb.id], prompt=prompt, tools=AGENT_TOOLS)
            # The public pages: both are shared; a chat assistant is live as it is, an agent runs what was published.
            svc.assistants.publish(TENANT, agent.id)
            for shared in (assistant.id, agent.id):
                svc.assistants.set_access(TENANT, shared, shared=True)
            now = time.time()
            sample = Sample(kb_id=kb.id, doc_ids=[d.id for d in docs], assistant_id=assistant.id, agent_id=agent.id,
                            seeded_at=now, last_reset=now)
            self._save(sample)
            log.info("demo: seeded knowledge base %s, assistant %s, agent %s", kb.id, assistant.id, agent.id)
            return sample

    def _free_kb_name(self) -> str:
        """The sample's name, unless a visitor took it meanwhile (their copy goes at the next reset)."""
        taken = {kb.name.casefold() for kb in self.svc.knowledge.list(TENANT, page_size=1000).items}
        return next(n for n in (KB_NAME, *(f"{KB_NAME} ({i})" for i in range(2, 1000))) if n.casefold() not in taken)

    def _free_name(self, kind: str, name: str) -> str:
        taken = {a.name.casefold() for a in self.svc.assistants.list(TENANT, kind=kind, page_size=1000).items}
        return next(n for n in (name, *(f"{name} ({i})" for i in range(2, 1000))) if n.casefold() not in taken)

    def _rows_exist(self, sample: Sample) -> bool:
        with self.svc.db.session() as s:
            kb = s.get(KnowledgeBase, sample.kb_id)
            docs = s.scalar(select(func.count(Document.id)).where(Document.id.in_(sample.doc_ids),
                                                                  Document.kb_id == sample.kb_id))
            return (kb is not None and kb.tenant_id == TENANT and docs == len(sample.doc_ids)
                    and all(s.get(Assistant, a) is not None for a in (sample.assistant_id, sample.agent_id)))

    def _remove_sample(self, sample: Sample) -> None:
        with self.svc.db.session() as s:
            present = [a for a in (sample.assistant_id, sample.agent_id) if s.get(Assistant, a) is not None]
            kb_present = s.get(KnowledgeBase, sample.kb_id) is not None
        for assistant_id in present:
            self.svc.assistants.delete(TENANT, assistant_id)
        if kb_present:
            self.svc.knowledge.delete(TENANT, sample.kb_id)

    # ------------------------------------------------------------------ fingerprint
    def fingerprint(self, sample: Sample) -> str | None:
        """A hash of everything a visitor can change about the sample; None while its documents are
        still being ingested (or when part of it is gone)."""
        with self.svc.db.session() as s:
            kb = s.get(KnowledgeBase, sample.kb_id)
            assistants = [s.get(Assistant, a) for a in (sample.assistant_id, sample.agent_id)]
            if kb is None or None in assistants:
                return None
            docs = s.execute(select(Document.id, Document.name, Document.enabled, Task.state)
                             .join(Task, Task.id == Document.task_id, isouter=True)
                             .where(Document.kb_id == kb.id).order_by(Document.id)).all()
            if any(d.state is not None and d.state not in FINAL_STATES for d in docs):
                return None
            disabled = s.scalar(select(func.count(Chunk.id)).where(Chunk.kb_id == kb.id, Chunk.enabled.is_(False)))
            state: dict[str, Any] = {
                "kb": [kb.name, kb.description, kb.icon, kb.language, kb.permission, kb.embedding_model,
                       kb.chunk_config, kb.retrieval_config, kb.extra, kb.chunks_version],
                "docs": [[d.id, d.name, d.enabled, d.state] for d in docs], "disabled_chunks": disabled,
                "assistants": [[a.name, a.avatar, a.description, a.kb_ids, a.llm, a.prompt, a.strategy, a.tools,
                                a.published, a.shared, a.access_token] for a in assistants],
            }
        return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()

    def record_fingerprint(self) -> bool:
        """Take the sample's fingerprint once its documents are ingested; True when taken."""
        with self._lock:
            sample = self.sample()
            if sample is None or sample.fingerprint is not None:
                return sample is not None
            sample.fingerprint = self.fingerprint(sample)
            if sample.fingerprint is None:
                return False
            self._save(sample)
            return True

    # ------------------------------------------------------------------ reset
    def reset(self) -> dict[str, int]:
        """Remove what visitors made; restore the sample if a visitor changed it. Returns what was removed."""
        with self._lock:
            sample = self.ensure_sample()
            removed = self._remove_visitor_content(sample)
            if sample.fingerprint is not None and self.fingerprint(sample) != sample.fingerprint:
                log.info("demo: the sample was changed; seeding it afresh")
                self._remove_sample(sample)
                sample = self.seed()
                removed["changed_sample"] = 1
            sample.last_reset, sample.removed_last_time = time.time(), removed
            self._save(sample)
            log.info("demo: reset, removed %s", removed)
            return removed

    def _remove_visitor_content(self, sample: Sample) -> dict[str, int]:
        svc, keep_assistants = self.svc, {sample.assistant_id, sample.agent_id}
        with svc.db.session() as s:
            kbs = list(s.scalars(select(KnowledgeBase.id).where(KnowledgeBase.tenant_id == TENANT,
                                                                 KnowledgeBase.id != sample.kb_id)))
            docs = list(s.scalars(select(Document.id).where(Document.kb_id == sample.kb_id,
                                                            Document.id.not_in(sample.doc_ids))))
            assistants = [a for a in s.scalars(select(Assistant.id).where(Assistant.tenant_id == TENANT))
                          if a not in keep_assistants]
            providers = list(s.scalars(select(ToolProvider.id).where(ToolProvider.tenant_id == TENANT)))
        for kb_id in kbs:
            svc.knowledge.delete(TENANT, kb_id)
        if docs:
            svc.documents.delete(TENANT, docs)
        for assistant_id in assistants:
            svc.assistants.delete(TENANT, assistant_id)
        for provider_id in providers:
            svc.tools.delete_provider(TENANT, provider_id)
        svc.retrieval.flush()  # searches still being logged land before the log is cleared
        with svc.db.session() as s:
            chats = s.execute(delete(Conversation).where(Conversation.tenant_id == TENANT)).rowcount
            searches = s.execute(delete(QueryLog).where(QueryLog.tenant_id == TENANT)).rowcount
        return {"knowledge_bases": len(kbs), "documents": len(docs), "assistants": len(assistants),
                "tool_providers": len(providers), "chats": chats, "searches": searches}
