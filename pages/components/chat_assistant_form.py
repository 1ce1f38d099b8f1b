"""The create / edit form of an assistant: basics, model, prompt and retrieval, session strategy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.assistants import AssistantInfo, LLMSettings, PromptSettings, StrategySettings
from core.errors import AlmanacError
from core.providers.rerank import RERANKERS
from pages.components.common import attempt, link, services, tenant
from pages.components.i18n import t
from pages.components.query_variants import language_label

AVATARS = ["🤖", "💬", "🧠", "📚", "🎓", "💼", "⚖️", "🏥", "🛠️", "💡", "🧾", "🌍", "🛒", "🦉", "🧑‍💻"]
FALLBACKS = ("fixed_response", "model")


def _key(a: AssistantInfo | None, name: str) -> str:
    return f"asf_{a.id if a else 'new'}_{name}"


def sampling_fields(llm: LLMSettings, keyed: Callable[[str], str]) -> tuple[dict[str, Any], Any]:
    """The LLM's sampling settings (assistants and agents alike), and the free column for one more field."""
    c1, c2 = st.columns(2)
    temperature = c1.slider(t("assistants.form.temperature"), 0.0, 2.0, float(llm.temperature), step=0.05,
                            help=t("assistants.form.temperature_help"), key=keyed("temperature"))
    top_p = c2.slider(t("assistants.form.top_p"), 0.0, 1.0, float(llm.top_p), step=0.05,
                      help=t("assistants.form.top_p_help"), key=keyed("top_p"))
    presence = c1.slider(t("assistants.form.presence"), -2.0, 2.0, float(llm.presence_penalty), step=0.1,
                         help=t("assistants.form.presence_help"), key=keyed("presence"))
    frequency = c2.slider(t("assistants.form.frequency"), -2.0, 2.0, float(llm.frequency_penalty), step=0.1,
                          help=t("assistants.form.frequency_help"), key=keyed("frequency"))
    max_tokens = c1.number_input(t("assistants.form.max_tokens"), 0, 200_000, int(llm.max_tokens or 0), step=64,
                                 help=t("assistants.form.max_tokens_help"), key=keyed("max_tokens"))
    return {"temperature": round(temperature, 2), "top_p": round(top_p, 2), "presence_penalty": round(presence, 2),
            "frequency_penalty": round(frequency, 2), "max_tokens": int(max_tokens) or None}, c2


def reset_form(assistant_id: str | None = None) -> None:
    """Forget typed values, so the form opens with the stored settings next time."""
    prefix = f"asf_{assistant_id or 'new'}_"
    for k in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[k]


def default_model_label() -> str:
    """What "workspace default" means right now: the environment's or the saved default LLM, or none."""
    try:
        spec = services().models.llm_spec(tenant())
    except AlmanacError:
        spec = None
    return t("assistants.model_default", model=spec.model) if spec else t("assistants.model_default_none")


def model_options(current: str) -> dict[str, str]:
    options = {"": default_model_label()}
    for m in services().models.list(tenant(), "llm"):
        options[m.id] = f"{m.name} · {m.model}" + (f"  ({t('assistants.model_is_default')})" if m.is_default else "")
    if current and current not in options:
        options[current] = t("assistants.model_gone")
    return options


def rerank_options(current: str) -> list[str]:
    saved = [f"{m.provider}:{m.model}" for m in services().models.list(tenant(), "rerank")]
    return list(dict.fromkeys(["", *saved, current]))


def problems(a: AssistantInfo | None, name: str, system: str, rerank: str) -> list[str]:
    """What we can explain in the user's language before asking the service."""
    found = []
    name = name.strip()
    if not name:
        found.append(t("assistants.err.name_empty"))
    else:
        same = services().assistants.find(tenant(), name, kind="chat")
        if same and (a is None or same.id != a.id) and same.name.casefold() == name.casefold():
            found.append(t("assistants.err.name_taken", name=name))
    if not system.strip():
        found.append(t("assistants.err.system_empty"))
    provider, _, model = (rerank or "").strip().partition(":")
    if rerank and (provider not in RERANKERS or not model):
        found.append(t("assistants.err.rerank", value=rerank, providers=", ".join(RERANKERS)))
    return found


def cross_language_choice(current: list[str] | None, key: str) -> list[str] | None:
    """None (the knowledge bases' setting), ["auto"] (all their languages), [] (off), or a list set elsewhere."""
    options = {"kb": None, "auto": ["auto"], "off": []}
    if current is not None and current not in options.values():
        options["custom"] = current
    labels = {"kb": t("xlang.assistant.kb"), "auto": t("xlang.assistant.auto"), "off": t("xlang.assistant.off"),
              "custom": ", ".join(language_label(c) for c in current or [])}
    chosen = st.selectbox(t("xlang.assistant.languages"), list(options), format_func=labels.__getitem__,
                          index=list(options.values()).index(current), help=t("xlang.assistant.help"), key=key)
    return options[chosen]


def assistant_form(a: AssistantInfo | None, on_cancel: Callable[[], None]) -> AssistantInfo | None:
    """Render the form; returns the created/updated assistant once saved, else None."""
    svc = services()
    if a:
        llm, prompt, strategy = a.llm, a.prompt, a.strategy
    else:
        llm, prompt, strategy = LLMSettings(), PromptSettings(), StrategySettings()
    kb_list = svc.knowledge.list(tenant(), page_size=1000, order_by="name", desc=False).items
    kbs = {k.id: f"{k.icon or '📘'} {k.name}" for k in kb_list}
    models = model_options(llm.model_id)
    reranks = rerank_options(prompt.rerank_model)
    avatars = list(dict.fromkeys([(a.avatar if a else "") or AVATARS[0], *AVATARS]))
    fallback_labels = {f: t("assistants.fallback." + f) for f in FALLBACKS}

    with st.form(_key(a, "form"), border=True, enter_to_submit=False):
        st.subheader(t("assistants.form.edit_title", name=a.name) if a else t("assistants.form.create_title"))
        basics, model_tab, prompt_tab, session_tab = st.tabs([
            f"📝 {t('assistants.form.basics')}", f"🧠 {t('assistants.form.model')}",
            f"🎯 {t('assistants.form.prompt')}", f"🔁 {t('assistants.form.session')}"])
        with basics:
            icon_col, name_col = st.columns([1, 5])
            avatar = icon_col.selectbox(t("assistants.form.avatar"), avatars, key=_key(a, "avatar"),
                                        accept_new_options=True)
            name = name_col.text_input(t("assistants.form.name"), value=a.name if a else "", max_chars=255,
                                       placeholder=t("assistants.form.name_placeholder"), key=_key(a, "name"))
            description = st.text_area(t("assistants.form.description"), value=a.description if a else "", height=80,
                                       key=_key(a, "description"))
            kb_ids = st.multiselect(t("assistants.form.kbs"), list(kbs), default=[k for k in (a.kb_ids if a else [])
                                                                                 if k in kbs],
                                    format_func=kbs.__getitem__, help=t("assistants.form.kbs_help"),
                                    placeholder=t("assistants.form.kbs_placeholder"), key=_key(a, "kbs"))
        with model_tab:
            model_id = st.selectbox(t("assistants.form.llm"), list(models), index=list(models).index(llm.model_id),
                                    format_func=models.__getitem__, help=t("assistants.form.llm_help"),
                                    key=_key(a, "model"))
            if len(models) == 1:
                link("models", t("assistants.form.add_model"), icon="🧠")
            sampling, spare = sampling_fields(llm, lambda name: _key(a, name))
            window = spare.number_input(t("assistants.form.context_window"), 1024, 2_000_000, int(llm.context_window),
                                        step=1024, help=t("assistants.form.context_window_help"),
                                        key=_key(a, "window"))
        with prompt_tab:
            system = st.text_area(t("assistants.form.system"), value=prompt.system, height=200,
                                  help=t("assistants.form.system_help"), key=_key(a, "system"))
            st.caption(t("assistants.form.system_caption"))
            if "{knowledge}" not in system:
                st.warning(t("assistants.form.no_slot"), icon="🧩")
            c1, c2 = st.columns(2)
            threshold = c1.slider(t("assistants.form.threshold"), 0.0, 1.0, float(prompt.similarity_threshold),
                                  step=0.01, help=t("assistants.form.threshold_help"), key=_key(a, "threshold"))
            keyword_weight = c2.slider(t("assistants.form.keyword_weight"), 0.0, 1.0,
                                       float(prompt.keywords_similarity_weight), step=0.05,
                                       help=t("assistants.form.keyword_weight_help"), key=_key(a, "kw_weight"))
            top_n = c1.number_input(t("assistants.form.top_n"), 1, 100, int(prompt.top_n),
                                    help=t("assistants.form.top_n_help"), key=_key(a, "top_n"))
            top_k = c2.number_input(t("assistants.form.top_k"), 1, 10_000, int(prompt.top_k),
                                    help=t("assistants.form.top_k_help"), key=_key(a, "top_k"))
            rerank = st.selectbox(t("assistants.form.rerank"), reranks, index=reranks.index(prompt.rerank_model),
                                  format_func=lambda r: r or t("assistants.form.rerank_kb"), accept_new_options=True,
                                  help=t("assistants.form.rerank_help"), key=_key(a, "rerank"))
            languages = cross_language_choice(prompt.query_languages, _key(a, "query_languages"))
            empty = st.text_area(t("assistants.form.empty_response"), value=prompt.empty_response, height=68,
                                 help=t("assistants.form.empty_response_help"), key=_key(a, "empty"))
            opener = st.text_area(t("assistants.form.opener"), value=prompt.opener, height=68,
                                  help=t("assistants.form.opener_help"), key=_key(a, "opener"))
            show_quote = st.toggle(t("assistants.form.show_quote"), value=prompt.show_quote,
                                   help=t("assistants.form.show_quote_help"), key=_key(a, "quote"))
        with session_tab:
            c1, c2 = st.columns(2)
            max_rounds = c1.number_input(t("assistants.form.max_rounds"), 0, 100, int(strategy.max_rounds),
                                         help=t("assistants.form.max_rounds_help"), key=_key(a, "rounds"))
            with c2:
                st.space("small")
                rewrite = st.toggle(t("assistants.form.query_rewrite"), value=strategy.query_rewrite,
                                    help=t("assistants.form.query_rewrite_help"), key=_key(a, "rewrite"))
            fallback = st.radio(t("assistants.form.fallback"), FALLBACKS,
                                index=FALLBACKS.index(strategy.fallback_strategy),
                                format_func=fallback_labels.__getitem__, horizontal=True, help=t("assistants.form.fallback_help"), key=_key(a, "fallback"))
            fallback_text = st.text_area(t("assistants.form.fallback_response"), value=strategy.fallback_response,
                                         height=68, help=t("assistants.form.fallback_response_help"),
                                         key=_key(a, "fallback_text"))

        with st.container(horizontal=True, gap="small"):
            submitted = st.form_submit_button(t("assistants.form.save") if a else t("assistants.form.create"),
                                              type="primary", icon=":material/save:" if a else ":material/add:")
            st.form_submit_button(t("common.cancel"), on_click=on_cancel)
        if not submitted:
            return None
        found = problems(a, name, system, rerank or "")
        if found:
            st.error(t("assistants.err.fix") + "\n\n" + "\n".join(f"- {p}" for p in found), icon="⚠️")
            return None
        fields = {
            "name": name.strip(), "avatar": (avatar or AVATARS[0]).strip()[:16], "description": description.strip(),
            "kb_ids": kb_ids,
            "llm": {"model_id": model_id, **sampling, "context_window": int(window)},
            "prompt": {"system": system, "similarity_threshold": round(threshold, 4),
                       "keywords_similarity_weight": round(keyword_weight, 4), "top_n": int(top_n),
                       "top_k": int(top_k), "rerank_model": (rerank or "").strip(), "empty_response": empty.strip(),
                       "opener": opener.strip(), "show_quote": show_quote, "query_languages": languages},
            "strategy": {"max_rounds": int(max_rounds), "query_rewrite": rewrite, "fallback_strategy": fallback,
                         "fallback_response": fallback_text.strip()},
        }
        if a is None:
            return attempt(lambda: svc.assistants.create(tenant(), **fields))
        return attempt(lambda: svc.assistants.update(tenant(), a.id, **fields))
