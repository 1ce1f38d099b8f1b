"""The agent loop: the model calls tools until it can answer, then answers with citations.

Native function calling over the OpenAI-compatible protocol; models without it get a ReAct
text protocol (Thought / Action / Action Input / Observation / Final Answer). Each tool call and
result is streamed as an event and kept in the answer's trace. Knowledge passages returned by
tools are numbered across the whole answer, so "[n]" in the text always points at one chunk.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from core.errors import AlmanacError, ProviderError
from core.prompting import format_passage, truncate_tokens
from core.providers.llm import LLM, StreamChunk, ToolCall
from core.tools.base import BoundTool, ToolContext, ToolRef, ToolResult

log = logging.getLogger(__name__)

KB_TOOL = ToolRef(type="builtin", provider="knowledge", tool="kb_search")
KB_MAX_PASSAGES = 20  # the kb_search tool's top_n limit
TOOL_OUTPUT_TOKENS = 3000  # what one tool result may add to the prompt
TRACE_CHARS = 4000  # what the trace keeps of one tool result
LAST_STEP = "You have used all your tool calls. Answer the question now with what you have found."
CITE = ("Passages from the knowledge bases are numbered like [1]; when you use one, cite its number in "
        "square brackets right after the sentence it supports.")
REACT = """You can use these tools:
{tools}

To use a tool, reply with exactly:
Thought: what you need and why
Action: the tool name
Action Input: the arguments as one JSON object

You will get the result as "Observation: ...". When you can answer, reply with:
Thought: I can answer now
Final Answer: your answer to the user"""
_ACTION = re.compile(r"Action:\s*(?P<name>[^\n]+)\s*\nAction Input:\s*(?P<args>.*)", re.S)
_FINAL = re.compile(r"Final Answer:\s*(?P<answer>.*)", re.S)

Emit = Callable[[str], Iterator[Any]]  # sends a piece of the answer text to the user


class AgentRun:
    """One answer of an agent. ChatService owns the job/output bookkeeping; this owns the loop."""

    def __init__(self, job: Any, out: Any, llm: LLM, tools: list[BoundTool], emit: Emit, event: Callable):
        self.job, self.out, self.llm, self.emit, self.event = job, out, llm, emit, event
        self.tools = {t.name: t for t in tools}
        s = job.settings
        self.params = s.llm.chat_params()
        self.max_steps = s.strategy.max_steps
        self.mode = s.strategy.tool_mode

    # ------------------------------------------------------------------ prompt
    def system_prompt(self, summary: str) -> str:
        p = self.job.settings.prompt
        system = p.system.replace("{knowledge}", "(search the knowledge bases with the kb_search tool)")
        parts = [system, f"Current date and time (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}."]
        if any(t.provider == "knowledge" for t in self.tools.values()):
            parts.append(CITE)
        if summary.strip():
            parts.append(f"What you remember from earlier in this conversation:\n{summary.strip()}")
        return "\n\n".join(parts)

    def messages(self, summary: str) -> list[dict]:
        msgs = [{"role": "system", "content": self.system_prompt(summary)}, *self.job.history,
                {"role": "user", "content": self.job.prompt_question}]
        if self.job.resume:
            msgs += [{"role": "assistant", "content": self.job.resume},
                     {"role": "user", "content": "Continue your answer exactly where it stopped."}]
        return msgs

    # ------------------------------------------------------------------ loop
    def run(self, summary: str) -> Iterator[Any]:
        messages = self.messages(summary)
        if self.mode == "react" and self.tools:
            yield from self._react(messages)
            return
        try:
            yield from self._native(messages)
        except ProviderError as exc:
            # Servers without function calling reject `tools`; nothing was said yet, so switch protocols.
            if self.mode != "auto" or not self.tools or self.out.content or "tool" not in exc.message.lower():
                raise
            log.info("Model %s refused native tool calls; using ReAct: %s", self.llm.spec.model, exc.message)
            yield from self._react(messages)

    def _native(self, messages: list[dict]) -> Iterator[Any]:
        specs = [t.openai_spec() for t in self.tools.values()] or None
        for step in range(self.max_steps + 1):
            last = step == self.max_steps
            if last:
                messages = [*messages, {"role": "user", "content": LAST_STEP}]
            text, calls = yield from self._stream(messages, None if last else specs)
            if not calls:
                return
            messages.append({"role": "assistant", "content": text or None,
                             "tool_calls": [{"id": c.id, "type": "function",
                                             "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                                            for c in calls]})
            for call in calls:
                content = yield from self._call(call, step)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})

    def _stream(self, messages: list[dict], specs: list[dict] | None) -> Iterator[Any]:
        """One model turn: text is streamed to the user as it comes; returns (text, tool calls)."""
        text, calls, gap = "", [], "\n\n" if self.out.content.strip() else ""
        stream = self.llm.stream(messages, self.params, specs)
        try:
            for chunk in stream:
                if chunk.delta:
                    piece = (gap + chunk.delta) if not text else chunk.delta
                    text += chunk.delta
                    yield from self.emit(piece)
                self._count(chunk)
                calls = chunk.tool_calls or calls
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        return text, calls

    def _react(self, messages: list[dict]) -> Iterator[Any]:
        catalogue = "\n".join(f"- {t.name}: {t.description} Arguments (JSON schema): "
                              f"{json.dumps(t.parameters, ensure_ascii=False)}" for t in self.tools.values())
        messages = [{**messages[0], "content": messages[0]["content"] + "\n\n" + REACT.format(tools=catalogue)},
                    *messages[1:]]
        for step in range(self.max_steps + 1):
            if step == self.max_steps:
                messages = [*messages, {"role": "user", "content": LAST_STEP + ' Reply with "Final Answer:".'}]
            text = ""
            for chunk in self.llm.stream(messages, self.params):
                text += chunk.delta
                self._count(chunk)
            action = _ACTION.search(text)
            if action is None or step == self.max_steps:
                final = _FINAL.search(text)
                answer = (final.group("answer") if final else re.sub(r"(?m)^Thought:.*$", "", text)).strip()
                yield from self.emit(("\n\n" if self.out.content.strip() else "") + answer)
                return
            call = ToolCall(f"react_{step}", action.group("name").strip().strip("`"),
                            _first_json(action.group("args")))
            content = yield from self._call(call, step)
            messages += [{"role": "assistant", "content": text[: action.end()].strip()},
                         {"role": "user", "content": f"Observation: {content}"}]

    # ------------------------------------------------------------------ tools
    def _call(self, call: ToolCall, step: int) -> Iterator[Any]:
        """Run one tool call (errors become results the model reads); returns what the model sees."""
        args, result = self._parse_args(call)
        yield self.event("tool_call", {"id": call.id, "name": call.name, "arguments": args if args is not None
                                       else call.arguments, "step": step})
        self.out.trace.append({"type": "tool_call", "id": call.id, "name": call.name,
                               "arguments": args if args is not None else call.arguments, "step": step})
        started = time.perf_counter()
        if result is None:
            tool = self.tools.get(call.name)
            if tool is None:
                result = ToolResult(is_error=True, content=f"There is no tool named '{call.name}'. "
                                    f"Available tools: {', '.join(self.tools) or 'none'}.")
            else:
                result = _safe_run(tool, args)
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        new_refs = self._number(result.references)
        content = "\n\n".join([format_passage(r) for r in new_refs] + [result.content.strip()]).strip()
        content = truncate_tokens(content or "(no output)", TOOL_OUTPUT_TOKENS)
        if result.is_error:
            content = f"Error: {content}"
        data = {"id": call.id, "name": call.name, "content": content, "is_error": result.is_error,
                "references": new_refs, "elapsed_ms": elapsed, "step": step}
        yield self.event("tool_result", data)
        self.out.trace.append({**data, "type": "tool_result", "content": content[:TRACE_CHARS],
                               "references": [r["index"] for r in new_refs]})
        if new_refs:
            yield self.event("references", {"references": self.out.references, "mode": self.out.mode})
        return content

    def _parse_args(self, call: ToolCall) -> tuple[dict | None, ToolResult | None]:
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            return None, ToolResult(is_error=True, content=f"The arguments are not valid JSON ({exc.msg}); "
                                    "send one JSON object.")
        if not isinstance(args, dict):
            return None, ToolResult(is_error=True, content="The arguments must be one JSON object.")
        return args, None

    def _number(self, refs: list[dict]) -> list[dict]:
        """Give new passages the next citation numbers; a chunk seen before keeps its number."""
        known = {r["chunk_id"]: r for r in self.out.references}
        numbered = []
        for ref in refs:
            if ref.get("chunk_id") in known:
                numbered.append(known[ref["chunk_id"]])
                continue
            ref = {**ref, "index": len(self.out.references) + 1}
            self.out.references.append(ref)
            known[ref["chunk_id"]] = ref
            numbered.append(ref)
        return numbered

    def _count(self, chunk: StreamChunk) -> None:
        if chunk.usage:
            self.out.prompt_tokens += chunk.usage.prompt_tokens
            self.out.completion_tokens += chunk.usage.completion_tokens


def _safe_run(tool: BoundTool, args: dict) -> ToolResult:
    try:
        return tool.run(args)
    except AlmanacError as exc:
        return ToolResult(is_error=True, content=exc.message)
    except Exception as exc:  # noqa: BLE001 - a broken tool must not end the answer; the model is told
        log.exception("Tool %s failed", tool.name)
        return ToolResult(is_error=True, content=f"The tool failed unexpectedly ({type(exc).__name__}).")


def _first_json(text: str) -> str:
    """The first JSON object in a ReAct action input (models add prose or code fences around it)."""
    start = text.find("{")
    if start < 0:
        return json.dumps({"input": text.strip().splitlines()[0] if text.strip() else ""})
    depth = 0
    for i, ch in enumerate(text[start:], start):
        depth += (ch == "{") - (ch == "}")
        if depth == 0:
            return text[start: i + 1]
    return text[start:]


def tool_refs(settings: Any, kb_ids: list[str]) -> list[ToolRef]:
    """The agent's tools, with knowledge-base search added when it has knowledge bases (searching as the
    agent's retrieval settings say, unless the agent has set up that tool itself)."""
    refs = [ToolRef.model_validate(t) for t in settings.tools]
    if kb_ids and not any(r.provider == KB_TOOL.provider and r.tool == KB_TOOL.tool for r in refs):
        p = settings.prompt
        refs.insert(0, KB_TOOL.model_copy(update={"params": {
            "top_n": min(p.top_n, KB_MAX_PASSAGES), "similarity_threshold": p.similarity_threshold,
            "mode": p.search_mode}}))
    return refs


def tool_context(job: Any) -> ToolContext:
    return ToolContext(tenant_id=job.tenant_id, kb_ids=list(job.kb_ids),
                       timeout=job.settings.strategy.tool_timeout)
