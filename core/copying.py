"""Copy a knowledge base: settings, documents, chunks and vectors — into a new knowledge base, or into an
existing one (then only documents whose content it does not have yet; its settings stay).

Originals are shared (blobs are content-addressed). Vectors are copied when both use the same embedding
model; otherwise the copied chunks are embedded with the target's model. Documents that had not finished
processing are queued again in the copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from core.chunks import embed_and_store, vector_metadata
from core.errors import InvalidInput
from core.glossary import GlossaryService
from core.ingestion.tasks import new_batch_id
from core.schemas import KnowledgeBaseInfo
from core.scope import load_kb
from storage.orm import Chunk, Document, GlossaryTerm, KnowledgeBase, Task, UploadFile, new_id, utcnow

if TYPE_CHECKING:
    from core.knowledge import KnowledgeService

COPY_BATCH = 500


def _free_name(s, tenant_id: str, base: str) -> str:  # noqa: ANN001
    taken = {n for n in s.scalars(select(KnowledgeBase.name_key).where(KnowledgeBase.tenant_id == tenant_id))}
    name, i = f"{base} (copy)", 2
    while name.casefold() in taken:
        name, i = f"{base} (copy {i})", i + 1
    return name


def _contents(s, kb_id: str) -> set[str]:  # noqa: ANN001
    """The sha256 of every original a knowledge base holds."""
    return set(s.scalars(select(UploadFile.sha256).join(Document, Document.file_id == UploadFile.id)
                         .where(Document.kb_id == kb_id)))


def copy_knowledge_base(svc: KnowledgeService, tenant_id: str, kb_id: str, new_name: str = "",
                        into: str = "") -> KnowledgeBaseInfo:
    with svc.db.session() as s:
        src = load_kb(s, tenant_id, kb_id)
        if into == kb_id:
            raise InvalidInput("A knowledge base cannot be copied into itself")
        have = _contents(s, load_kb(s, tenant_id, into).id) if into else set()
        name = new_name.strip() if new_name else _free_name(s, tenant_id, src.name)
        settings = {k: getattr(src, k) for k in ("description", "icon", "language", "permission", "embedding_model",
                                                "chunk_config", "retrieval_config", "extra")}
    dst_id = into or svc.create(tenant_id, name, **settings).id
    _copy_glossary(svc, tenant_id, kb_id, dst_id)
    batch = new_batch_id()
    requeue = False
    with svc.db.session() as s:
        dst = s.get(KnowledgeBase, dst_id)
        if not into:
            dst.embedding_dim = src.embedding_dim
        for doc in s.scalars(select(Document).where(Document.kb_id == kb_id).order_by(Document.created_at)).all():
            upload = s.get(UploadFile, doc.file_id) if doc.file_id else None
            if upload is not None and upload.sha256 in have:
                continue
            copy = _copy_document(s, tenant_id, doc, upload, dst.id)
            done = doc.task is not None and doc.task.state == "completed"
            if doc.task is not None:
                copy.task_id = _copy_task(s, tenant_id, doc.task, copy, batch, done)
                requeue = requeue or not done
            if done:
                _copy_chunks(svc, s, doc, copy, same_model=src.embedding_model == dst.embedding_model, dst=dst)
    if requeue:
        svc.on_queued()
    return svc.get(tenant_id, dst_id)


def _copy_glossary(svc: KnowledgeService, tenant_id: str, src_id: str, dst_id: str) -> None:
    """The source's glossary joins the target's (pairs it has already are skipped)."""
    with svc.db.session() as s:
        pairs = s.execute(select(GlossaryTerm.term, GlossaryTerm.translation).where(GlossaryTerm.kb_id == src_id)).all()
    if pairs:
        GlossaryService(svc.db).add(tenant_id, dst_id, [(p.term, p.translation) for p in pairs])


def _copy_document(s, tenant_id: str, doc: Document, upload: UploadFile | None, kb_id: str) -> Document:  # noqa: ANN001
    new_file = None
    if upload is not None:
        new_file = UploadFile(tenant_id=tenant_id, name=upload.name, size=upload.size, mime_type=upload.mime_type,
                              sha256=upload.sha256, storage_key=upload.storage_key)
        s.add(new_file)
        s.flush()
    copy = Document(tenant_id=tenant_id, kb_id=kb_id, file_id=new_file.id if new_file else None, name=doc.name,
                    kind=doc.kind, size=doc.size, source_type=doc.source_type, source_url=doc.source_url,
                    chunk_config=doc.chunk_config, enabled=doc.enabled, meta=dict(doc.meta or {}))
    s.add(copy)
    s.flush()
    return copy


def _copy_task(s, tenant_id: str, t: Task, copy: Document, batch: str, done: bool) -> str:  # noqa: ANN001
    task = Task(id=new_id(), tenant_id=tenant_id, kb_id=copy.kb_id, doc_id=copy.id, batch_id=batch,
                state="completed" if done else "waiting", progress=1.0 if done else 0.0,
                message=t.message if done else "Waiting for a worker", created_at=utcnow())
    if done:
        task.parsing_at, task.splitting_at = t.parsing_at, t.splitting_at
        task.indexing_at, task.finished_at = t.indexing_at, t.finished_at
    s.add(task)
    return task.id


def _copy_chunks(svc: KnowledgeService, s, doc: Document, copy: Document, *, same_model: bool,  # noqa: ANN001
                 dst: KnowledgeBase) -> None:
    chunks = s.scalars(select(Chunk).where(Chunk.doc_id == doc.id).order_by(Chunk.position)).all()
    for i in range(0, len(chunks), COPY_BATCH):
        part = chunks[i : i + COPY_BATCH]
        vecs = svc.vectors.get_vectors(doc.kb_id, [c.id for c in part if c.embedded]) if same_model else {}
        new = []
        for c in part:
            n = Chunk(id=new_id(), tenant_id=c.tenant_id, kb_id=copy.kb_id, doc_id=copy.id, position=c.position,
                      content=c.content, content_hash=c.content_hash, search_text=c.search_text,
                      keywords=list(c.keywords), questions=list(c.questions), meta=dict(c.meta or {}),
                      token_count=c.token_count, char_count=c.char_count, enabled=c.enabled,
                      embedded=c.id in vecs)
            s.add(n)
            new.append((n, vecs.get(c.id)))
        s.flush()
        with_vec = [(n, v) for n, v in new if v is not None]
        if with_vec:
            svc.vectors.upsert(copy.kb_id, [n.id for n, _ in with_vec], np.stack([v for _, v in with_vec]),
                               [vector_metadata(n, copy.enabled) for n, _ in with_vec])
        if not same_model:  # the target's model: vectors of another model are not comparable
            embed_and_store(s, svc.embeddings, svc.vectors, dst, [n for n, _ in new], copy.enabled)
    copy.chunk_count, copy.token_count, copy.char_count = doc.chunk_count, doc.token_count, doc.char_count
