"""Cross-language search in the UI: the choice for one search, the variants searched and which found a hit."""

from __future__ import annotations

import streamlit as st

from core.languages import LANGUAGES
from core.query_expansion import ALL_LANGUAGES, NO_EXPANSION, ExpandedSearch, Expansion, QueryVariant
from core.schemas import KnowledgeBaseInfo
from pages.components.chunk_card import badge
from pages.components.i18n import t

LANGUAGE_CHOICES = ["auto", *LANGUAGES]
CHOICES = ("kb", "all", "off")  # the knowledge base's settings, every language it has, the question as asked
KIND_ICONS = {"question": "🗣️", "translation": "🌐", "keywords": "🔑", "glossary": "📖"}


def expansion_for(choice: str) -> Expansion | None:
    return {"kb": None, "all": ALL_LANGUAGES, "off": NO_EXPANSION}.get(choice)


def language_label(code: str) -> str:
    return t("xlang.auto") if code == "auto" else t(f"xlang.lang.{code}") if code in LANGUAGES else code


def kb_setting(kb: KnowledgeBaseInfo, glossary_pairs: int) -> str:
    """The knowledge base's cross-language settings in one line."""
    cfg = kb.retrieval_config
    langs = ", ".join(language_label(c) for c in cfg.query_languages) or t("xlang.none")
    parts = [t("xlang.setting_languages", languages=langs), t("xlang.setting_glossary", n=glossary_pairs)]
    if cfg.model_keywords:
        parts.append(t("xlang.setting_keywords"))
    return " · ".join(parts)


def variant_label(v: QueryVariant) -> str:
    lang = f" ({language_label(v.language)})" if v.language else ""
    return f"{KIND_ICONS.get(v.kind, '')} {t('xlang.kind.' + v.kind)}{lang}"


def variants_box(found: ExpandedSearch) -> None:
    """The variants searched (when there was more than the question), and why the model added none."""
    if len(found.variants) > 1:
        with st.container(border=True):
            st.markdown(f"**{t('xlang.searched', n=len(found.variants))}**")
            for i, v in enumerate(found.variants, 1):
                extra = f"  ·  {t('xlang.keyword_side')}: `{v.keywords}`" if v.keywords else ""
                st.markdown(f"{i}. {variant_label(v)}: “{v.text}”{extra}")
    if found.note:
        st.caption(f"ℹ️ {t('xlang.note.' + found.note, detail=found.detail or '—')}")


def found_by_badge(found: ExpandedSearch | None, chunk_id: str) -> str:
    """A badge naming the variant that gave a hit its score, when that was not the question as asked."""
    if found is None or len(found.variants) < 2:
        return ""
    v = found.variants[found.found_by.get(chunk_id, 0)]
    return badge(t("xlang.found_by", variant=variant_label(v)))
