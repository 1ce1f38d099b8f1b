"""Processing rules for an upload: the knowledge base's defaults, or custom chunking settings."""

from __future__ import annotations

import streamlit as st

from core.ingestion.cleaning import PREPROCESS_RULES
from core.ingestion.splitting import MAX_CHUNK, MIN_CHUNK, SPLIT_METHODS
from core.schemas import ChunkConfig
from pages.components.i18n import t


def describe(cfg: ChunkConfig) -> str:
    """One line such as "General · 512 tokens · overlap 64"."""
    text = t("docs.rules.summary", method=t(f"docs.method.{cfg.method}"), size=cfg.chunk_size,
             overlap=cfg.chunk_overlap)
    if cfg.preprocess:
        text += " · " + ", ".join(t(f"docs.pre.{r}") for r in cfg.preprocess)
    return text


def parse_separators(text: str) -> list[str]:
    """One regular expression per line; blank lines are ignored."""
    return [line for line in (text or "").splitlines() if line.strip()]


def processing_rules(defaults: ChunkConfig, key: str = "docs_rules") -> dict | None:
    """Render the rules; None means "automatic" (use the knowledge base's defaults), else a chunk_config."""
    mode = st.radio(t("docs.rules.title"), ["auto", "custom"], horizontal=True, key=f"{key}_mode",
                    format_func=lambda m: t(f"docs.rules.{m}"))
    if mode == "auto":
        st.caption(f"⚙️ {t('docs.rules.auto_help')} {describe(defaults)}")
        return None
    left, mid, right = st.columns([2, 1, 1])
    method = left.selectbox(t("docs.rules.method"), SPLIT_METHODS, index=SPLIT_METHODS.index(defaults.method),
                            format_func=lambda m: t(f"docs.method.{m}"), key=f"{key}_method",
                            help=t("docs.rules.method_help"))
    size = mid.number_input(t("docs.rules.chunk_size"), MIN_CHUNK, MAX_CHUNK, defaults.chunk_size, step=64,
                            key=f"{key}_size", help=t("docs.rules.chunk_size_help"))
    overlap = right.number_input(t("docs.rules.overlap"), 0, MAX_CHUNK - 1, min(defaults.chunk_overlap, size - 1),
                                 step=16, key=f"{key}_overlap", help=t("docs.rules.overlap_help"))
    left, right = st.columns([2, 2])
    separators = left.text_area(t("docs.rules.separators"), "\n".join(defaults.separators), height=96,
                                key=f"{key}_seps", placeholder="\\n\\n\n第.+条", help=t("docs.rules.separators_help"))
    preprocess = right.multiselect(t("docs.rules.preprocess"), PREPROCESS_RULES, default=defaults.preprocess,
                                   format_func=lambda r: t(f"docs.pre.{r}"), key=f"{key}_pre")
    keywords = right.number_input(t("docs.rules.keywords"), 0, 30, defaults.keywords_per_chunk, key=f"{key}_kw")
    return {"method": method, "chunk_size": int(size), "chunk_overlap": int(overlap),
            "separators": parse_separators(separators), "preprocess": list(preprocess),
            "keywords_per_chunk": int(keywords)}
