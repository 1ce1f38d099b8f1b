"""Chat models: an OpenAI-compatible client (OpenAI, Ollama, vLLM, LM Studio, ...) and a mock.

`get_llm(spec).stream(messages)` yields StreamChunk: text deltas as they arrive, then one final
chunk with finish_reason, the complete tool calls (if any) and the usage. Every failure becomes a
ProviderError whose text names the server and what to fix, and never contains the API key.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from core.errors import InvalidInput, ProviderError
from core.providers.openai_errors import provider_error, server_address

log = logging.getLogger(__name__)

PROVIDERS = ("openai", "mock")
VERIFY_TIMEOUT = 15.0
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class LLMSpec:
    provider: str  # "openai" | "mock"
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = 60.0
    max_retries: int = 2

    def __repr__(self) -> str:  # specs end up in logs and tracebacks: never show the key
        key = "***" if self.api_key else None
        return (f"LLMSpec(provider={self.provider!r}, model={self.model!r}, base_url={self.base_url!r}, "
                f"api_key={key!r}, timeout={self.timeout!r}, max_retries={self.max_retries!r})")

    __str__ = __repr__


@dataclass
class ChatParams:
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None

    def to_kwargs(self) -> dict[str, Any]:
        """Only the parameters that are set: some servers reject ones they do not know."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model produced it


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass
class StreamChunk:
    delta: str = ""
    tool_calls: list[ToolCall] | None = None
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass
class Completion:
    content: str
    tool_calls: list[ToolCall]
    usage: Usage
    finish_reason: str | None


class LLM(Protocol):
    spec: LLMSpec

    def stream(self, messages: list[dict], params: ChatParams | None = None,
               tools: list[dict] | None = None) -> Iterator[StreamChunk]: ...

    def complete(self, messages: list[dict], params: ChatParams | None = None,
                 tools: list[dict] | None = None) -> Completion: ...

    def verify(self) -> str: ...


def collect(chunks: Iterator[StreamChunk]) -> Completion:
    """Fold a stream into one Completion."""
    text, calls, usage, finish = [], [], None, None
    for c in chunks:
        text.append(c.delta)
        calls.extend(c.tool_calls or [])
        usage = c.usage or usage
        finish = c.finish_reason or finish
    return Completion("".join(text), calls, usage or Usage(), finish)


def _text_of(content: Any) -> str:
    """Message content may be a string or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


# ------------------------------------------------------------------------------- mock
_NUMBERED = re.compile(r"^\s*\[1\]", re.M)


def mock_answer(messages: list[dict]) -> str:
    """The deterministic reply of the mock model (also used by tests/mock_llm.py's server)."""
    request = _variants_request(messages)
    if request is not None:
        return mock_query_variants(request)
    last = _question(messages)
    words = last.split()
    summary = " ".join(words[:30]) + (" ..." if len(words) > 30 else "")
    # Numbered passages arrive in the system prompt (knowledge chat) or in tool results (agents).
    context = "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "tool"))
    cite = " [1]" if _NUMBERED.search(context) else ""
    # What tools said this turn (not passages: those are cited), so a tool's result reaches the answer.
    said = [_text_of(m.get("content")).strip() for m in messages[_last_user(messages):] if m.get("role") == "tool"]
    results = "".join(f" Tool result: {' '.join(t.split())[:120]}." for t in said if t and not _NUMBERED.match(t))
    return f"Mock answer about: {summary or '(nothing)'}.{cite}{results}"


# Query variants (core/query_expansion.py sends {"task": QUERY_VARIANTS_TASK, ...} as the user message): the mock
# translates a fixed glossary of phrases between English and Chinese, deterministically.
QUERY_VARIANTS_TASK = "query_variants"
MOCK_PHRASES = (
    ("knowledge base", "知识库"), ("dataset", "数据集"), ("tenant", "租户"), ("sub-account", "子账号"),
    ("document", "文档"), ("refund", "退款"), ("order", "订单"), ("payment", "支付"), ("upload", "上传"),
    ("file", "文件"), ("api key", "API 密钥"), ("access token", "访问令牌"), ("password", "密码"),
    ("rate limit", "速率限制"), ("request", "请求"), ("error code", "错误码"), ("invoice", "发票"),
    ("webhook", "回调"), ("retry", "重试"), ("signature", "签名"), ("export", "导出"), ("backup", "备份"),
    ("audit log", "审计日志"), ("role", "角色"), ("permission", "权限"), ("deleted", "删除"), ("valid", "有效期"),
    ("expire", "过期"), ("days", "天"), ("hours", "小时"), ("minutes", "分钟"), ("per day", "每天"),
    ("how long", "多久"), ("how many", "多少"),
)


def _variants_request(messages: list[dict]) -> dict | None:
    text = _question(messages).strip()
    if not text.startswith("{"):
        return None
    try:
        request = json.loads(text)
    except ValueError:
        return None
    return request if isinstance(request, dict) and request.get("task") == QUERY_VARIANTS_TASK else None


def _phrase_pattern(phrase: str) -> str:
    body = re.escape(phrase.casefold())
    return rf"(?<![a-z]){body}(?:s|es)?(?![a-z])" if phrase.isascii() else body


def mock_translate(query: str, target: str) -> str:
    """The known phrases of `query` in the target language ("en" or "zh"), in the query's order; "" if none."""
    pairs = [(en, zh) if target == "zh" else (zh, en) for en, zh in MOCK_PHRASES] if target in ("en", "zh") else []
    text, found = query.casefold(), []
    for source, translation in sorted(pairs, key=lambda p: -len(p[0])):
        for m in re.finditer(_phrase_pattern(source), text):
            found.append((m.start(), translation))
            text = text[:m.start()] + " " * (m.end() - m.start()) + text[m.end():]
    return " ".join(t for _, t in sorted(found))


def mock_query_variants(request: dict) -> str:
    """The mock's JSON reply to a query-variants request: translations and, when asked, keywords."""
    query = str(request.get("query", ""))
    languages = request.get("languages") or {}
    translations = {code: t for code in languages if (t := mock_translate(query, code))}
    reply: dict = {"translations": translations}
    if request.get("keywords"):  # the query's longer words and its known phrases in the other language
        other = mock_translate(query, "en" if re.search(r"[\u4e00-\u9fff]", query) else "zh").split()
        words = [w for w in re.findall(r"\w+", query) if len(w) > 3]
        reply["keywords"] = list(dict.fromkeys([*words, *other]))[:8]
    return json.dumps(reply, ensure_ascii=False)


_EXPRESSION = re.compile(r"[-(]*\d[\d.\s]*(?:[-+*/%^]\s*[(]*\s*\d[\d.\s]*[)]*\s*)+")


def _last_user(messages: list[dict]) -> int:
    return next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), 0)


def _question(messages: list[dict]) -> str:
    """The text of the last user message ("" when there is none)."""
    i = _last_user(messages)
    return _text_of(messages[i].get("content")) if messages and messages[i].get("role") == "user" else ""


def mock_tool_calls(messages: list[dict], tools: list[dict] | None) -> list[ToolCall]:
    """The mock model's tool policy, deterministic: for a new question it searches the knowledge bases
    (kb_search) and computes any arithmetic in it (calculator); once tools have answered, it answers."""
    names = {(t.get("function") or {}).get("name") for t in tools or []}
    if not names or any(m.get("role") == "tool" for m in messages[_last_user(messages):]):
        return []
    question = _question(messages)
    calls = []
    if "kb_search" in names and question.strip():
        calls.append(ToolCall("call_kb", "kb_search", json.dumps({"query": question})))
    expression = _EXPRESSION.search(question)
    if "calculator" in names and expression:
        calls.append(ToolCall("call_calc", "calculator", json.dumps({"expression": expression.group().strip()})))
    return calls


def _count(text: str) -> int:
    return len(text.split())


class MockLLM:
    """No network. model "error" fails like an unreachable provider (for error-path tests)."""

    def __init__(self, spec: LLMSpec):
        self.spec = spec

    def stream(self, messages: list[dict], params: ChatParams | None = None,
               tools: list[dict] | None = None) -> Iterator[StreamChunk]:
        if self.spec.model == "error":
            raise ProviderError("Mock model 'error' always fails (as an unreachable provider would).")
        prompt = sum(_count(_text_of(m.get("content"))) for m in messages)
        calls = mock_tool_calls(messages, tools)
        if calls:
            yield StreamChunk(tool_calls=calls, finish_reason="tool_calls", usage=Usage(prompt, 0, prompt))
            return
        words = re.findall(r"\S+\s*", mock_answer(messages))
        finish = "stop"
        if params and params.max_tokens is not None and len(words) > params.max_tokens:
            words, finish = words[: params.max_tokens], "length"
        for w in words:
            yield StreamChunk(delta=w)
        yield StreamChunk(finish_reason=finish, usage=Usage(prompt, len(words), prompt + len(words)))

    def complete(self, messages: list[dict], params: ChatParams | None = None,
                 tools: list[dict] | None = None) -> Completion:
        return collect(self.stream(messages, params, tools))

    def verify(self) -> str:
        self.complete([{"role": "user", "content": "ping"}], ChatParams(max_tokens=1))
        return f"Mock model '{self.spec.model}' is ready."


# ------------------------------------------------------------------------------- openai-compatible
class OpenAILLM:
    def __init__(self, spec: LLMSpec):
        import openai

        base = spec.base_url or DEFAULT_BASE_URL
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"The model base URL must be an http(s) URL, got {base!r}")
        self.spec, self._openai = spec, openai
        # Local servers (Ollama, vLLM) need no key, but the client insists on one.
        self._key = spec.api_key or "no-key"
        self._host, _ = server_address(base)
        self._client = openai.OpenAI(base_url=base, api_key=self._key,
                                     timeout=spec.timeout, max_retries=max(0, spec.max_retries))

    def _error(self, e: Exception, timeout: float, retries: int) -> ProviderError:
        return provider_error(e, base_url=self.spec.base_url or DEFAULT_BASE_URL, model=self.spec.model,
                              key=self.spec.api_key, timeout=timeout, retries=retries)

    # -- calls
    def _create(self, messages: list[dict], params: ChatParams | None, tools: list[dict] | None,
                *, stream: bool, usage: bool = True, client=None):
        kw: dict[str, Any] = (params or ChatParams()).to_kwargs()
        if tools:
            kw["tools"] = tools
        if stream and usage:
            kw["stream_options"] = {"include_usage": True}
        return (client or self._client).chat.completions.create(
            model=self.spec.model, messages=messages, stream=stream, **kw)

    def stream(self, messages: list[dict], params: ChatParams | None = None,
               tools: list[dict] | None = None) -> Iterator[StreamChunk]:
        errors = (self._openai.OpenAIError, httpx.HTTPError)
        started = False
        try:
            try:
                resp = self._create(messages, params, tools, stream=True)
            except self._openai.BadRequestError as e:
                if "stream_options" not in str(e):
                    raise
                # Older compatible servers reject stream_options: stream without usage then.
                resp = self._create(messages, params, tools, stream=True, usage=False)
            calls: dict[int, dict[str, str]] = {}
            usage, finish = None, None
            with resp:  # closes the HTTP response if the consumer stops early
                for chunk in resp:  # a mid-stream read timeout surfaces here as an httpx error
                    started = True
                    if chunk.usage:
                        u = chunk.usage
                        usage = Usage(u.prompt_tokens or 0, u.completion_tokens or 0, u.total_tokens or 0)
                    for choice in chunk.choices or []:
                        d = choice.delta
                        for tc in (d.tool_calls if d else None) or []:
                            acc = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                            acc["id"] = tc.id or acc["id"]
                            if tc.function:
                                acc["name"] += tc.function.name or ""
                                acc["arguments"] += tc.function.arguments or ""
                        if d and d.content:
                            yield StreamChunk(delta=d.content)
                        finish = choice.finish_reason or finish
        except errors as e:
            if started and isinstance(e, (self._openai.APIConnectionError, httpx.TransportError)) and \
                    not isinstance(e, (self._openai.APITimeoutError, httpx.TimeoutException)):
                cause = type(e.__cause__ or e).__name__
                raise ProviderError(f"{self._host} stopped sending the answer midway ({cause}); the text so far is "
                                    "kept: continue the answer or try again.") from None
            raise self._error(e, self.spec.timeout, self.spec.max_retries) from None  # chain may quote the key
        tool_calls = [ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"])
                      for i, c in sorted(calls.items())]
        if tool_calls:
            finish = "tool_calls"  # some servers say "stop" even when they called tools
        yield StreamChunk(tool_calls=tool_calls or None, usage=usage, finish_reason=finish)

    def complete(self, messages: list[dict], params: ChatParams | None = None,
                 tools: list[dict] | None = None) -> Completion:
        try:
            resp = self._create(messages, params, tools, stream=False)
        except (self._openai.OpenAIError, httpx.HTTPError) as e:
            raise self._error(e, self.spec.timeout, self.spec.max_retries) from None
        if not resp.choices:
            raise ProviderError(f"{self._host} returned no choices for model '{self.spec.model}'.")
        choice, u = resp.choices[0], resp.usage
        msg = choice.message
        calls = [ToolCall(tc.id, tc.function.name, tc.function.arguments or "")
                 for tc in (msg.tool_calls or []) if getattr(tc, "function", None)]
        usage = Usage(u.prompt_tokens or 0, u.completion_tokens or 0, u.total_tokens or 0) if u else Usage()
        return Completion(msg.content or "", calls, usage, choice.finish_reason)

    def verify(self) -> str:
        """One real, tiny call: proves the URL, key and model name together."""
        timeout = min(self.spec.timeout, VERIFY_TIMEOUT)
        retries = min(self.spec.max_retries, 1)
        client = self._client.with_options(timeout=timeout, max_retries=retries)
        start = time.monotonic()
        try:
            self._create([{"role": "user", "content": "ping"}], ChatParams(max_tokens=1), None,
                         stream=False, client=client)
        except (self._openai.OpenAIError, httpx.HTTPError) as e:
            err = self._error(e, timeout, retries)
            log.info("LLM verify failed: %s", err.message)
            raise err from None
        ms = (time.monotonic() - start) * 1000
        return f"Model '{self.spec.model}' at {self._host} answered in {ms:.0f} ms."


_FACTORIES = {"openai": OpenAILLM, "mock": MockLLM}


def get_llm(spec: LLMSpec) -> LLM:
    factory = _FACTORIES.get(spec.provider)
    if factory is None:
        raise InvalidInput(f"Unknown LLM provider '{spec.provider}' (known: {', '.join(PROVIDERS)})")
    if not spec.model:
        raise InvalidInput("The LLM needs a model name.")
    return factory(spec)
