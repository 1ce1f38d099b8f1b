"""The home page's notice in demo mode (ALMANAC_DEMO=true): what this is, where to start, the limits, the README."""

from __future__ import annotations

import streamlit as st

from core.container import Services
from pages.components.common import fmt_time, link, tenant
from pages.components.i18n import t


def demo_notice(svc: Services) -> None:
    settings, sample = svc.settings, svc.demo.sample()
    with st.container(border=True, key="demo_notice"):
        st.markdown(f"#### 👋 {t('demo.title')}")
        if sample is not None:
            st.markdown(t("demo.intro"))
            cols = st.columns(4)
            with cols[0]:
                link("hit_testing", t("demo.try_search"), icon="🎯", kb=sample.kb_id)
            with cols[1]:
                link("chat", t("demo.try_chat"), icon="💬", assistant=sample.assistant_id)
            cols[2].markdown(f"🌐 [{t('demo.public_assistant')}](/chat/{sample.assistant_id})")
            cols[3].markdown(f"🤖 [{t('demo.public_agent')}](/chat/{sample.agent_id})")
            if any(d.task and d.task.active for d in svc.documents.list(tenant(), sample.kb_id, page_size=100).items):
                st.caption(f"⏳ {t('demo.ingesting')}")
        next_reset = svc.demo.next_reset()
        st.caption(t("demo.limits", files=settings.demo_max_files, mb=settings.demo_max_upload_mb,
                     uploads=settings.demo_uploads_per_hour, questions=settings.demo_questions_per_hour,
                     hours=f"{settings.demo_reset_hours:g}", next=fmt_time(next_reset) if next_reset else "—"))
        st.markdown(f"📖 [{t('demo.readme')}]({settings.readme_url})")
