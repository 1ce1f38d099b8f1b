"""Documents: upload, list, rename, enable/disable, parse/cancel, download, delete.

A file whose content (sha256) is already in the knowledge base is a duplicate; the caller chooses what an
upload does with it (`on_duplicate`): keep both (the default), error (Conflict, nothing stored), skip (the
existing document is returned instead), or replace (the existing document is deleted).
"""

from __future__ import annotations

import errno
import hashlib
import mimetypes
from collections.abc import Callable, Sequence
from pathlib import PurePath
from urllib.parse import urlparse

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.chunks import vector_metadata
from core.errors import Conflict, InvalidInput, NotFound, TooLarge, Unavailable
from core.ingestion.readers import detect_type
from core.naming import free_name
from core.net import fetch
from core.ingestion.tasks import TaskQueue, new_batch_id, task_info
from core.scope import check_paging, load_document, load_kb, parse_config
from core.schemas import ACTIVE_STATES, ChunkConfig, DocumentInfo, Page
from core.visitors import VisitorPolicy
from storage.db import Database
from storage.files import BlobStore, Stored
from storage.orm import Chunk, Document, Task, UploadFile, new_id, utcnow
from storage.vectors import VectorStore

ORDERABLE = ("created_at", "updated_at", "name", "size")
ON_DUPLICATE = ("keep", "error", "skip", "replace")
UPLOAD_PURPOSES = ("file", "image")  # upload rows kept for later use (core/files.py)


def doc_info(d: Document) -> DocumentInfo:
    return DocumentInfo(
        id=d.id, tenant_id=d.tenant_id, kb_id=d.kb_id, name=d.name, kind=d.kind, size=d.size,
        source_type=d.source_type, source_url=d.source_url,
        chunk_config=ChunkConfig.model_validate(d.chunk_config) if d.chunk_config else None,
        enabled=d.enabled, meta=dict(d.meta or {}), chunk_count=d.chunk_count, token_count=d.token_count,
        char_count=d.char_count, hit_count=d.hit_count, created_at=d.created_at, updated_at=d.updated_at,
        task=task_info(d.task) if d.task else None, file_id=d.file_id, disabled_at=d.disabled_at,
        extra=dict(d.extra or {}),
    )


def with_positions(s: Session, kb_id: str, infos: list[DocumentInfo]) -> list[DocumentInfo]:
    """Fill in each document's 1-based place in its knowledge base (oldest first)."""
    if not infos:
        return infos
    ranked = (select(Document.id, func.row_number().over(order_by=(Document.created_at, Document.id)).label("n"))
              .where(Document.kb_id == kb_id).subquery())
    places = dict(s.execute(select(ranked.c.id, ranked.c.n).where(ranked.c.id.in_([d.id for d in infos]))).all())
    for info in infos:
        info.position = int(places.get(info.id, 0))
    return infos


def release_files(s: Session, blobs: BlobStore, file_ids: Sequence[str]) -> None:
    """Drop document originals no document uses any more, and blobs no upload row uses. Uploads kept for
    later use (core/files.py) stay until they are deleted there."""
    for fid in file_ids:
        upload = s.get(UploadFile, fid)
        if upload is None or upload.purpose != "document" or \
                s.scalar(select(Document.id).where(Document.file_id == fid).limit(1)):
            continue
        key = upload.storage_key
        s.delete(upload)
        s.flush()
        if not s.scalar(select(UploadFile.id).where(UploadFile.storage_key == key).limit(1)):
            blobs.delete(key)


def safe_name(name: str) -> str:
    name = PurePath((name or "").replace("\\", "/").replace("\x00", "")).name.strip()
    if not name:
        raise InvalidInput("File name must not be empty")
    if len(name) > 255:
        raise InvalidInput("File name is longer than 255 characters")
    return name


class DocumentService:
    def __init__(self, db: Database, blobs: BlobStore, vectors: VectorStore, queue: TaskQueue,
                 max_upload_bytes: int, on_queued: Callable[[], None] = lambda: None,
                 allow_private_urls: bool = False, visitors: VisitorPolicy | None = None):
        self.db, self.blobs, self.vectors, self.queue = db, blobs, vectors, queue
        self.max_upload_bytes = max_upload_bytes
        self.on_queued = on_queued  # wakes the in-process workers
        self.allow_private_urls = allow_private_urls
        self.visitors = visitors  # a public demo's limits on uploads (core/visitors.py)

    def upload(self, tenant_id: str, kb_id: str, files: Sequence[tuple[str, bytes]], *, parse: bool = True,
               chunk_config: dict | None = None, source_type: str = "local", source_url: str = "",
               meta: dict | None = None, on_duplicate: str = "keep",
               rename_duplicates: bool = False) -> list[DocumentInfo]:
        """Store files as documents; with `parse`, queue them for ingestion (one batch id). Duplicates by content
        are handled as `on_duplicate` says (see the module docstring); a skipped file returns the existing document.
        With `rename_duplicates`, a name the knowledge base already has becomes `name(1).ext`."""
        if not files:
            raise InvalidInput("No file was given")
        if on_duplicate not in ON_DUPLICATE:
            raise InvalidInput(f"on_duplicate must be one of: {', '.join(ON_DUPLICATE)}")
        if self.visitors is not None:
            self.visitors.check_upload(files)
        config = parse_config(ChunkConfig, chunk_config).model_dump() if chunk_config else None
        checked = []
        for name, data in files:
            name = safe_name(name)
            if len(data) > self.max_upload_bytes:
                raise TooLarge(f"'{name}' is {len(data) / 2**20:.1f} MB; the limit is "
                               f"{self.max_upload_bytes / 2**20:.0f} MB")
            checked.append((name, data, hashlib.sha256(data).hexdigest()))
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            same = self._same_content(s, kb_id, [digest for *_, digest in checked])
            if on_duplicate == "error":
                self._refuse_duplicates(checked, same)
        # The originals go to disk before the transaction (writing a large file takes a while); what ends up
        # unused (skipped duplicates, a failure) is removed again.
        blobs = self._store([(name, data) for name, data, digest in checked
                             if not (same.get(digest) and on_duplicate == "skip")])
        try:
            infos, stale_vectors = self._add_documents(tenant_id, kb_id, checked, blobs, config, parse=parse,
                                                       on_duplicate=on_duplicate, rename_duplicates=rename_duplicates,
                                                       source_type=source_type, source_url=source_url, meta=meta)
        finally:
            self._forget(blobs)
        for kb, cids in stale_vectors.items():
            self.vectors.delete(kb, cids)
        if parse:
            self.on_queued()
        return infos

    def duplicates(self, tenant_id: str, kb_id: str, files: Sequence[tuple[str, bytes]]) -> dict[str, str]:
        """File name -> the name of the document with the same content in the knowledge base (or of an earlier file
        of the same list), for each given file that has one."""
        digests = [hashlib.sha256(data).hexdigest() for _, data in files]
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            holder = {d: docs[0].name for d, docs in self._same_content(s, kb_id, digests).items()}
        found: dict[str, str] = {}
        for (name, _), digest in zip(files, digests, strict=True):
            if digest in holder:
                found[name] = holder[digest]
            holder.setdefault(digest, name)
        return found

    def _add_documents(self, tenant_id: str, kb_id: str, checked: list[tuple[str, bytes, str]], blobs: list[Stored],
                       config: dict | None, *, parse: bool, on_duplicate: str, rename_duplicates: bool,
                       source_type: str, source_url: str, meta: dict | None
                       ) -> tuple[list[DocumentInfo], dict[str, list[str]]]:
        """The rows of one upload in one short transaction (the originals are on disk already); returns the
        documents and the vectors of replaced duplicates, to delete once committed."""
        by_digest = {b.sha256: b for b in blobs}
        stale_vectors: dict[str, list[str]] = {}
        with self.db.session() as s:
            same = self._same_content(s, kb_id, [digest for *_, digest in checked])
            if on_duplicate == "error":
                self._refuse_duplicates(checked, same)
            batch = new_batch_id()
            docs = []
            for name, data, digest in checked:
                if same.get(digest) and on_duplicate == "skip":
                    docs.append(same[digest][0])
                    continue
                blob = by_digest.get(digest)
                if same.get(digest) and on_duplicate == "replace":
                    for kb, cids in self._delete_rows(s, same.pop(digest)).items():
                        stale_vectors.setdefault(kb, []).extend(cids)
                    blob = None  # the replaced document's original was this very file: it went with it
                if blob is None:
                    blob = self.blobs.put(data)
                    blobs.append(blob)
                if rename_duplicates:
                    name = free_name(name, lambda n: bool(s.scalar(
                        select(Document.id).where(Document.kb_id == kb_id, Document.name == n).limit(1))))
                doc = self._add_document(s, tenant_id, kb_id, name, data, blob, config, source_type=source_type,
                                         source_url=source_url, meta=meta)
                if parse:
                    self._queue(s, doc, batch)
                docs.append(doc)
                same.setdefault(digest, [doc])  # the same file twice in one upload is a duplicate too
            s.flush()
            return [doc_info(d) for d in docs], stale_vectors

    @staticmethod
    def _add_document(s: Session, tenant_id: str, kb_id: str, name: str, data: bytes, blob: Stored,
                      config: dict | None, *, source_type: str, source_url: str, meta: dict | None) -> Document:
        upload = UploadFile(tenant_id=tenant_id, name=name, size=len(data), sha256=blob.sha256, storage_key=blob.key,
                            mime_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
        s.add(upload)
        s.flush()
        try:
            kind = detect_type(name, data)
        except InvalidInput:
            kind = PurePath(name).suffix.lstrip(".").lower()[:16]  # ingestion reports it; column is 16 wide
        doc = Document(tenant_id=tenant_id, kb_id=kb_id, file_id=upload.id, name=name, kind=kind, size=len(data),
                       source_type=source_type, source_url=source_url, chunk_config=config, meta=meta or {})
        s.add(doc)
        s.flush()
        return doc

    def _store(self, files: list[tuple[str, bytes]]) -> list[Stored]:
        """The originals in the blob store, all or none (a full disk fails cleanly)."""
        stored: list[Stored] = []
        for name, data in files:
            try:
                stored.append(self.blobs.put(data))
            except OSError as exc:
                self._forget(stored)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise Unavailable(f"The server's disk is full: '{name}' could not be stored, and nothing of "
                                      "this upload was kept. Free some space and try again.") from exc
                raise
        return stored

    def _forget(self, stored: list[Stored]) -> None:
        """Remove the blobs this upload created that no file row uses (a failure after they were written)."""
        new = {b.key for b in stored if b.created}
        if not new:
            return
        with self.db.session() as s:
            used = set(s.scalars(select(UploadFile.storage_key).where(UploadFile.storage_key.in_(new))))
        for key in new - used:
            self.blobs.delete(key)

    @staticmethod
    def _same_content(s: Session, kb_id: str, digests: list[str]) -> dict[str, list[Document]]:
        """sha256 -> the knowledge base's documents with that content, oldest first."""
        rows = s.execute(select(UploadFile.sha256, Document).join(Document, Document.file_id == UploadFile.id)
                         .where(Document.kb_id == kb_id, UploadFile.sha256.in_(set(digests)))
                         .order_by(Document.created_at, Document.id)).all()
        same: dict[str, list[Document]] = {}
        for digest, doc in rows:
            same.setdefault(digest, []).append(doc)
        return same

    @staticmethod
    def _refuse_duplicates(checked: list[tuple[str, bytes, str]], same: dict[str, list[Document]]) -> None:
        """A Conflict naming the document (its id for the dialects) that already has a file's content."""
        seen: dict[str, str] = {}
        for name, _, digest in checked:
            if same.get(digest):
                existing = same[digest][0]
                raise Conflict(f"'{name}' is already in this knowledge base as '{existing.name}'", ident=existing.id)
            if digest in seen:
                raise Conflict(f"'{name}' and '{seen[digest]}' have the same content")
            seen[digest] = name

    def add_files(self, tenant_id: str, kb_id: str, file_ids: Sequence[str], *,
                  chunk_config: dict | None = None) -> tuple[str, list[DocumentInfo]]:
        """Documents from the tenant's uploads (core/files.py), which they reference as their originals; all
        queued in one batch. Returns (batch id, documents). Every file is checked before anything is created."""
        file_ids = list(dict.fromkeys(file_ids))
        if not file_ids:
            raise InvalidInput("upload_file_ids: give at least one file")
        config = parse_config(ChunkConfig, chunk_config).model_dump() if chunk_config else None
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            files = []
            for fid in file_ids:
                upload = s.get(UploadFile, fid) if isinstance(fid, str) else None
                if upload is None or upload.tenant_id != tenant_id or upload.purpose not in UPLOAD_PURPOSES:
                    raise NotFound(f"File '{fid}' not found", kind="upload_file", ident=str(fid))
                try:
                    kind = detect_type(upload.name, self.blobs.get(upload.storage_key))
                except InvalidInput as exc:
                    raise InvalidInput(f"upload_file_ids: '{upload.name}' cannot become a document: "
                                       f"{exc.message}") from None
                files.append((upload, kind))
            batch = new_batch_id()
            docs = []
            for upload, kind in files:
                doc = Document(tenant_id=tenant_id, kb_id=kb_id, file_id=upload.id, name=upload.name, kind=kind,
                               size=upload.size, chunk_config=config, meta={})
                s.add(doc)
                s.flush()
                self._queue(s, doc, batch)
                docs.append(doc)
            infos = with_positions(s, kb_id, [doc_info(d) for d in docs])
        self.on_queued()
        return batch, infos

    def batch(self, tenant_id: str, kb_id: str, batch_id: str) -> list[DocumentInfo]:
        """The documents queued together under `batch_id`, each with its latest task and indexed chunk count."""
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            docs = s.scalars(select(Document).where(Document.id.in_(
                select(Task.doc_id).where(Task.batch_id == batch_id, Task.kb_id == kb_id,
                                          Task.tenant_id == tenant_id)))
                .order_by(Document.created_at, Document.id)).all()
            if not docs:
                raise NotFound(f"Batch '{batch_id}' not found", kind="batch", ident=batch_id)
            embedded = dict(s.execute(select(Chunk.doc_id, func.count(Chunk.id)).where(
                Chunk.doc_id.in_([d.id for d in docs]), Chunk.embedded.is_(True)).group_by(Chunk.doc_id)).all())
            infos = [doc_info(d).model_copy(update={"embedded_count": int(embedded.get(d.id, 0))}) for d in docs]
            return with_positions(s, kb_id, infos)

    def import_url(self, tenant_id: str, kb_id: str, url: str, *, parse: bool = True,
                   chunk_config: dict | None = None, meta: dict | None = None,
                   on_duplicate: str = "keep") -> DocumentInfo:
        """Fetch a web page or file and add it like an upload (named after the URL)."""
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)  # before going out to the network
        limit = self.visitors.upload_limit(self.max_upload_bytes) if self.visitors else self.max_upload_bytes
        got = fetch(url.strip(), max_bytes=limit, allow_private=self.allow_private_urls)
        path = PurePath(urlparse(got.url).path)
        name = path.name or urlparse(got.url).hostname or "page"
        if "html" in got.content_type and not name.lower().endswith((".html", ".htm")):
            name += ".html"
        (doc,) = self.upload(tenant_id, kb_id, [(name, got.content)], parse=parse, chunk_config=chunk_config,
                             source_type="url", source_url=got.url, meta=meta, on_duplicate=on_duplicate)
        return doc

    def _queue(self, s: Session, doc: Document, batch: str) -> Task:
        task = Task(id=new_id(), tenant_id=doc.tenant_id, kb_id=doc.kb_id, doc_id=doc.id, batch_id=batch,
                    state="waiting", progress=0.0, message="Waiting for a worker")
        s.add(task)
        doc.task_id = task.id
        s.flush()
        s.expire(doc, ["task"])
        return task

    def get(self, tenant_id: str, doc_id: str, *, kb_id: str | None = None) -> DocumentInfo:
        """The tenant's document; with `kb_id`, only a document of that knowledge base."""
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id, kb_id)
            return with_positions(s, doc.kb_id, [doc_info(doc)])[0]

    def get_many(self, tenant_id: str, doc_ids: Sequence[str]) -> list[DocumentInfo]:
        """The tenant's documents among `doc_ids`, in the order asked; ids it does not own are left out."""
        wanted = list(dict.fromkeys(doc_ids))
        with self.db.session() as s:
            rows = {d.id: d for d in s.scalars(select(Document).where(Document.tenant_id == tenant_id,
                                                                       Document.id.in_(wanted)))}
            return [doc_info(rows[i]) for i in wanted if i in rows]

    def list(self, tenant_id: str, kb_id: str, *, search: str = "", page: int = 1, page_size: int = 30,
             order_by: str = "created_at", desc: bool = True, doc_id: str = "", name: str = "",
             status: str = "") -> Page:
        check_paging(page, page_size)
        if order_by not in ORDERABLE:
            raise InvalidInput(f"order_by must be one of: {', '.join(ORDERABLE)}")
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            q = select(Document).where(Document.kb_id == kb_id)
            if search:
                q = q.where(func.lower(Document.name).contains(search.lower(), autoescape=True))
            if doc_id:
                q = q.where(Document.id == doc_id)
            if name:
                q = q.where(Document.name == name)
            if status == "unstart":
                q = q.where(Document.task_id.is_(None))
            elif status:
                q = q.join(Task, Task.id == Document.task_id).where(Task.state == status)
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            col = getattr(Document, order_by)
            rows = s.scalars(q.order_by(col.desc() if desc else col.asc(), Document.id)
                             .offset((page - 1) * page_size).limit(page_size)).all()
            return Page(items=with_positions(s, kb_id, [doc_info(d) for d in rows]), total=total, page=page,
                        page_size=page_size)

    def recent(self, tenant_id: str, limit: int = 10) -> list[DocumentInfo]:
        """The tenant's latest documents across knowledge bases (for the home page)."""
        with self.db.session() as s:
            rows = s.scalars(select(Document).where(Document.tenant_id == tenant_id)
                             .order_by(Document.updated_at.desc()).limit(limit)).all()
            return [doc_info(d) for d in rows]

    def update(self, tenant_id: str, doc_id: str, *, name: str | None = None, chunk_config: dict | None = None,
               meta: dict | None = None, extra: dict | None = None) -> DocumentInfo:
        """Change what is given; `extra` replaces the given top-level keys (one per dialect)."""
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id)
            if name is not None:
                doc.name = safe_name(name)
            if chunk_config is not None:
                doc.chunk_config = parse_config(ChunkConfig, chunk_config).model_dump()
            if meta is not None:
                doc.meta = meta
            if extra is not None:
                doc.extra = {**(doc.extra or {}), **extra}
            s.flush()
            return doc_info(doc)

    def set_enabled(self, tenant_id: str, doc_id: str, enabled: bool) -> DocumentInfo:
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id)
            if doc.task is None or doc.task.state != "completed":
                raise Conflict("Only documents that finished processing can be enabled or disabled")
            if doc.enabled != bool(enabled):
                doc.enabled, doc.disabled_at = bool(enabled), None if enabled else utcnow()
            chunks = s.scalars(select(Chunk).where(Chunk.doc_id == doc.id, Chunk.embedded.is_(True))).all()
            self.vectors.set_metadata(doc.kb_id, [c.id for c in chunks], [vector_metadata(c, doc.enabled) for c in chunks])
            s.flush()
            return doc_info(doc)

    def parse(self, tenant_id: str, doc_ids: Sequence[str]) -> list[DocumentInfo]:
        """(Re-)process documents: a new task each; their chunks are replaced when it splits."""
        if not doc_ids:
            raise InvalidInput("No document was given")
        with self.db.session() as s:
            docs = [load_document(s, tenant_id, d) for d in dict.fromkeys(doc_ids)]
            busy = [d.name for d in docs if d.task is not None and d.task.state in ACTIVE_STATES]
            if busy:
                raise Conflict(f"Already being processed: {', '.join(busy)}")
            batch = new_batch_id()
            for d in docs:
                self._queue(s, d, batch)
            infos = [doc_info(d) for d in docs]
        self.on_queued()
        return infos

    def cancel(self, tenant_id: str, doc_ids: Sequence[str]) -> int:
        with self.db.session() as s:
            docs = [load_document(s, tenant_id, d) for d in dict.fromkeys(doc_ids)]
            task_ids = [d.task_id for d in docs if d.task_id]
        return self.queue.cancel(task_ids) if task_ids else 0

    def download(self, tenant_id: str, doc_id: str) -> tuple[str, bytes, str]:
        """(file name, original bytes, mime type)."""
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id)
            upload = s.get(UploadFile, doc.file_id) if doc.file_id else None
            if upload is None:
                raise NotFound(f"The original file of '{doc.name}' is not available")
            return doc.name, self.blobs.get(upload.storage_key), upload.mime_type

    def delete_by_source(self, tenant_id: str, kb_id: str, source: str) -> list[DocumentInfo]:
        """Delete the knowledge base's documents that came from `source` (their URL or path, else their name);
        the deleted documents as they were (none when nothing came from there)."""
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)
            rows = s.scalars(select(Document).where(Document.kb_id == kb_id, or_(
                Document.source_url == source, and_(Document.source_url == "", Document.name == source)))).all()
            found = [doc_info(d) for d in rows]
        if found:
            self.delete(tenant_id, [d.id for d in found])
        return found

    def delete(self, tenant_id: str, doc_ids: Sequence[str]) -> int:
        """Delete documents with their chunks, vectors, tasks and (unshared) original files."""
        with self.db.session() as s:
            docs = [load_document(s, tenant_id, d) for d in dict.fromkeys(doc_ids)]
            self._delete_rows(s, docs, vectors_first=True)
        return len(docs)

    def _delete_rows(self, s: Session, docs: list[Document], *, vectors_first: bool = False) -> dict[str, list[str]]:
        """Delete the documents' rows (chunks, tasks, unshared files go too); returns the vectors to delete, by
        knowledge base, once the transaction is committed. With `vectors_first`, they are deleted before the rows
        (and none is returned): when the vector store is down, nothing is deleted."""
        ids = [d.id for d in docs]
        chunk_ids: dict[str, list[str]] = {}
        for cid, kb_id in s.execute(select(Chunk.id, Chunk.kb_id).where(Chunk.doc_id.in_(ids))):
            chunk_ids.setdefault(kb_id, []).append(cid)
        if vectors_first:
            for kb_id, cids in chunk_ids.items():
                self.vectors.delete(kb_id, cids)
            chunk_ids = {}
        file_ids = [d.file_id for d in docs if d.file_id]
        s.execute(update(Task).where(Task.doc_id.in_(ids), Task.state.in_(ACTIVE_STATES))
                  .values(state="cancelled", worker=""))
        for d in docs:
            s.delete(d)
        s.flush()
        release_files(s, self.blobs, file_ids)
        return chunk_ids
