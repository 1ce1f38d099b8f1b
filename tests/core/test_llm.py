"""Chat model providers: the real `openai` client against tests/mock_llm.py's HTTP server, and the mock."""

from __future__ import annotations

import json
import logging
import socket
import time
import traceback

import pytest

from core.errors import InvalidInput, ProviderError
from core.providers.llm import (
    ChatParams,
    Completion,
    LLMSpec,
    StreamChunk,
    ToolCall,
    Usage,
    collect,
    get_llm,
)
from core.providers.embeddings import EmbedderSpec, get_embedder
from core.providers.rerank import get_reranker
from tests.mock_llm import MockOpenAIServer, Reply

KEY = "sk-test-SECRET-0123456789abcdef"
USER = [{"role": "user", "content": "What is the capital of France?"}]
TOOLS = [{"type": "function", "function": {"name": "search", "description": "Search the knowledge base",
                                           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]


def llm_for(server: MockOpenAIServer, **kw):
    spec = {"provider": "openai", "model": "gpt-test", "base_url": server.base_url, "api_key": KEY,
            "timeout": 5.0, "max_retries": 0, **kw}
    return get_llm(LLMSpec(**spec))


@pytest.fixture
def keyed():
    with MockOpenAIServer(api_key=KEY, models=["gpt-test"]) as server:
        yield server


def _error(fn) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        fn()
    err = info.value
    shown = str(err) + err.message + "".join(traceback.format_exception(err))
    assert KEY not in shown and "SECRET" not in shown  # nor in the printed traceback (chain suppressed)
    return err


# ------------------------------------------------------------------------------- happy paths
def test_stream_yields_deltas_then_a_final_chunk_with_usage(keyed):
    chunks = list(llm_for(keyed).stream(USER, ChatParams(temperature=0.1, max_tokens=50)))
    assert all(isinstance(c, StreamChunk) for c in chunks)
    deltas = [c.delta for c in chunks[:-1]]
    assert len(deltas) > 3 and all(deltas)  # several incremental pieces, not one blob
    assert "".join(deltas) == "Mock answer about: What is the capital of France?."
    final = chunks[-1]
    assert final.delta == "" and final.finish_reason == "stop" and final.tool_calls is None
    assert final.usage == Usage(prompt_tokens=6, completion_tokens=len(deltas), total_tokens=6 + len(deltas))
    req = keyed.chat_requests[0]
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "gpt-test" and body["messages"] == USER
    assert body["temperature"] == 0.1 and body["max_tokens"] == 50
    assert "top_p" not in body and "presence_penalty" not in body and "tools" not in body  # unset: not sent


def test_stream_scripted_text_and_length_finish(keyed):
    keyed.script([Reply(text="one two three four five")])
    done = collect(llm_for(keyed).stream(USER, ChatParams(max_tokens=2)))
    assert done.content == "one two " and done.finish_reason == "length"
    assert done.usage.completion_tokens == 2


def test_complete_non_streaming(keyed):
    keyed.script([Reply(text="Paris.", usage={"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13})])
    out = llm_for(keyed).complete(USER, ChatParams(top_p=0.3, presence_penalty=0.4, frequency_penalty=0.7))
    assert out == Completion(content="Paris.", tool_calls=[], usage=Usage(11, 2, 13), finish_reason="stop")
    body = keyed.chat_requests[0]["body"]
    assert body["stream"] is False and "stream_options" not in body
    assert (body["top_p"], body["presence_penalty"], body["frequency_penalty"]) == (0.3, 0.4, 0.7)


def test_tool_calls_streamed_are_accumulated_into_one_chunk(keyed):
    keyed.script([Reply(text="", tool_calls=[
        {"id": "call_a", "name": "search", "arguments": {"q": "capital of France", "top": 3}},
        {"id": "call_b", "name": "lookup", "arguments": '{"id": "42"}'}])])
    chunks = list(llm_for(keyed).stream(USER, tools=TOOLS))
    with_calls = [c for c in chunks if c.tool_calls]
    assert len(with_calls) == 1 and with_calls[0] is chunks[-1]
    final = chunks[-1]
    assert final.finish_reason == "tool_calls" and final.usage is not None
    assert final.tool_calls == [
        ToolCall("call_a", "search", json.dumps({"q": "capital of France", "top": 3})),
        ToolCall("call_b", "lookup", '{"id": "42"}')]
    assert json.loads(final.tool_calls[0].arguments)["q"] == "capital of France"  # pieces joined in order
    assert keyed.chat_requests[0]["body"]["tools"] == TOOLS


def test_tool_calls_non_streamed(keyed):
    keyed.script([Reply(text="", tool_calls=[{"id": "call_x", "name": "search", "arguments": {"q": "x"}}])])
    out = llm_for(keyed).complete(USER, tools=TOOLS)
    assert out.finish_reason == "tool_calls" and out.content == ""
    assert out.tool_calls == [ToolCall("call_x", "search", '{"q": "x"}')]


def test_verify_makes_one_tiny_real_call(keyed):
    verdict = llm_for(keyed).verify()
    assert "gpt-test" in verdict and "127.0.0.1" in verdict and len(verdict) < 120
    [req] = keyed.chat_requests
    assert req["body"]["max_tokens"] == 1 and req["body"]["stream"] is False


def test_stream_without_stream_options_support_falls_back(mock_llm):
    mock_llm.script([Reply(status=400, error_message="Unrecognized request argument supplied: stream_options")])
    done = collect(llm_for(mock_llm).stream(USER))
    assert done.content.startswith("Mock answer") and done.usage == Usage()  # no usage, but an answer
    first, second = mock_llm.chat_requests
    assert "stream_options" in first["body"] and "stream_options" not in second["body"]


def test_consumer_stopping_early_is_fine(mock_llm):
    mock_llm.script([Reply(text="a b c d e f g h", delay_chunk=0.01)])
    stream = llm_for(mock_llm).stream(USER)
    assert next(stream).delta == "a "
    stream.close()  # a disconnecting client: the HTTP response is closed, nothing raised
    assert llm_for(mock_llm).complete(USER).content  # the server still serves the next request


# ------------------------------------------------------------------------------- errors
def test_rejected_key_is_a_clear_error_without_the_key(keyed, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "sk-wrong-SECRET-99999999"
    llm = get_llm(LLMSpec("openai", "gpt-test", base_url=keyed.base_url, api_key=bad, max_retries=0))
    for call in (lambda: list(llm.stream(USER)), lambda: llm.complete(USER), llm.verify):
        err = _error(call)
        assert err.message.startswith(f"The API key was rejected by 127.0.0.1:{keyed.port}")
        assert bad not in str(err) and "SECRET" not in str(err)
    assert bad not in caplog.text and "SECRET" not in caplog.text
    assert bad not in repr(llm.spec) and bad not in str(llm.spec)


def test_unknown_model_is_named(keyed):
    llm = llm_for(keyed, model="gpt-nope")
    err = _error(lambda: list(llm.stream(USER)))
    assert err.message.startswith(f"Model 'gpt-nope' not found at 127.0.0.1:{keyed.port}")
    assert "Model 'gpt-nope' not found" in _error(llm.verify).message


def test_rate_limit_is_retried_then_reported(keyed):
    keyed.script([Reply(status=429, error_message="Rate limit reached"), Reply(status=429)])
    llm = llm_for(keyed, max_retries=1)
    err = _error(lambda: list(llm.stream(USER)))
    assert err.message.startswith(f"Rate limited by 127.0.0.1:{keyed.port} (retried 1 times)")
    assert len(keyed.chat_requests) == 2  # the first try and one retry


def test_rate_limit_and_server_error_recover_on_retry(keyed):
    keyed.script([Reply(status=429), Reply(status=503, error_message="overloaded"), Reply(text="ok now")])
    assert llm_for(keyed, max_retries=2).complete(USER).content == "ok now"
    assert len(keyed.chat_requests) == 3


def test_server_error_without_retries(keyed):
    keyed.script([Reply(status=500, error_message="boom")])
    err = _error(lambda: llm_for(keyed).complete(USER))
    assert "HTTP 500" in err.message and "boom" in err.message and "gpt-test" in err.message


def test_timeout_before_the_first_byte(keyed):
    keyed.script([Reply(delay_first=3.0), Reply(delay_first=3.0)])
    llm = llm_for(keyed, timeout=0.3)
    start = time.monotonic()
    err = _error(lambda: list(llm.stream(USER)))
    assert err.message == f"127.0.0.1:{keyed.port} did not answer within 0.3 s."
    assert time.monotonic() - start < 2.0  # gave up at the timeout, not when the server answered
    assert "did not answer within 0.3 s" in _error(lambda: llm.complete(USER)).message


def test_timeout_in_the_middle_of_a_stream(keyed):
    keyed.script([Reply(text="slow words here", delay_chunk=2.0)])
    got: list[str] = []

    def consume():
        for c in llm_for(keyed, timeout=0.3).stream(USER):
            got.append(c.delta)

    err = _error(consume)
    assert "did not answer within 0.3 s" in err.message


def test_connection_refused():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    llm = get_llm(LLMSpec("openai", "m", base_url=url, api_key=KEY, timeout=2, max_retries=0))
    for call in (lambda: list(llm.stream(USER)), lambda: llm.complete(USER), llm.verify):
        assert _error(call).message.startswith(f"Cannot connect to {url}")


def test_base_url_credentials_are_not_repeated(mock_llm):
    url = mock_llm.base_url.replace("http://", "http://user:SECRET@")
    mock_llm.script([Reply(status=404, error_message="no such model")])
    err = _error(lambda: get_llm(LLMSpec("openai", "gpt-nope", base_url=url, max_retries=0)).complete(USER))
    assert err.message.startswith(f"Model 'gpt-nope' not found at 127.0.0.1:{mock_llm.port}")
    mock_llm.stop()  # now nothing listens: the "Cannot connect" message shows the URL without user:pass
    err = _error(lambda: get_llm(LLMSpec("openai", "m", base_url=url, max_retries=0, timeout=2)).complete(USER))
    assert err.message.startswith(f"Cannot connect to {mock_llm.base_url}")


def test_bad_specs_are_invalid_input():
    with pytest.raises(InvalidInput, match="Unknown LLM provider 'foo'"):
        get_llm(LLMSpec("foo", "m"))
    with pytest.raises(InvalidInput, match="model name"):
        get_llm(LLMSpec("mock", ""))
    with pytest.raises(InvalidInput, match="http"):
        get_llm(LLMSpec("openai", "m", base_url="ftp://example.com"))


# ------------------------------------------------------------------------------- mock provider
def test_mock_provider_is_deterministic_and_cites_numbered_knowledge():
    llm = get_llm(LLMSpec("mock", "any"))
    system = {"role": "system", "content": "Answer from the knowledge below.\n[1] Paris is the capital.\n[2] ..."}
    cited = llm.complete([system, *USER])
    assert cited.content == "Mock answer about: What is the capital of France?. [1]"
    assert cited.finish_reason == "stop" and cited.usage.total_tokens == cited.usage.prompt_tokens + \
        cited.usage.completion_tokens > 0
    plain = llm.complete(USER)
    assert "[1]" not in plain.content and plain.content == llm.complete(USER).content
    chunks = list(llm.stream([system, *USER]))
    assert "".join(c.delta for c in chunks) == cited.content and chunks[-1].usage == cited.usage
    assert collect(iter(chunks)) == cited
    assert llm.complete(USER, ChatParams(max_tokens=2)).finish_reason == "length"
    assert "ready" in llm.verify()


def test_mock_provider_error_model():
    llm = get_llm(LLMSpec("mock", "error"))
    with pytest.raises(ProviderError):
        list(llm.stream(USER))
    with pytest.raises(ProviderError):
        llm.verify()


# ------------------------------------------------------------------------------- the mock server itself
def test_mock_server_other_endpoints_work_with_the_real_clients(keyed):
    emb = get_embedder(EmbedderSpec("openai", "emb-test", base_url=keyed.base_url, api_key=KEY, dim=32))
    vecs = emb.embed_passages(["capital of France", "capital of France", "bananas are yellow"])
    assert vecs.shape == (3, 32) and float(vecs[0] @ vecs[1]) > 0.99 > float(vecs[0] @ vecs[2])
    rr = get_reranker("openai:rr-test", base_url=keyed.base_url, api_key=KEY)
    scores = rr.rerank("capital France", ["Paris is the capital of France", "bananas"])
    assert scores[0] > scores[1]
    import openai

    client = openai.OpenAI(base_url=keyed.base_url, api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list().data] == ["gpt-test"]
