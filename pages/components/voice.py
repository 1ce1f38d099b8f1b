"""Voice widgets for a chat: speak a question (record or upload it, check and edit the transcript, send it) and
hear the answers ("read answers aloud": each new answer is spoken once, then stays playable under it).

Everything goes through services().voice in the UI's tenant: the bundled faster-whisper model and
edge-tts (espeak-ng offline) unless the tenant configured stt / tts models. A `prefix` keeps the
session-state keys of two chats apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.errors import AlmanacError
from core.text import speakable
from pages.components.common import services, tenant
from pages.components.i18n import t

AUDIO_TYPES = ["wav", "mp3", "m4a", "webm", "ogg", "flac"]
# --- speaking a question ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceKeys:
    """Session-state keys of one chat's voice input."""

    prefix: str

    @property
    def round(self) -> str:  # bumped after each send: new widget keys clear the recorder and the uploader
        return f"{self.prefix}_round"

    def widget(self, name: str) -> str:
        return f"{self.prefix}_{name}_{st.session_state.get(self.round, 0)}"

    @property
    def transcript(self) -> str:
        return f"{self.prefix}_transcript"

    @property
    def heard(self) -> str:  # ids of the recordings already transcribed (a rerun must not transcribe them again)
        return f"{self.prefix}_heard"

    @property
    def status(self) -> str:  # (kind, message) about the last transcription: error / warning / info
        return f"{self.prefix}_status"

    @property
    def sent(self) -> str:  # the question to ask in this run
        return f"{self.prefix}_sent"

    @property
    def popover(self) -> str:
        return f"{self.prefix}_popover"


def transcribe_clip(keys: VoiceKeys, data: bytes, filename: str) -> None:
    """Transcribe one recording into the editable transcript, or say why not (bad audio, no speech)."""
    try:
        heard = services().voice.transcribe(tenant(), data, filename=filename)
    except AlmanacError as exc:
        st.session_state[keys.status] = ("error", exc.message)
        return
    if not heard.text.strip():
        st.session_state[keys.status] = ("warning", t("chat.voice.no_speech", s=f"{heard.duration_s:.1f}"))
        return
    st.session_state[keys.transcript] = heard.text.strip()
    summary = t("chat.voice.heard", s=f"{heard.duration_s:.1f}", model=heard.model or heard.provider)
    st.session_state[keys.status] = ("info", f"{summary} {heard.note}".strip())


def send_transcript(keys: VoiceKeys) -> None:
    question = (st.session_state.get(keys.transcript) or "").strip()
    if not question:
        return
    st.session_state[keys.sent] = question
    st.session_state[keys.transcript] = ""
    st.session_state.pop(keys.status, None)
    st.session_state[keys.round] = st.session_state.get(keys.round, 0) + 1
    st.session_state[keys.popover] = False  # close it: the answer comes in below


def take_voice_question(prefix: str) -> str | None:
    """The transcript the user sent in the previous interaction, once."""
    return st.session_state.pop(VoiceKeys(prefix).sent, None)


def _new_clips(keys: VoiceKeys, *files) -> None:
    heard = st.session_state.setdefault(keys.heard, set())
    for f in files:
        if f is not None and f.file_id not in heard:
            heard.add(f.file_id)
            with st.spinner(t("chat.voice.transcribing")):
                transcribe_clip(keys, f.getvalue(), f.name)


def voice_input(prefix: str) -> None:
    """A microphone button opening the recorder, an audio upload and the transcript to send."""
    keys = VoiceKeys(prefix)
    with st.popover("", icon=":material/mic:", help=t("chat.voice.button_help"), key=keys.popover,
                    on_change="rerun"):
        st.markdown(f"**🎙️ {t('chat.voice.title')}**")
        recorded = st.audio_input(t("chat.voice.record"), key=keys.widget("record"), label_visibility="collapsed")
        uploaded = st.file_uploader(t("chat.voice.upload"), type=AUDIO_TYPES, key=keys.widget("upload"),
                                    max_upload_size=services().settings.voice_max_audio_mb)
        _new_clips(keys, recorded, uploaded)
        kind, message = st.session_state.get(keys.status) or ("", "")
        if kind == "error":
            st.error(message, icon="⚠️")
        elif kind == "warning":
            st.warning(message, icon="🔇")
        elif kind:
            st.caption(message)
        st.text_area(t("chat.voice.transcript"), key=keys.transcript, height=90, max_chars=20_000,
                     placeholder=t("chat.voice.transcript_placeholder"))
        st.button(t("chat.voice.send"), icon=":material/send:", type="primary", key=f"{prefix}_send", width="stretch",
                  disabled=not (st.session_state.get(keys.transcript) or "").strip(), on_click=send_transcript,
                  args=(keys,))


# --- hearing the answers ------------------------------------------------------------------------------


def voice_css(prefix: str) -> str:
    """The spoken answer's player lines up with the answer's text, right of the avatar."""
    return f".st-key-{prefix}_speech_row {{ padding-left: 3.5rem; }}"


def read_aloud_toggle(prefix: str) -> bool:
    """The "read answers aloud" switch; it keeps its state for the whole browser session."""
    return st.toggle(t("chat.voice.read_aloud"), key=f"{prefix}_read_aloud", help=t("chat.voice.read_aloud_help"),
                     persist_state="session")


def speak_next(prefix: str, message_id: str) -> None:
    """Mark an answer that just completed, to be spoken in the next run (the page reruns to show it saved)."""
    st.session_state[f"{prefix}_speak_next"] = message_id


def take_speak_next(prefix: str) -> str | None:
    """The answer marked by speak_next, once (a run that does not show it drops it: it is not spoken later)."""
    return st.session_state.pop(f"{prefix}_speak_next", None)


def answer_speech(prefix: str, message_id: str, text: str, *, fresh: bool) -> None:
    """Under an answer: speak it now if it just completed (`fresh`) and reading aloud is on, or replay its speech."""
    key = f"{prefix}_speech"
    if fresh:
        st.session_state.pop(key, None)
        if st.session_state.get(f"{prefix}_read_aloud") and speakable(text):
            with st.spinner(t("chat.voice.speaking")):
                try:
                    speech = services().voice.synthesize(tenant(), speakable(text), format="mp3")
                except AlmanacError as exc:
                    st.warning(t("chat.voice.speak_failed", message=exc.message), icon="🔇")
                    return
            st.session_state[key] = {"message_id": message_id, "audio": speech.audio, "media_type": speech.media_type,
                                     "by": f"{speech.provider_used} · {speech.voice_used}", "note": speech.note}
    spoken = st.session_state.get(key)
    if not spoken or spoken["message_id"] != message_id:
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"{prefix}_speech_row"):
        st.audio(spoken["audio"], format=spoken["media_type"], autoplay=fresh, width=340)
        st.caption(f"🔊 {spoken['by']}", help=spoken["note"] or None, width="content")
