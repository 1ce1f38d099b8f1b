"""Prompt assembly for knowledge chat: numbered passages, history and the question within a token budget.

Also the texts that need no model: retrieval-only answers, heuristic titles, citation parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.schemas import SearchHit
from core.text import count_tokens, has_cjk, markdown_plain

CITE_INSTRUCTION = (
    "\nWhen you use a passage, cite its number in square brackets right after the statement, like [1] or "
    "[2][3]. Cite only numbers from the knowledge base above."
)
REWRITE_SYSTEM = (
    "Rewrite the user's last question into one standalone search query, resolving pronouns and references "
    "from the conversation. Answer with the query only, in the question's language."
)
TITLE_SYSTEM = (
    "Write a short title (at most 8 words) for this conversation, in the language of the question. "
    "Answer with the title only: no quotes, no trailing punctuation."
)
MEMORY_SYSTEM = (
    "You keep the long-term memory of a conversation: a short list of facts worth remembering about the "
    "user, their goals and what was decided. Merge the new exchange into the memory; drop what is no longer "
    "true; stay under 150 words. Answer with the updated memory only."
)
CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue it exactly where it stopped, without repeating anything "
    "and without any preamble."
)
# What an answer without a model says, in the question's language. Visitors of a public page read these:
# no instructions for the admin (the Models, Assistants and Agents pages tell the admin what to fix).
NOTES = {
    "en": {"no_model": "No language model is configured, so this answer quotes the most relevant passages from "
                       "the knowledge base.",
           "no_model_short": "No language model is configured.",
           "model_failed": "The language model could not be reached just now, so this answer quotes the most "
                           "relevant passages from the knowledge base.",
           "model_failed_short": "The language model could not be reached just now.",
           "nothing_found": "Nothing in the knowledge base matches this question.",
           "nothing_to_quote": "This assistant cannot answer yet: it has no language model and no knowledge base "
                               "to quote."},
    "zh": {"no_model": "当前未配置大语言模型，以下回答直接引用知识库中最相关的段落。",
           "no_model_short": "当前未配置大语言模型。",
           "model_failed": "暂时无法连接大语言模型，以下回答直接引用知识库中最相关的段落。",
           "model_failed_short": "暂时无法连接大语言模型。",
           "nothing_found": "知识库中没有与这个问题相关的内容。",
           "nothing_to_quote": "这个助手暂时无法回答：它没有可用的大语言模型，也没有可引用的知识库。"},
}
NO_MODEL_NOTE = NOTES["en"]["no_model"]
NOTHING_TO_QUOTE = NOTES["en"]["nothing_to_quote"]
ANSWER_RESERVE = 1024  # tokens kept for the answer when max_tokens is not set
SAFETY_MARGIN = 64  # message framing and tokenizer differences between models

_CITE_RE = re.compile(r"\[(\d{1,3})\]")


@dataclass
class Prompt:
    messages: list[dict]
    references: list[dict]  # the passages given to the model, numbered from 1 (`index`)
    history_messages: int = 0  # how many earlier messages made it in
    tokens: int = 0  # estimated prompt tokens
    dropped: list[str] = field(default_factory=list)  # chunk ids that did not fit


def passage(hit: SearchHit) -> dict:
    """A search hit as a reference (numbered by build_prompt)."""
    return {"index": 0, "chunk_id": hit.chunk_id, "doc_id": hit.doc_id, "kb_id": hit.kb_id,
            "document_name": hit.document_name, "content": hit.content, "score": round(float(hit.score), 4)}


def truncate_tokens(text: str, limit: int) -> str:
    """`text` cut to at most `limit` tokens (on a word boundary when there is one), marked with "…"."""
    if limit <= 0:
        return ""
    n = count_tokens(text)
    if n <= limit:
        return text
    target = max(limit - 2, 1)  # room for the ellipsis
    while n > target:
        text = text[: max(1, int(len(text) * target / n * 0.95))]
        n = count_tokens(text)
    cut = text.rfind(" ")
    if cut > len(text) * 0.8:
        text = text[:cut]
    return text.rstrip() + "…"


def format_passage(ref: dict) -> str:
    return f"[{ref['index']}] {ref['document_name']}\n{ref['content'].strip()}"


def fill_system(template: str, knowledge: str, show_quote: bool) -> str:
    """The assistant's system prompt with {knowledge} filled in (appended when the slot is missing).

    Plain replace, not str.format: user prompts may contain other braces (JSON examples)."""
    if "{knowledge}" in template:
        text = template.replace("{knowledge}", knowledge)
    elif knowledge:
        text = f"{template.rstrip()}\n\nKnowledge base:\n{knowledge}"
    else:
        text = template
    return text + (CITE_INSTRUCTION if show_quote and knowledge else "")


def build_prompt(system: str, passages: list[dict], history: list[dict], question: str, *,
                 context_window: int, max_tokens: int | None, show_quote: bool,
                 suffix: list[dict] | None = None) -> Prompt:
    """System (with passages) + history (newest rounds first, as far as they fit) + question.

    Priority: system text and question always; then passages in rank order (at least the
    first, truncated if need be); then history. History may use up to a quarter of the
    budget before passages, and whatever passages leave over."""
    suffix = suffix or []
    budget = context_window - (max_tokens or ANSWER_RESERVE) - SAFETY_MARGIN
    fixed = count_tokens(fill_system(system, "", False)) + count_tokens(question) + 8 + \
        sum(count_tokens(m["content"]) + 4 for m in suffix) + (count_tokens(CITE_INSTRUCTION) if show_quote else 0)
    history_cost = [count_tokens(m["content"]) + 4 for m in history]
    room = max(budget - fixed, 0)
    knowledge_room = room - min(sum(history_cost), room // 4)
    refs: list[dict] = []
    dropped: list[str] = []
    used = 0
    for p in passages:
        ref = {**p, "index": len(refs) + 1}
        cost = count_tokens(format_passage(ref)) + 2
        if used + cost > knowledge_room:
            if refs:
                dropped.append(p["chunk_id"])
                continue
            # The best passage alone is too long: give the model as much of it as fits.
            ref["content"] = truncate_tokens(p["content"], max(knowledge_room - 24, 16))
            cost = count_tokens(format_passage(ref)) + 2
        refs.append(ref)
        used += cost
    knowledge = "\n\n".join(format_passage(r) for r in refs)
    kept: list[dict] = []
    left = room - used
    for msg, cost in zip(reversed(history), reversed(history_cost), strict=True):
        if cost > left:
            break
        kept.insert(0, msg)
        left -= cost
    if kept and kept[0]["role"] == "assistant":
        kept = kept[1:]  # a round starts with a question
    messages = [{"role": "system", "content": fill_system(system, knowledge, show_quote)}, *kept,
                {"role": "user", "content": question}, *suffix]
    return Prompt(messages=messages, references=refs, history_messages=len(kept),
                  tokens=fixed + room - left, dropped=dropped)


def with_attachments(text: str, attachments: list[dict] | None) -> str:
    """A question followed by the text of the files it came with, each under its name."""
    blocks = [f"[Attached file: {a.get('name', '')}]\n{a.get('text', '')}" for a in attachments or []]
    return "\n\n".join([text, *blocks]) if blocks else text


def recent_rounds(messages: list[dict], max_rounds: int) -> list[dict]:
    """The last `max_rounds` question/answer rounds of `messages` (role/content dicts, oldest first)."""
    if max_rounds <= 0:
        return []
    starts = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not starts:
        return []
    return messages[starts[-max_rounds] if len(starts) >= max_rounds else starts[0]:]


def cited_indexes(text: str, n_refs: int) -> list[int]:
    """The reference numbers `text` cites ([n] with 1 <= n <= n_refs), in order of first citation."""
    seen: dict[int, None] = {}
    for m in _CITE_RE.finditer(text or ""):
        i = int(m.group(1))
        if 1 <= i <= n_refs:
            seen.setdefault(i)
    return list(seen)


def excerpt(text: str, limit: int = 320) -> str:
    """A readable excerpt: whole sentences up to about `limit` characters, without markdown heading marks."""
    # "# Leave policy" reads as a sentence ("# 年假制度" as a Chinese one).
    text = re.sub(r"(?m)^\s{0,3}#{1,6}\s+(.*)$", lambda m: m.group(1) + ("。" if has_cjk(m.group(1)) else "."), text)
    text = " ".join(markdown_plain(text).split())  # no **, list dashes or link brackets in an excerpt
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for stop in ("。", "！", "？", ". ", "! ", "? "):
        i = cut.rfind(stop)
        if i > limit // 2:
            return cut[: i + len(stop)].rstrip()
    i = cut.rfind(" ")
    return (cut[:i] if i > limit // 2 else cut).rstrip() + "…"


def note(name: str, question: str = "") -> str:
    """One of NOTES, in Chinese for a Chinese question."""
    return NOTES["zh" if has_cjk(question) else "en"][name]


def retrieval_only_answer(refs: list[dict], question: str = "", reason: str = "no_model", quote: int = 3) -> str:
    """Quote the best passages with their numbers, and say why there is no written answer (`reason`: no_model |
    model_failed), in the question's language."""
    if not refs:
        return f"{note('nothing_found', question)} {note(reason + '_short', question)}"
    parts = [note(reason, question)]
    for ref in refs[:quote]:
        parts.append(f"[{ref['index']}] {ref['document_name']}: {excerpt(ref['content'])}")
    return "\n\n".join(parts)


def heuristic_title(question: str) -> str:
    """The question itself, shortened: about 50 characters (20 for Chinese) on a word boundary."""
    text = " ".join((question or "").split()).strip()
    limit = 20 if has_cjk(text) else 50
    if len(text) <= limit:
        return text or "New conversation"
    cut = text[:limit]
    i = cut.rfind(" ")
    return (cut[:i] if i > limit // 2 else cut).rstrip(" ,.;:，。") + "…"


def clean_title(raw: str) -> str:
    line = next((ln for ln in (raw or "").splitlines() if ln.strip()), "").strip()
    line = re.sub(r"^(title|标题)\s*[:：]\s*", "", line, flags=re.I).strip().strip("\"'“”‘’「」*#").strip()
    return line.rstrip("。.!！?？").strip()[:80]


def transcript(messages: list[dict], limit_tokens: int = 1500) -> str:
    """Messages as `User: …` / `Assistant: …` lines, the newest kept when too long."""
    lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content'].strip()}" for m in messages]
    out: list[str] = []
    used = 0
    for line in reversed(lines):
        cost = count_tokens(line)
        if used + cost > limit_tokens:
            break
        out.insert(0, line)
        used += cost
    return "\n".join(out)
