"""The create / edit form of a knowledge base: basics, embedding model, chunking and retrieval defaults."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from core.ingestion.cleaning import PREPROCESS_RULES
from core.ingestion.splitting import SPLIT_METHODS
from core.providers.embeddings import available_models
from core.schemas import ChunkConfig, KnowledgeBaseInfo, RetrievalConfig
from pages.components.common import attempt, services, tenant
from pages.components.i18n import t
from pages.components.query_variants import LANGUAGE_CHOICES, language_label

ICONS = ["📘", "📗", "📕", "📙", "📚", "📖", "📒", "🗂️", "📁", "🧠", "💡", "🔬", "⚖️", "💼", "🏥",
         "🛠️", "💰", "🎓", "🌍", "🧾", "🤖", "🛒"]
MODES = ("semantic", "full_text", "hybrid")


@st.cache_data(show_spinner=False)
def model_choices() -> dict[str, bool]:
    """Embedding model id -> works offline."""
    return {m["model_id"]: bool(m["offline"]) for m in available_models()}


def _key(kb: KnowledgeBaseInfo | None, name: str) -> str:
    return f"kbf_{kb.id if kb else 'new'}_{name}"


def reset_form(kb_id: str | None = None) -> None:
    """Forget typed values, so the form opens with the stored settings next time."""
    prefix = f"kbf_{kb_id or 'new'}_"
    for k in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[k]


def parse_separators(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def check(kb: KnowledgeBaseInfo | None, name: str, chunking: dict[str, Any]) -> list[str]:
    """Problems we can explain in the user's language before asking the service."""
    problems = []
    name = name.strip()
    if not name:
        problems.append(t("kb.err.name_empty"))
    else:
        same = services().knowledge.list(tenant(), name=name, page_size=1).items
        if same and (kb is None or same[0].id != kb.id):
            problems.append(t("kb.err.name_taken", name=name))
    if chunking["chunk_overlap"] >= chunking["chunk_size"]:
        problems.append(t("kb.err.overlap", overlap=chunking["chunk_overlap"], size=chunking["chunk_size"]))
    for line, sep in enumerate(chunking["separators"], start=1):
        try:
            rx = re.compile(sep)
        except re.error as exc:
            problems.append(t("kb.err.separator", line=line, sep=sep, error=exc))
            continue
        if rx.fullmatch(""):
            problems.append(t("kb.err.separator_empty", line=line, sep=sep))
    return problems


def kb_form(kb: KnowledgeBaseInfo | None, on_cancel: Callable[[], None]) -> KnowledgeBaseInfo | None:
    """Render the form; returns the created/updated knowledge base once saved, else None."""
    svc = services()
    chunk_cfg = kb.chunk_config if kb else ChunkConfig()
    ret_cfg = kb.retrieval_config if kb else RetrievalConfig()
    default_model = svc.settings.embedding_model
    current_model = kb.embedding_model if kb else default_model
    offline = model_choices()
    models = list(dict.fromkeys([current_model, default_model, *offline]))
    locked = bool(kb and kb.chunk_count)
    icons = list(dict.fromkeys([(kb.icon if kb else "") or ICONS[0], *ICONS]))
    # Labels computed now (not inside format_func), so they never depend on when they are formatted.
    model_labels = {m: f"{m}  ·  {t('kb.form.model_offline')}" if offline.get(m) else m for m in models}
    method_labels = {m: t(f"kb.form.method.{m}") for m in SPLIT_METHODS}
    mode_labels = {m: t(f"kb.form.mode.{m}") for m in MODES}

    with st.form(_key(kb, "form"), border=True, enter_to_submit=False):
        st.subheader(t("kb.form.edit_title", name=kb.name) if kb else t("kb.form.create_title"))

        st.markdown(f"##### 📝 {t('kb.form.basics')}")
        icon_col, name_col = st.columns([1, 5])
        icon = icon_col.selectbox(t("kb.form.icon"), icons, key=_key(kb, "icon"))
        name = name_col.text_input(t("kb.form.name"), value=kb.name if kb else "", max_chars=255,
                                   placeholder=t("kb.form.name_placeholder"), key=_key(kb, "name"))
        description = st.text_area(t("kb.form.description"), value=kb.description if kb else "", height=80,
                                   placeholder=t("kb.form.description_placeholder"), key=_key(kb, "description"))
        model = st.selectbox(
            t("kb.form.model"), models, index=models.index(current_model), disabled=locked,
            help=t("kb.form.model_help"), key=_key(kb, "model"), format_func=model_labels.__getitem__)
        if locked:
            st.caption(t("kb.form.model_locked", n=kb.chunk_count))

        st.divider()
        st.markdown(f"##### 🧩 {t('kb.form.chunking')}")
        st.caption(t("kb.form.chunking_caption"))
        method = st.selectbox(t("kb.form.method"), SPLIT_METHODS, index=SPLIT_METHODS.index(chunk_cfg.method),
                              format_func=method_labels.__getitem__, key=_key(kb, "method"))
        size_col, overlap_col, kw_col = st.columns(3)
        chunk_size = size_col.number_input(t("kb.form.chunk_size"), min_value=16, max_value=8192, step=16,
                                           value=chunk_cfg.chunk_size, help=t("kb.form.chunk_size_help"),
                                           key=_key(kb, "chunk_size"))
        overlap = overlap_col.number_input(t("kb.form.overlap"), min_value=0, max_value=8192, step=8,
                                           value=chunk_cfg.chunk_overlap, help=t("kb.form.overlap_help"),
                                           key=_key(kb, "overlap"))
        keywords = kw_col.number_input(t("kb.form.keywords"), min_value=0, max_value=30, step=1,
                                       value=chunk_cfg.keywords_per_chunk, help=t("kb.form.keywords_help"),
                                       key=_key(kb, "keywords"))
        sep_col, rules_col = st.columns(2)
        separators = sep_col.text_area(t("kb.form.separators"), value="\n".join(chunk_cfg.separators), height=100,
                                       help=t("kb.form.separators_help"), placeholder="\\n\\n",
                                       key=_key(kb, "separators"))
        with rules_col:
            st.markdown(f"<p style='font-size:0.875rem;margin-bottom:0.4rem'>{t('kb.form.preprocess')}</p>",
                        unsafe_allow_html=True)
            rules = [rule for rule in PREPROCESS_RULES
                     if st.checkbox(t(f"kb.form.{rule}"), value=rule in chunk_cfg.preprocess, key=_key(kb, rule))]

        st.divider()
        st.markdown(f"##### 🎯 {t('kb.form.retrieval')}")
        st.caption(t("kb.form.retrieval_caption"))
        mode_col, k_col = st.columns([2, 1])
        mode = mode_col.selectbox(t("kb.form.mode"), MODES, index=MODES.index(ret_cfg.mode),
                                  format_func=mode_labels.__getitem__, key=_key(kb, "mode"))
        top_k = k_col.number_input(t("kb.form.top_k"), min_value=1, max_value=100, value=ret_cfg.top_k,
                                   help=t("kb.form.top_k_help"), key=_key(kb, "top_k"))
        th_col, w_col = st.columns(2)
        threshold = th_col.slider(t("kb.form.threshold"), 0.0, 1.0, float(ret_cfg.threshold), step=0.01,
                                  help=t("kb.form.threshold_help"), key=_key(kb, "threshold"))
        weight = w_col.slider(t("kb.form.vector_weight"), 0.0, 1.0, float(ret_cfg.vector_weight), step=0.05,
                              help=t("kb.form.vector_weight_help"), key=_key(kb, "weight"))
        lang_col, kw_col = st.columns([2, 1], vertical_alignment="bottom")
        languages = lang_col.multiselect(t("xlang.form.languages"), LANGUAGE_CHOICES, default=ret_cfg.query_languages,
                                         format_func=language_label, help=t("xlang.form.languages_help"),
                                         key=_key(kb, "query_languages"), placeholder=t("xlang.none"))
        model_keywords = kw_col.checkbox(t("xlang.form.keywords"), value=ret_cfg.model_keywords,
                                         help=t("xlang.form.keywords_help"), key=_key(kb, "model_keywords"))

        with st.container(horizontal=True, gap="small"):
            submitted = st.form_submit_button(t("kb.form.save") if kb else t("kb.form.create"), type="primary",
                                              icon=":material/save:" if kb else ":material/add:")
            st.form_submit_button(t("kb.form.cancel"), on_click=on_cancel)
        if not submitted:
            return None

        chunking = {"method": method, "chunk_size": int(chunk_size), "chunk_overlap": int(overlap),
                    "keywords_per_chunk": int(keywords), "separators": parse_separators(separators),
                    "preprocess": rules}
        retrieval = {"mode": mode, "top_k": int(top_k), "threshold": round(float(threshold), 4),
                     "vector_weight": round(float(weight), 4), "query_languages": languages,
                     "model_keywords": model_keywords}
        problems = check(kb, name, chunking)
        if "auto" in languages and len(languages) > 1:
            problems.append(t("xlang.form.auto_alone"))
        if problems:
            st.error(t("kb.err.fix") + "\n\n" + "\n".join(f"- {p}" for p in problems), icon="⚠️")
            return None
        fields = {"name": name.strip(), "description": description.strip(), "icon": icon,
                  "chunk_config": chunking, "retrieval_config": retrieval}
        if kb is None:
            return attempt(lambda: svc.knowledge.create(tenant(), embedding_model=model, **fields))
        if not locked and model != kb.embedding_model:
            fields["embedding_model"] = model
        return attempt(lambda: svc.knowledge.update(tenant(), kb.id, **fields))
