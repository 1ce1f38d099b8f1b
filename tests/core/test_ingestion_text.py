import time

from core.text import count_tokens, get_tokenizer, has_cjk, search_tokens


def test_count_tokens_matches_cl100k():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2  # cl100k_base: "hello", " world"
    assert count_tokens(" ".join(["hello world"] * 100)) == 200
    # special-token text is counted as plain text, never raises
    assert count_tokens("<|endoftext|>") > 1
    assert get_tokenizer()("hello world") == [15339, 1917]


def test_count_tokens_chinese():
    n = count_tokens("人工智能是计算机科学的一个分支")
    assert 10 <= n <= 30


def test_has_cjk():
    assert has_cjk("hello 世界")
    assert not has_cjk("hello world, café 123")
    assert not has_cjk("")


def test_search_tokens_english():
    tokens = search_tokens("The Quick brown fox jumps over the lazy dog, twice! Version 3.14")
    assert tokens == ["quick", "brown", "fox", "jumps", "lazy", "dog", "twice", "version", "3.14"]


def test_search_tokens_chinese_segments_and_drops_stopwords():
    tokens = search_tokens("我们在北京大学学习人工智能的知识。")
    assert "北京大学" in tokens and "大学" in tokens  # search mode also emits sub-words
    assert "人工智能" in tokens and "知识" in tokens
    for stop in ("的", "在", "我们", "。"):
        assert stop not in tokens


def test_search_tokens_mixed_fullwidth_and_numbers():
    tokens = search_tokens("Ｐｙｔｈｏｎ３ 支持 ２０２４ 年的 API，价格 99 元")
    assert "python3" in tokens and "2024" in tokens and "99" in tokens and "api" in tokens
    assert "，" not in tokens and " " not in tokens


def test_search_tokens_deterministic_and_fast():
    text = "知识库平台支持混合检索 hybrid retrieval with BM25. " * 500
    search_tokens("预热")
    start = time.perf_counter()
    first = search_tokens(text)
    assert time.perf_counter() - start < 2.0
    assert first == search_tokens(text)
    assert "bm25" in first and "检索" in first


def test_markdown_as_safe_html_and_as_plain_text():
    from core.prompting import excerpt
    from core.text import markdown_html, markdown_plain

    text = "# Refund policy\n\n**Gift cards** <b>cannot</b> be [refunded](javascript:alert(1)).\n\n- one\n- two"
    rendered = markdown_html(text)
    assert "<h1>Refund policy</h1>" in rendered and "<strong>Gift cards</strong>" in rendered
    assert "&lt;b&gt;" in rendered and "href" not in rendered  # a javascript: link stays text
    assert markdown_plain("## Window\n\nReturn **within** 30 days.") == "Window\n\nReturn within 30 days."
    assert excerpt(text) == "Refund policy. Gift cards <b>cannot</b> be [refunded](javascript:alert(1)). one two"
