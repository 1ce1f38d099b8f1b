"""Ingestion's helper processes: same results as in-process, lower CPU priority, a helper that dies fails
only its own document, and stopping ends work in progress at once."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from core.errors import AlmanacError
from core.ingestion.helpers import HelpersStopped, InlineHelpers, ProcessHelpers
from core.providers.embeddings import EmbedderSpec
from tests.helpers import scanned_pdf, text_image

CONFIG = {"chunk_size": 32, "chunk_overlap": 0, "keywords_per_chunk": 3}


@pytest.fixture
def helpers():
    pool = ProcessHelpers(1, nice=5)
    yield pool
    pool.close()


def test_helpers_give_what_the_inline_steps_give_at_a_lower_priority(helpers, tmp_path):
    doc = tmp_path / "notes.md"
    doc.write_text("# Leave\n\n" + "Annual leave is 25 days and must be approved by a manager. " * 20
                   + "\n\n带薪年假需要提前申请。")
    inline = InlineHelpers()
    here, there = inline.split(inline.read("notes.md", doc, []), CONFIG), helpers.split(
        helpers.read("notes.md", doc, []), CONFIG)
    assert there == here and len(there.chunks) > 3 and there.chunks[0].derived["search_text"]
    spec = EmbedderSpec.parse("mock:words-64")
    texts = [c.content for c in there.chunks]
    assert (helpers.embed(spec, texts) == inline.embed(spec, texts)).all()
    assert helpers._call(os.getpriority, os.PRIO_PROCESS, 0) == os.getpriority(os.PRIO_PROCESS, 0) + 5


def test_a_documents_passages_are_shared_out_among_helpers_that_each_use_one_core():
    pool = ProcessHelpers(2, nice=0)
    try:
        spec = EmbedderSpec.parse("mock:words-64")
        for n in (1, 2, 5):
            texts = [f"Passage {i}: otters hold hands while they sleep." for i in range(n)]
            assert (pool.embed(spec, texts) == InlineHelpers().embed(spec, texts)).all()  # in order
        assert pool._call(_openmp_threads) == os.environ.get("OMP_NUM_THREADS", "1")
    finally:
        pool.close()


def test_reading_progress_comes_back_from_the_helper(helpers, tmp_path):
    scan = tmp_path / "notice.pdf"
    scan.write_bytes(scanned_pdf([text_image(["Water damage is covered."]), text_image(["Claims: Building 7."])]))
    reports = []

    def progress(message: str, fraction: float) -> None:
        reports.append((message, fraction))
        raise RuntimeError("cancelled")  # cannot stop the helper: logged, the read carries on

    parsed = helpers.read("notice.pdf", scan, [], progress=progress)
    assert "Building 7" in " ".join(section.text for section in parsed.sections)
    assert [message for message, _ in reports][:1] == ["Recognising text (OCR) on page 1 (1/2 scanned pages)"]
    assert [fraction for _, fraction in reports] == sorted(fraction for _, fraction in reports)


def test_a_helper_that_dies_fails_its_call_and_the_next_call_gets_a_fresh_one(helpers, tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("Short text for a fresh helper.")
    helpers.read("a.txt", doc, [])  # started
    (pid,) = list(helpers._pool._processes)
    errors = []
    caller = threading.Thread(target=lambda: errors.append(_call_error(helpers, _busy, str(tmp_path / "busy"))))
    caller.start()
    _wait_for(tmp_path / "busy")
    os.kill(pid, 9)
    caller.join(30)
    assert isinstance(errors[0], AlmanacError) and "stopped unexpectedly" in errors[0].message
    assert helpers.read("a.txt", doc, []).sections[0].text == "Short text for a fresh helper."


def test_close_ends_work_in_progress_at_once(helpers, tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("Warm.")
    helpers.read("a.txt", doc, [])
    errors = []
    caller = threading.Thread(target=lambda: errors.append(_call_error(helpers, _busy, str(tmp_path / "busy"))))
    caller.start()
    _wait_for(tmp_path / "busy")
    started = time.monotonic()
    helpers.close()
    caller.join(10)
    assert isinstance(errors[0], HelpersStopped) and time.monotonic() - started < 5
    with pytest.raises(HelpersStopped):
        helpers.read("a.txt", doc, [])


def _openmp_threads() -> str | None:
    return os.environ.get("OMP_NUM_THREADS")


def _busy(marker: str) -> None:
    """Runs in a helper: says it has started, then works for a minute."""
    Path(marker).touch()
    time.sleep(60)


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the helper never started the call"
        time.sleep(0.05)


def _call_error(helpers: ProcessHelpers, fn, *args) -> BaseException | None:
    try:
        helpers._call(fn, *args)
    except BaseException as exc:  # noqa: BLE001 - the test looks at what came back
        return exc
    return None
