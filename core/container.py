"""build_services(settings) -> Services: one object wiring storage, providers and services.

The server, the UI pages, the CLI and the tests all get their services from here, so
they share one data dir and one set of rules. Each service is built, and its module
imported, on first use: a CLI command pays only for what it touches (`kb list` never
imports Chroma, LlamaIndex or the embedding engine).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from core.config import Settings
from core.secrets import install_log_redaction, private_dir, private_file
from storage.db import Database, migrate

if TYPE_CHECKING:
    from core.assistants import AssistantService
    from core.chat import ChatService
    from core.chunks import ChunkService
    from core.demo import DemoSite
    from core.documents import DocumentService
    from core.embedding import EmbeddingService
    from core.evaluation import EvaluationService, EvaluationWorkers
    from core.files import FileService
    from core.glossary import GlossaryService
    from core.ingestion.pipeline import Pipeline
    from core.ingestion.tasks import TaskQueue
    from core.ingestion.worker import IngestionWorkers
    from core.knowledge import KnowledgeService
    from core.model_configs import ModelService
    from core.retrieval import RetrievalService
    from core.secrets import Sealer
    from core.tenants import TenantService
    from core.ingestion.readers import ReadLimits
    from core.tools import ToolService
    from core.upstream_models import UpstreamModels
    from core.users import UserService
    from core.visitors import VisitorPolicy
    from core.voice import VoiceService
    from core.workspace import WorkspaceService
    from storage.files import BlobStore
    from storage.vectors import VectorStore

T = TypeVar("T")


class lazy(Generic[T]):  # noqa: N801 - used like @property
    """A service built on first use (once, even when threads race), then a plain attribute."""

    def __init__(self, build: Callable[[Any], T]):
        self.build, self.name, self.__doc__ = build, build.__name__, build.__doc__

    def __get__(self, services: Services | None, owner: type | None = None) -> T:
        if services is None:
            return self  # type: ignore[return-value]
        with services._lock:  # re-entrant: building one service builds the ones it needs
            if self.name not in services.__dict__:  # afterwards the instance dict answers directly
                services.__dict__[self.name] = self.build(services)
            return services.__dict__[self.name]


class Services:
    def __init__(self, settings: Settings, db: Database):
        self.settings, self.db = settings, db
        self.admin_api_key = ""
        self._lock = threading.RLock()

    def built(self, name: str) -> bool:
        return name in self.__dict__

    # ---------------------------------------------------------------- storage
    @lazy
    def vectors(self) -> VectorStore:
        from storage.vectors import VectorStore

        return VectorStore(path=self.settings.chroma_dir, url=self.settings.chroma_url)

    @lazy
    def blobs(self) -> BlobStore:
        from storage.files import BlobStore

        return BlobStore(self.settings.files_dir)

    @lazy
    def embeddings(self) -> EmbeddingService:
        from core.embedding import EmbeddingService

        return EmbeddingService(self.db, self.settings)

    # ---------------------------------------------------------------- ingestion
    @lazy
    def tasks(self) -> TaskQueue:
        from core.ingestion.tasks import TaskQueue

        return TaskQueue(self.db)

    @lazy
    def read_limits(self) -> ReadLimits:
        from core.ingestion.readers import ReadLimits

        s = self.settings
        return ReadLimits(max_expanded_bytes=s.max_expanded_mb * 2**20, max_ocr_pages=s.ocr_max_pages)

    @lazy
    def pipeline(self) -> Pipeline:
        from core.ingestion.pipeline import Pipeline

        return Pipeline(self.db, self.blobs, self.vectors, self.embeddings, self.tasks, self.read_limits,
                        self.settings.max_chunks_per_document)

    @lazy
    def workers(self) -> IngestionWorkers:
        from core.ingestion.worker import IngestionWorkers

        return IngestionWorkers(self.pipeline, self.tasks, self.settings.ingest_workers, nice=self.settings.ingest_nice)

    def _work_queued(self) -> None:
        """New tasks wait in the database: wake this process's workers, if it runs any."""
        if self.built("workers"):
            self.workers.notify()

    # ---------------------------------------------------------------- domain
    @lazy
    def sealer(self) -> Sealer:
        from core.secrets import Sealer

        return Sealer(self.settings)

    @lazy
    def tenants(self) -> TenantService:
        from core.tenants import TenantService

        return TenantService(self.db, self.settings, self.sealer, lambda: (self.vectors, self.blobs))

    @lazy
    def users(self) -> UserService:
        from core.users import UserService

        return UserService(self.db, self.settings, self.sealer, self.tenants)

    @lazy
    def files(self) -> FileService:
        from core.files import FileService

        return FileService(self.db, self.blobs, self.settings, self.sealer)

    @lazy
    def visitors(self) -> VisitorPolicy:
        from core.visitors import VisitorPolicy

        return VisitorPolicy(self.settings)

    @lazy
    def demo(self) -> DemoSite:
        from core.demo import DemoSite

        return DemoSite(self)

    @lazy
    def knowledge(self) -> KnowledgeService:
        from core.knowledge import KnowledgeService

        return KnowledgeService(self.db, self.vectors, self.blobs, self.embeddings, self.settings,
                                on_queued=self._work_queued)

    @lazy
    def documents(self) -> DocumentService:
        from core.documents import DocumentService

        return DocumentService(self.db, self.blobs, self.vectors, self.tasks, self.settings.max_upload_bytes,
                               on_queued=self._work_queued, allow_private_urls=self.settings.allow_private_urls,
                               visitors=self.visitors)

    @lazy
    def chunks(self) -> ChunkService:
        from core.chunks import ChunkService

        return ChunkService(self.db, self.vectors, self.embeddings)

    @lazy
    def retrieval(self) -> RetrievalService:
        from core.query_expansion import QueryExpander
        from core.retrieval import RetrievalService

        return RetrievalService(self.db, self.vectors, self.embeddings, self.settings,
                                expander=QueryExpander(self.db, self.models, self.glossary, self.settings))

    @lazy
    def glossary(self) -> GlossaryService:
        from core.glossary import GlossaryService

        return GlossaryService(self.db)

    @lazy
    def models(self) -> ModelService:
        from core.model_configs import ModelService

        return ModelService(self.db, self.settings, self.sealer, visitors=self.visitors)

    @lazy
    def tools(self) -> ToolService:
        from core.tools import ToolService

        return ToolService(self.db, self.settings, self.retrieval, self.sealer)

    @lazy
    def assistants(self) -> AssistantService:
        from core.assistants import AssistantService

        return AssistantService(self.db, self.models, self.tools)

    @lazy
    def chat(self) -> ChatService:
        from core.chat import ChatService

        return ChatService(self.db, self.retrieval, self.assistants, self.models, tools=self.tools,
                           visitors=self.visitors, read_limits=self.read_limits)

    @lazy
    def voice(self) -> VoiceService:
        from core.voice import VoiceService

        return VoiceService(self.settings, self.models)

    @lazy
    def workspace(self) -> WorkspaceService:
        from core.workspace import WorkspaceService

        return WorkspaceService(self.db, self.chat, self.assistants, self.knowledge, self.models, self.read_limits,
                                self.files)

    @lazy
    def upstream(self) -> UpstreamModels:
        from core.upstream_models import UpstreamModels

        return UpstreamModels(self.settings, self.models)

    # ---------------------------------------------------------------- evaluation
    @lazy
    def evaluation(self) -> EvaluationService:
        from core.evaluation import EvaluationService

        return EvaluationService(self.db, self.settings, self.knowledge, self.documents, self.models,
                                 on_queued=self._eval_queued)

    @lazy
    def eval_workers(self) -> EvaluationWorkers:
        from core.evaluation import EvaluationWorkers, RunExecutor

        executor = RunExecutor(self.db, self.evaluation.queue, self.retrieval, self.evaluation.llm_for)
        return EvaluationWorkers(executor, self.settings.eval_workers)

    def _eval_queued(self) -> None:
        if self.built("eval_workers"):
            self.eval_workers.notify()

    # ---------------------------------------------------------------- process
    def health(self) -> dict:
        try:
            with self.db.session() as s:
                s.connection().exec_driver_sql("SELECT 1")
            database = {"ok": True, "dialect": self.db.dialect}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            database = {"ok": False, "dialect": self.db.dialect, "error": str(exc)}
        vectors = self.vectors.health()
        workers = self.workers.state()
        try:
            workers["active_tasks"] = self.tasks.active_count()
        except Exception:  # noqa: BLE001
            workers["active_tasks"] = None
        ok = database["ok"] and vectors["ok"]
        return {"status": "ok" if ok else "degraded", "database": database, "vector_store": vectors,
                "workers": workers}

    def close(self) -> None:
        """Stop what this process started; only services that were built have anything to stop."""
        if self.built("demo"):
            self.demo.stop()
        if self.built("workers"):
            self.workers.stop()
        if self.built("eval_workers"):
            self.eval_workers.stop()  # a run in progress is handed back and resumes at the next start
        if self.built("retrieval"):
            self.retrieval.close()  # writes the hit counts and query log still queued
        if self.built("tenants"):
            self.tenants.close()  # writes the key-use stamps still queued
        self.db.engine.dispose()


def build_services(settings: Settings | None = None, *, start_workers: bool = False) -> Services:
    """Open (and migrate) the database. With `start_workers`, start this process's background work:
    ingestion, and in demo mode the sample site (seeded at once if new) and its scheduled reset."""
    settings = settings or Settings()
    install_log_redaction()
    for folder in (settings.resolved_data_dir, settings.files_dir, *([] if settings.chroma_url else
                                                                     [settings.chroma_dir])):
        private_dir(folder)  # the database, vectors, originals and secrets: owner-only (0700)
    if not settings.database_url:
        private_file(settings.resolved_data_dir / "almanac.db")  # 0600; SQLite gives its -wal and -shm the same
    db = Database(settings.sqlalchemy_url)
    migrate(db.engine)
    services = Services(settings, db)
    services.admin_api_key = services.tenants.ensure_default()
    if services.models.seal_stored_keys() + services.tools.seal_stored_secrets():  # rows saved before sealing
        log.info("sealed the secrets stored in plain text")
    if start_workers:
        services.workers.start()
        services.eval_workers.start()
        if settings.demo:
            services.demo.start()
    return services


log = logging.getLogger(__name__)
_current: Services | None = None
_current_lock = threading.Lock()


def set_services(services: Services | None) -> None:
    """Make `services` the process-wide instance (the server does this at start-up)."""
    global _current
    _current = services


def get_services() -> Services:
    """The process-wide services; built on first use (e.g. under `streamlit run app.py`)."""
    global _current
    with _current_lock:
        if _current is None:
            _current = build_services(start_workers=True)
        return _current
