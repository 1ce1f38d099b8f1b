"""Nexent's HTTP API (/api/...): the workspace agent, configuration, conversations, data-process tasks, indices and
their searches, models and the upstream model service, file storage, the image proxy, and voice (WebSockets).

Shapes follow Nexent's backend (backend/apps/*.py) and its web front end (frontend/services/*.ts); errors are
Nexent's FastAPI bodies with real statuses (errors.py); views.py maps core objects onto Nexent's field names.

Decisions where the spec is vague or Nexent's own code says more:
- Keys: Nexent has none; here every route needs one (any form of the one credential resolver: `Authorization:
  Bearer`, `X-API-Key`, `?api_key=`), 401 when it is missing or wrong, except the voice sockets, which stay open to
  anonymous callers with the offline providers only (voice.py).
- Errors: routes of Nexent's main app answer `{"message": ...}` (its HTTPException handler), task routes FastAPI's
  `{"detail": ...}` (Nexent's separate data-process app), model routes `{"code", "message", "data"}` with the code
  equal to the HTTP status, the image proxy `{"success": false, "error"}`; validation is FastAPI's 422 everywhere.
- Conversations: ids are integers (a conversation's stable number; Nexent's front end types them as numbers), and so
  are message ids (Nexent's database ids; its front end sends them back as numbers; a numeric string works too).
  They are the tenant's workspace conversations (core channel `workspace`), which need no knowledge base or
  assistant. GET /api/conversation/{id} answers `data` as one object (the spec; Nexent's backend wraps it in a
  one-element list). Opinions Y / N / null are likes, dislikes and none (the answer's feedback). generate_title uses
  the history sent, else the conversation's messages, and the tenant's LLM (else the question shortened). Times are
  epoch milliseconds; `picture` lists stay empty (no web images).
- Agent run: the tenant's default agent (chosen on the Agents page; published agents only), else a retrieval agent
  over the workspace's knowledge bases (core/workspace.py). `conversation_id` absent = a new conversation, its
  number in the `X-Conversation-Id` header; `is_set` is accepted and has no effect. `history` is stored when the
  conversation has no messages yet; otherwise the conversation's own messages are the history. `minio_files` name
  files of the file storage by `object_name` (read with the ingestion readers, their text given to the agent); an
  entry with only a `description` (the preprocess output) gives that text. The SSE frames are Nexent's observer messages (agent.py); the answer is saved
  by the core, nothing is saved twice.
- Configuration: one document per tenant; save_config reads the spec's and the front end's spellings, names saved
  models by model_name, makes them the defaults (the secondary LLM is only kept), and selectedKbNames limit what
  the default retrieval agent searches; load_config answers the spec's shape, each model with `name` and
  `modelName`, the secondary LLM as `llmSecondary` and `secondaryLlm`, API keys masked. reload_config re-reads the
  stored document and applies it again.
- Indices: an index is a knowledge base by name (case-insensitive); creating an existing one succeeds (as Nexent
  does) and new ones use the workspace's embedding model; `embedding_dim` must match that model. list takes a glob
  `pattern`; stats carry Nexent's base_info / search_performance (the spec's docs / size too; size = indexed text).
  info's `fields` are the index's fields by type (the spec's map), files carry `chunk_count` (the front end's) and,
  with include_chunks, up to 100 `chunks` and `chunks_count`. Add documents: items with `text` are indexed as text
  documents (named after metadata.filename, else the source, stored as .txt when that name is not a text file),
  items with only a `source` read it (a URL, or a stored file's object name); the index is made when missing, and
  the call returns when they are indexed (at most 2 minutes), so a search finds them at once. `path_or_url` is a
  document's source (URL or path) else its name; delete takes it as a query parameter or in the body and reports
  the chunks deleted (Nexent's ES documents).
- Search: see search.py; `index` is the index's name; no threshold.
- Tasks: Almanac's ingestion tasks; waiting / processing (reading, splitting) / forwarding (embedding) / completed /
  failed (also cancelled); times are ISO 8601 UTC strings (the spec's "string"); `source` of type file is a stored
  file's object name (never a path on the server), url is fetched behind the private-address guard, text is the
  text itself; chunking_strategy basic / by_title / none = general / markdown (by headings) / one chunk, or an
  Almanac split method; additional_params chunk_size and chunk_overlap apply. A batch is all or nothing.
  The per-index list holds each document's latest task when unfinished or failed.
- Models: see models.py. `/api/me/*` uses ALMANAC_MODEL_ENGINE_URL / _API_KEY (503 with a clear message when unset).
- Image proxy: public addresses only (ALMANAC_ALLOW_PRIVATE_URLS), at most ALMANAC_IMAGE_PROXY_MAX_MB, images only.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.nexent.errors import render_error

__all__ = ["render_error", "routers"]


def routers() -> list[APIRouter]:
    from api.nexent import agent, config, conversations, files, indices, models, proxy, search, tasks, voice

    return [agent.router, config.router, conversations.router, tasks.router, indices.router, search.router,
            models.router, models.me_router, files.router, proxy.router, voice.router]
