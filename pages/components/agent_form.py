"""The agent editor: instructions, model, knowledge and tools, memory and limits.

Plain widgets (not st.form) so the tool picker can show a tool's settings as soon as it is ticked.
`agent_editor` returns the fields the widgets hold now; the page saves them as the agent's draft.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.assistants import AssistantInfo
from pages.components.chat_assistant_form import AVATARS, model_options, sampling_fields
from pages.components.common import link, services, tenant
from pages.components.i18n import t
from pages.components.tool_picker import Catalogue, ToolPicker, normalized

MEMORY_MODES = ("none", "long_term_memory")
TOOL_MODES = ("auto", "function_calling", "react")


def key(a: AssistantInfo, name: str) -> str:
    return f"agf_{a.id}_{name}"


def reset_editor(agent_id: str) -> None:
    """Forget typed values, so the editor shows the stored draft next time."""
    prefix = f"agf_{agent_id}_"
    for k in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[k]


def instructions_section(a: AssistantInfo) -> dict[str, Any]:
    icon_col, name_col = st.columns([1, 5])
    avatars = list(dict.fromkeys([a.avatar or AVATARS[0], *AVATARS]))
    avatar = icon_col.selectbox(t("agents.form.avatar"), avatars, key=key(a, "avatar"), accept_new_options=True)
    name = name_col.text_input(t("agents.form.name"), value=a.name, max_chars=255, key=key(a, "name"))
    description = st.text_input(t("agents.form.description"), value=a.description, key=key(a, "description"),
                                placeholder=t("agents.form.description_placeholder"))
    system = st.text_area(t("agents.form.system"), value=a.prompt.system, height=220, key=key(a, "system"),
                          help=t("agents.form.system_help"))
    opener = st.text_area(t("agents.form.opener"), value=a.prompt.opener, height=68, key=key(a, "opener"),
                          help=t("agents.form.opener_help"))
    return {"name": name, "avatar": avatar, "description": description, "system": system, "opener": opener}


def model_section(a: AssistantInfo) -> dict[str, Any]:
    llm = a.llm
    models = model_options(llm.model_id)
    model_id = st.selectbox(t("agents.form.model"), list(models), index=list(models).index(llm.model_id),
                            format_func=models.__getitem__, help=t("agents.form.model_help"), key=key(a, "model"))
    if len(models) == 1:
        link("models", t("agents.go_models"), icon="🧠")
    sampling, _ = sampling_fields(llm, lambda name: key(a, name))
    return {"model_id": model_id, **sampling}


def tools_section(a: AssistantInfo, catalogue: Catalogue) -> tuple[list[str], list[dict]]:
    kb_list = services().knowledge.list(tenant(), page_size=1000, order_by="name", desc=False).items
    kbs = {k.id: f"{k.icon or '📘'} {k.name}" for k in kb_list}
    kb_ids = st.multiselect(t("agents.form.kbs"), list(kbs), default=[k for k in a.kb_ids if k in kbs],
                            format_func=kbs.__getitem__, help=t("agents.form.kbs_help"),
                            placeholder=t("agents.form.kbs_placeholder"), key=key(a, "kbs"))
    if not kbs:
        link("knowledge_bases", t("common.go_create_kb"), icon="📚")
    st.markdown(f"**{t('agents.form.tools')}**")
    chosen_line = st.empty()
    picker = ToolPicker(f"agf_{a.id}", a.tools, catalogue)
    tools = picker.render()
    chosen_line.markdown(picker.summary() or f":gray[{t('agents.form.no_tools')}]")
    return kb_ids, tools


def memory_section(a: AssistantInfo) -> dict[str, Any]:
    s = a.strategy
    memory = st.radio(t("agents.form.memory"), MEMORY_MODES, index=MEMORY_MODES.index(s.memory_mode),
                      format_func=lambda m: t("agents.memory." + m), horizontal=True,
                      help=t("agents.form.memory_help"), key=key(a, "memory"))
    rounds = st.number_input(t("agents.form.rounds"), 0, 100, int(s.max_rounds), help=t("agents.form.rounds_help"),
                             key=key(a, "rounds"))
    st.divider()
    st.markdown(f"**{t('agents.form.advanced')}**")
    c1, c2 = st.columns(2)
    max_steps = c1.number_input(t("agents.form.max_steps"), 1, 20, int(s.max_steps),
                                help=t("agents.form.max_steps_help"), key=key(a, "max_steps"))
    timeout = c2.number_input(t("agents.form.tool_timeout"), 1.0, 300.0, float(s.tool_timeout), step=5.0, format="%g",
                              help=t("agents.form.tool_timeout_help"), key=key(a, "timeout"))
    mode = st.radio(t("agents.form.tool_mode"), TOOL_MODES, index=TOOL_MODES.index(s.tool_mode), horizontal=True,
                    format_func=lambda m: t("agents.tool_mode." + m), help=t("agents.form.tool_mode_help"),
                    key=key(a, "tool_mode"))
    return {"memory_mode": memory, "max_rounds": int(rounds), "max_steps": int(max_steps),
            "tool_timeout": float(timeout), "tool_mode": mode}


def agent_editor(a: AssistantInfo, catalogue: Catalogue) -> dict[str, Any]:
    """Render the editor; returns the update the widgets describe (AssistantService.update's arguments)."""
    basics, model, tools, memory = st.tabs([
        f"📝 {t('agents.form.tab_instructions')}", f"🧠 {t('agents.form.tab_model')}",
        f"🧰 {t('agents.form.tab_tools')}", f"⚙️ {t('agents.form.tab_memory')}"])
    with basics:
        top = instructions_section(a)
    with model:
        llm = model_section(a)
    with tools:
        kb_ids, refs = tools_section(a, catalogue)
    with memory:
        strategy = memory_section(a)
    return {
        "name": top["name"].strip(), "avatar": (top["avatar"] or AVATARS[0]).strip()[:16],
        "description": top["description"].strip(), "kb_ids": kb_ids, "llm": llm,
        "prompt": {"system": top["system"], "opener": top["opener"].strip()},
        "strategy": strategy, "tools": refs,
    }


def problems(fields: dict[str, Any]) -> list[str]:
    """What we can explain in the user's language before asking the service."""
    found = []
    if not fields["name"]:
        found.append(t("agents.err.name_empty"))
    if not fields["prompt"]["system"].strip():
        found.append(t("agents.err.system_empty"))
    return found


def unsaved(a: AssistantInfo, fields: dict[str, Any], catalogue: Catalogue) -> bool:
    """Whether the widgets hold something the stored draft does not."""
    stored = {
        "name": a.name, "avatar": a.avatar or AVATARS[0], "description": a.description, "kb_ids": sorted(a.kb_ids),
        "llm": {k: getattr(a.llm, k) for k in fields["llm"]},
        "prompt": {"system": a.prompt.system, "opener": a.prompt.opener},
        "strategy": {k: getattr(a.strategy, k) for k in fields["strategy"]},
        "tools": normalized(a.tools, catalogue),
    }
    now = {**fields, "kb_ids": sorted(fields["kb_ids"]), "tools": normalized(fields["tools"], catalogue)}
    return now != stored
