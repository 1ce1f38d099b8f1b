"""The UI catalog: both languages for every label, and picking a language from what a browser sends."""

from __future__ import annotations

import string

from core.i18n import catalog, pick_language, translate


def test_every_label_exists_in_both_languages_with_the_same_placeholders():
    en, zh = catalog()["en"], catalog()["zh"]
    plural = {k for k in en if k.endswith(".one")}  # "1 chunk": English needs it, Chinese does not
    assert set(en) - plural == set(zh) - {k for k in zh if k.endswith(".one")}
    fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    assert [k for k in zh if fields(zh[k]) != fields(en[k])] == []


def test_pick_language_from_browser_preferences():
    assert pick_language("zh-CN") == "zh" and pick_language("zh_TW") == "zh"
    assert pick_language("fr-FR,zh;q=0.8,en;q=0.5") == "zh"  # the first one we have
    assert pick_language(None, "", "en-GB") == "en" and pick_language("de") == "en"
    assert pick_language("", "zh") == "zh"  # e.g. no ?lang=, then the cookie


def test_translate_falls_back_to_english_and_picks_the_singular():
    assert translate("zh", "docs.upload_button", n=3) == "上传 3 个文件"
    assert translate("en", "docs.upload_button", n=1) == "Upload 1 file"
    assert translate("xx", "docs.upload") == "Upload" and translate("en", "no.such.key") == "no.such.key"
