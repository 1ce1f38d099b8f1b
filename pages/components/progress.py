"""A document's processing state as ONE element: a bar while it runs, then the stage timeline (or the error).

One element per document, whatever its state: when a run swapped a progress bar for a caption, the
browser kept showing the old elements beside the new ones until the run ended ("completed" next to
"indexing 25%", a timeline line twice). The badge beside it comes from the same DocumentInfo.
"""

from __future__ import annotations

import html
from datetime import datetime

import streamlit as st

from core.schemas import DocumentInfo, TaskInfo
from pages.components.common import fmt_time
from pages.components.i18n import t

CSS = """<style>
.almanac-task { font-size: 0.875rem; color: rgba(49, 51, 63, 0.65); line-height: 1.5; }
.almanac-task .bar { height: 6px; border-radius: 3px; background: rgba(49, 51, 63, 0.12); margin: 4px 0 3px;
  overflow: hidden; }
.almanac-task .bar > div { height: 100%; border-radius: 3px; background: #4f6bed; transition: width .4s; }
.almanac-task .now { color: rgb(49, 51, 63); }
.almanac-task .failed { color: #d1332b; }
</style>"""


def inject_css() -> None:
    st.html(CSS)


def clock(value: datetime, first: datetime) -> str:
    return value.strftime("%H:%M:%S") if value.date() == first.date() else fmt_time(value)


def timeline(task: TaskInfo) -> str:
    """Stage times, e.g. 'queued 2025-01-02 10:00:01 → parsing 10:00:02 → … → finished 10:00:07 · took 6 s'."""
    stages = [("parsing", task.parsing_at), ("splitting", task.splitting_at), ("indexing", task.indexing_at)]
    parts = [f"{t('docs.stage.waiting')} {fmt_time(task.created_at)}"]
    parts += [f"{t('docs.stage.' + name)} {clock(at, task.created_at)}" for name, at in stages if at]
    if task.finished_at:
        end = "finished" if task.state == "completed" else task.state
        parts.append(f"{t('docs.stage.' + end)} {clock(task.finished_at, task.created_at)}")
    text = " → ".join(parts)
    if task.finished_at and task.state == "completed":
        text += " · " + t("docs.took", seconds=f"{(task.finished_at - task.created_at).total_seconds():.1f}")
    return text


def task_html(d: DocumentInfo, with_timeline: bool = True) -> str:
    """The state line of a document (escaped; one block without blank lines, so markdown leaves it alone)."""
    task = d.task
    if task is None:
        return f"<div class='almanac-task'>💤 {html.escape(t('docs.not_parsed'))}</div>"
    parts = []
    if task.active:
        now = f"{t('status.' + task.state)} · {task.progress:.0%} · {task.message}"
        parts.append(f"<div class='bar'><div style='width:{max(2, round(task.progress * 100))}%'></div></div>"
                     f"<span class='now'>{html.escape(now)}</span>")
    elif task.state == "error":
        parts.append(f"<span class='failed'>⚠️ <b>{html.escape(t('docs.failed'))}</b> "
                     f"{html.escape(task.error or task.message)}</span>")
    if with_timeline:
        parts.append(f"⏱️ {html.escape(timeline(task))}")
    return "<div class='almanac-task'>" + "<br>".join(parts) + "</div>"


def task_line(d: DocumentInfo, with_timeline: bool = True) -> None:
    st.markdown(task_html(d, with_timeline), unsafe_allow_html=True)
