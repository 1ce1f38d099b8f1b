"""The Models page lists speech-to-text and text-to-speech models; the form adds and really tests them."""

from __future__ import annotations

from tests.ui.conftest import open_page, ui  # noqa: F401 - `ui`: services shared with the app under test

PAGE = "pages/models.py"


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def add_through_form(at, type_: str, provider: str, name: str, model: str):
    at.button(key=f"models_add_{type_}").click().run()
    assert at.selectbox(key="mf_new_type").value == type_
    at.selectbox(key=f"mf_new_provider_{type_}").set_value(provider).run()
    at.text_input(key="mf_new_name").input(name)
    at.text_input(key="mf_new_model").input(model)
    at.button(key="mf_new_test").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_voice_groups_and_adding_tested_models(ui, tenant):  # noqa: F811 - the imported fixture
    at = open_page(PAGE)
    headers = [s.value for s in at.subheader]
    assert "🎙️ Speech-to-text model  :gray-badge[0]" in headers and "🔊 Text-to-speech model  :gray-badge[0]" in headers
    assert "built-in faster-whisper tiny.en" in " ".join(m.value for m in at.markdown)

    add_through_form(at, "stt", "faster-whisper", "Local whisper", "bundled")
    assert "tiny.en (bundled) transcribed" in texts(at.success) and not at.error
    at.checkbox(key="mf_new_default").check()
    at.button(key="mf_new_save").click().run()
    (stt,) = ui.models.list(tenant, "stt")
    assert (stt.provider, stt.model, stt.is_default) == ("faster-whisper", "bundled", True)

    add_through_form(at, "tts", "espeak-ng", "Robot voice", "no-such-voice")
    assert "Unknown espeak-ng voice" in texts(at.error)
    at.text_input(key="mf_new_model").input("en-us")
    at.button(key="mf_new_test").click().run()
    assert "Spoke 'test' with espeak-ng voice en-us" in texts(at.success)
    at.checkbox(key="mf_new_default").check()
    at.button(key="mf_new_save").click().run()
    assert [m.name for m in ui.models.list(tenant, "tts")] == ["Robot voice"]
    assert ui.voice.synthesize(tenant, "Hello").voice_used == "en-us"  # the saved default speaks now
    headers = [s.value for s in at.subheader]
    assert "🎙️ Speech-to-text model  :gray-badge[1]" in headers and "🔊 Text-to-speech model  :gray-badge[1]" in headers
