"""Voice on the public chat page: a spoken question is transcribed and asked; "Speak answers" reads each answer.

Both run in the tenant of the assistant the visitor opened (its stt / tts model configs, else the
offline defaults: the bundled faster-whisper model, edge-tts falling back to espeak-ng).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.container import Services
from core.errors import AlmanacError
from core.i18n import translate
from core.text import speakable

log = logging.getLogger(__name__)

VOICE_CSS = """
#pc-voice { align-items: center; gap: 10px; margin-top: 2px; }
#pc-mic { border-radius: 12px; min-height: 98px; }  /* the same height while disabled (an answer is coming) */
#pc-mic:not(:has(button))::after { content: "🎙️ The microphone is back when the answer is complete";
  position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #9CA3AF; font-size: .88rem; }
html[lang="zh"] #pc-mic:not(:has(button))::after { content: "🎙️ 回答完成后即可再次使用麦克风"; }
#pc-mic .top-panel { display: none !important; }  /* "clear": a recording is sent and cleared at once */
#pc-speak { flex: 0 0 auto !important; width: auto !important; border: none !important; box-shadow: none !important;
  background: transparent !important; padding: 0 4px !important; }
#pc-speech { border-radius: 12px; }
.pc-voice-note { font-size: .85rem; color: #6B7280; padding: 2px 4px; }
.pc-voice-error { font-size: .88rem; padding: 6px 10px; border-radius: 8px; background: #FEF2F2; color: #991B1B; }
.pc-voice-warn { font-size: .88rem; padding: 6px 10px; border-radius: 8px; background: #FFFBEB; color: #92400E; }
"""


@dataclass
class Heard:
    """What a recording said, or why it could not be used (shown under the microphone)."""

    text: str = ""
    problem: str = ""
    note: str = ""
    silent: bool = False  # no speech in it: a warning rather than an error


def hear(svc: Services, tenant_id: str, recording: str, lang: str = "en") -> Heard:
    """Transcribe the visitor's recording (a file Gradio saved); bad audio and silence are explained."""
    try:
        data = Path(recording).read_bytes()
    except OSError:
        return Heard(problem=translate(lang, "public.voice.unreadable"))
    try:
        heard = svc.voice.transcribe(tenant_id, data, filename=Path(recording).name)
    except AlmanacError as exc:
        return Heard(problem=exc.message)
    except Exception:  # the page must stay usable; the operator gets the traceback
        log.exception("Public chat transcription failed")
        return Heard(problem=translate(lang, "public.voice.failed"))
    if not heard.text.strip():
        return Heard(problem=translate(lang, "public.voice.no_speech", seconds=f"{heard.duration_s:.1f}"),
                     silent=True)
    return Heard(text=heard.text.strip(), note=heard.note)


def status_html(heard: Heard | None) -> str:
    if heard is None:
        return ""
    if heard.problem:
        css = "pc-voice-warn" if heard.silent else "pc-voice-error"
        return f'<div class="{css}">🎙️ {html.escape(heard.problem)}</div>'
    return f'<div class="pc-voice-note">{html.escape(heard.note)}</div>' if heard.note else ""


def speak(svc: Services, tenant_id: str, answer: str, lang: str = "en") -> tuple[bytes | None, str]:
    """(mp3 bytes, "") for an answer, or (None, why not) when it could not be spoken."""
    text = speakable(answer)
    if not text:
        return None, ""
    try:
        return svc.voice.synthesize(tenant_id, text, format="mp3").audio, ""
    except AlmanacError as exc:
        return None, translate(lang, "public.voice.cannot_speak_because", message=exc.message)
    except Exception:
        log.exception("Public chat speech failed")
        return None, translate(lang, "public.voice.cannot_speak")


def read_aloud(services: Callable[[], Services], answer: str, wanted: bool, visit: dict | None, status: str,
               lang: str = "en"):
    """After an answer: its speech, autoplaying, when "Speak answers" is ticked (else the player hides)."""
    if not (wanted and answer and visit):
        return gr.update(value=None, visible=False), status
    audio, problem = speak(services(), visit["tenant_id"], answer, lang)
    if audio is None:
        return gr.update(value=None, visible=False), status_html(Heard(problem=problem)) if problem else status
    return gr.update(value=audio, visible=True), status


def voice_controls() -> tuple[gr.Audio, gr.Checkbox, gr.HTML]:
    """The row under the question box: the microphone (or an upload), "Speak answers", and a status line."""
    with gr.Row(equal_height=True, elem_id="pc-voice"):
        mic = gr.Audio(sources=["microphone", "upload"], type="filepath", label=translate("en", "public.voice.ask"),
                       show_label=False,
                       elem_id="pc-mic", scale=6, editable=False, buttons=[],
                       waveform_options=gr.WaveformOptions(show_recording_waveform=True, sample_rate=16_000))
        speak_box = gr.Checkbox(label=translate("en", "public.voice.speak_answers"), value=False, elem_id="pc-speak",
                                scale=0, min_width=170, container=False)
    status = gr.HTML(elem_id="pc-voice-status")
    return mic, speak_box, status


def speech_player() -> gr.Audio:
    """Where a spoken answer plays (by itself); hidden until there is one."""
    return gr.Audio(label=translate("en", "public.voice.spoken_answer"), elem_id="pc-speech", autoplay=True,
                    interactive=False, visible=False, buttons=["download"])
