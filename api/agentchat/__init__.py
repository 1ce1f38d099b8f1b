"""AgentChat's API (/api/v1): users with access tokens, live agents, dialogs and streamed chat, knowledge bases,
tools, upload. Each signed-in user works in a workspace (tenant); everything below is that workspace's.

Decisions where the spec (shared/api-specs/agentchat.txt) is vague, following AgentChat's own code
(src/backend/agentchat/api/v1/*.py at the release whose chat route is /chat, and src/frontend/src/apis/*.ts):
- Envelope `{"status_code", "status_message", "data"}`; success is 200 / "SUCCESS". Errors use the spec's codes
  (401, 403, 404, 500) plus 400 for input to fix and 429 for sign-in rate limits; the HTTP status is the same
  number (errors.py). Creating or updating returns the object (AgentChat returns null; its front end ignores it).
- Users (core/users.py): register {user_name <= 20 characters, unique case-insensitively; user_password of at
  least 4 characters (the spec's example signs in as test / test); user_email optional} creates the user and a
  workspace of their own (ALMANAC_ALLOW_SIGNUP=false refuses). Login answers {user_id, access_token} plus
  token_type and expires_at; a wrong name or password gets the same 401 "Wrong user name or password"; too many
  failures per name or per address get 429 with Retry-After. The token is an HS256 JWT; `user/logout` (used by
  AgentChat's front end) revokes it. `user/info` shows a user of your own workspace only (yourself without
  `user_id`), `user/update` changes your own profile only; neither shows or takes a password.
- Any route takes a user's token or a workspace API key (`Authorization: Bearer`); the user routes that act on
  "me" (logout, update) need a token.
- Agents: AgentChat's agents are live, so every create / update also publishes. enable_memory (or its older
  name use_embedding) = the agent's long-term memory, per dialog; llm_id = the id of one of the workspace's
  LLM configs (empty: the default LLM); knowledge_ids = knowledge bases searched through the kb_search tool;
  tool_ids = built-in tool names (calculator, current_time, ...) and the ids of the workspace's own tools;
  mcp_ids = ids of the workspace's MCP servers (added on the Tools page); both bind every tool the provider has
  when the agent runs. agent_skill_ids has no counterpart and must be empty. An agent has no greeting. The
  list carries both `id` and `agent_id` (the front end reads either); `user_id` is left out: agents belong to
  the workspace, not to one of its users. Search matches any part of the name, case-insensitively.
- Dialogs (front-end routes): POST /dialog {agent_id, name, agent_type "Agent"}, GET /dialog/list (dialogs with
  agents, with the agent's logo_url and description), DELETE /dialog {dialog_id}; GET /history?dialog_id= gives
  the messages with tool steps as AgentChat's `events`; /message/like and /message/down {user_input,
  agent_output} rate the latest answer with that text.
- Chat streams AgentChat's frames (chat.py): `response_chunk` with chunk and accumulated text, tool steps as
  `event` START / END / ERROR with AgentChat's titles; the dialog's history goes with the question; a
  `file_url` from /upload is read from the file storage and its text goes with the question (and stays in the
  dialog's history); a failure mid-answer is an ERROR event plus a chunk that says what went wrong.
- Knowledge: names are unique per workspace, 1-255 characters (AgentChat's 2-10 character limit is not kept:
  it would refuse names every other dialect accepts for the same knowledge base). `select` gives id, name,
  description, count (documents), file_size ("1.5KB") and times. Retrieval takes one id or a list (and an
  optional top_k) and answers the passages' text, best first, one per line, as AgentChat does.
- Tools (tools.py): built-in tools are listed with zh_name / en_name and cannot be changed; own tools are API
  tool providers (zh_name = display label, en_name = name), callable once they have an openapi_schema.
  `all` and `visible` list the same tools (built-in + own).
- Upload (multipart `file`) stores the file in the workspace's file storage and answers a signed URL to it.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.agentchat.errors import render_error

__all__ = ["render_error", "routers"]


def routers() -> list[APIRouter]:
    from api.agentchat import agents, chat, dialogs, knowledge, tools, upload, users

    return [m.router for m in (users, agents, chat, dialogs, knowledge, tools, upload)]
