from core.ingestion.keywords import extract_keywords


def test_english_tfidf_prefers_distinctive_words():
    texts = [
        "Almanac invoices: invoices are generated monthly. Each invoice lists usage.",
        "Almanac retrieval: hybrid retrieval fuses vectors and BM25 scores.",
        "Almanac security: tokens rotate; security audits run weekly.",
    ]
    result = extract_keywords(texts, top_k=3)
    assert len(result) == 3
    assert result[0][0] == "invoices" and result[1][0] == "retrieval" and result[2][0] == "security"
    for kws in result:
        assert "almanac" not in kws  # in every chunk -> low IDF
        assert len(kws) == 3


def test_english_filters_stopwords_short_words_and_numbers():
    (kws,) = extract_keywords(["The 2024 report is on it and at 99 of us: revenue grew, revenue!"], top_k=10)
    assert kws[0] == "revenue"
    assert not {"the", "and", "2024", "99", "us", "it", "on"} & set(kws)
    assert all(len(k) >= 3 for k in kws)


def test_chinese_keywords():
    texts = [
        "人工智能是计算机科学的一个分支，人工智能研究智能的实质，并生产出新的智能机器。",
        "知识库平台支持向量检索和全文检索，检索结果会按相关度排序。",
    ]
    first, second = extract_keywords(texts, top_k=4)
    assert "人工智能" in first and "检索" in second
    for kws in (first, second):
        assert len(kws) <= 4
        assert not {"的", "是", "和", "一个"} & set(kws)


def test_mixed_text_merges_both_languages():
    (kws,) = extract_keywords(["我们使用 Python 和 PostgreSQL 构建知识库系统，知识库支持向量检索。"], top_k=6)
    assert "知识库" in kws and "python" in kws and "postgresql" in kws


def test_deterministic_and_edge_cases():
    texts = ["Hybrid search ranks chunks.", "混合检索对文本块排序。", "", "!!! 123"]
    assert extract_keywords(texts) == extract_keywords(list(texts))
    assert extract_keywords(texts)[2:] == [[], []]
    assert extract_keywords([]) == []
    assert extract_keywords(["word"], top_k=0) == [[]]


def test_generic_words_are_not_keywords_in_either_language():
    en = extract_keywords(["Customers may return any product within thirty days of purchase. Refunds take time: "
                           "five business days per refund, every time."], top_k=8)[0]
    assert {"refund", "product", "purchase"} <= set(en) | {"refunds"}
    assert not {"days", "day", "within", "time", "per", "every", "five", "thirty", "may"} & set(en)
    zh = extract_keywords(["员工入职满一年后每年享有十五天带薪年假，需要提前两周申请，食堂十一点半开放，至少工作两小时。"],
                          top_k=8)[0]
    assert "带薪" in zh or "年假" in zh
    assert not {"十五天", "两周", "需要", "提前", "每年", "十一点半", "至少", "两小时"} & set(zh)
