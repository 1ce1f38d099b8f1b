import pytest

from core.errors import InvalidInput
from core.ingestion.cleaning import PREPROCESS_RULES, clean


def test_rules_listed():
    assert PREPROCESS_RULES == ("remove_extra_space", "remove_url_and_email")


def test_no_rules_is_identity():
    text = "a  b\n\n\n\nc https://x.org"
    assert clean(text, []) == text


def test_remove_extra_space_keeps_paragraphs():
    text = "Title  with\t\tgaps   \n\n\n\n\nSecond  paragraph\nsame paragraph\n \n\t\nThird\u3000\u3000part"
    assert clean(text, ["remove_extra_space"]) == (
        "Title with gaps\n\nSecond paragraph\nsame paragraph\n\nThird part"
    )


def test_remove_url_and_email():
    text = (
        "Docs at https://example.com/docs?x=1. Mail bob.smith+kb@example.co.uk or "
        "visit www.example.org/page, see [the guide](https://example.com/guide). "
        "联系我们test@example.cn获取更多信息，网址 http://example.cn/a。"
    )
    out = clean(text, ["remove_url_and_email"])
    assert "http" not in out and "www." not in out and "@" not in out
    assert "Docs at ." in out  # sentence punctuation survives
    assert "see the guide." in out  # markdown link keeps its text
    assert "联系我们获取更多信息，网址 。" in out  # Chinese around an address is untouched


def test_rules_combined_in_any_order():
    text = "Visit  https://a.io  now\n\n\n\nok"
    expected = "Visit now\n\nok"
    assert clean(text, ["remove_extra_space", "remove_url_and_email"]) == expected
    assert clean(text, ["remove_url_and_email", "remove_extra_space"]) == expected


def test_unknown_rule():
    with pytest.raises(InvalidInput) as exc:
        clean("x", ["remove_extra_space", "strip_html"])
    assert "strip_html" in exc.value.message
    assert "remove_extra_space" in exc.value.message and "remove_url_and_email" in exc.value.message
