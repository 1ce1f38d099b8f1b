"""build_services(settings) -> Services: one object wiring storage, providers and services.

The server, the UI pages, the CLI and the tests all get their services from here, so
they share one data dir and one set of rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from core.assistants import AssistantService
from core.chat import ChatService
from core.chunks import ChunkService
from core.config import Settings
from core.documents import DocumentService
from core.embedding import EmbeddingService
from core.evaluation import EvaluationService, EvaluationWorkers, RunExecutor
from core.files import FileService
from core.ingestion.pipeline import Pipeline
from core.ingestion.readers import ReadLimits
from core.ingestion.tasks import TaskQueue
from core.ingestion.worker import IngestionWorkers
from core.knowledge import KnowledgeService
from core.model_configs import ModelService
from core.retrieval import RetrievalService
from core.secrets import Sealer
from core.tenants import TenantService
from core.tools import ToolService
from core.users import UserService
from core.voice import VoiceService
from storage.db import Database, migrate
from storage.files import BlobStore
from storage.vectors import VectorStore


@dataclass
class Services:
    settings: Settings
    db: Database
    vectors: VectorStore
    blobs: BlobStore
    embeddings: EmbeddingService
    tenants: TenantService
    knowledge: KnowledgeService
    documents: DocumentService
    chunks: ChunkService
    retrieval: RetrievalService
    tasks: TaskQueue
    workers: IngestionWorkers
    models: ModelService
    assistants: AssistantService
    chat: ChatService
    tools: ToolService
    voice: VoiceService
    evaluation: EvaluationService
    eval_workers: EvaluationWorkers
    sealer: Sealer
    files: FileService
    users: UserService
    admin_api_key: str = ""

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
        self.workers.stop()
        self.eval_workers.stop()  # a run in progress is handed back and resumes at the next start
        self.retrieval.close()  # writes the hit counts and query log still queued
        self.tenants.close()
        self.db.engine.dispose()


def build_services(settings: Settings | None = None, *, start_workers: bool = False) -> Services:
    """Open (and migrate) the stores; with `start_workers`, start ingesting in the background."""
    settings = settings or Settings()
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.sqlalchemy_url)
    migrate(db.engine)
    vectors = VectorStore(path=settings.chroma_dir, url=settings.chroma_url)
    blobs = BlobStore(settings.files_dir)
    embeddings = EmbeddingService(db, settings)
    queue = TaskQueue(db)
    read_limits = ReadLimits(max_expanded_bytes=settings.max_expanded_mb * 2**20, max_ocr_pages=settings.ocr_max_pages)
    pipeline = Pipeline(db, blobs, vectors, embeddings, queue, read_limits, settings.max_chunks_per_document)
    workers = IngestionWorkers(pipeline, queue, settings.ingest_workers)
    sealer = Sealer(settings)
    tenants = TenantService(db, settings, sealer, vectors, blobs)
    models = ModelService(db, settings)
    retrieval = RetrievalService(db, vectors, embeddings, settings)
    tools = ToolService(db, settings, retrieval)
    assistants = AssistantService(db, models, tools)
    knowledge = KnowledgeService(db, vectors, blobs, embeddings, settings, on_queued=workers.notify)
    documents = DocumentService(db, blobs, vectors, queue, settings.max_upload_bytes, on_queued=workers.notify,
                                allow_private_urls=settings.allow_private_urls)
    evaluation = EvaluationService(db, settings, knowledge, documents, models)
    eval_workers = EvaluationWorkers(RunExecutor(db, evaluation.queue, retrieval, evaluation.llm_for),
                                     settings.eval_workers)
    evaluation.on_queued = eval_workers.notify
    services = Services(
        settings=settings, db=db, vectors=vectors, blobs=blobs, embeddings=embeddings, tenants=tenants,
        knowledge=knowledge, documents=documents,
        chunks=ChunkService(db, vectors, embeddings),
        retrieval=retrieval,
        tasks=queue, workers=workers, models=models, assistants=assistants,
        chat=ChatService(db, retrieval, assistants, models, tools=tools, read_limits=read_limits), tools=tools,
        voice=VoiceService(settings, models), evaluation=evaluation, eval_workers=eval_workers,
        sealer=sealer, files=FileService(db, blobs, settings, sealer), users=UserService(db, settings, sealer, tenants),
    )
    services.admin_api_key = tenants.ensure_default()
    if start_workers:
        workers.start()
        eval_workers.start()
    return services


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
