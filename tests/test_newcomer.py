"""A newcomer's first run, as the README's quick start says it: its commands, read from the README itself, run on
a small tagged collection with an album (paths put in place of ``~/Music`` and ``~/genre-library``), then the
page in real headless Chromium. The listener who signs up on a library filled from the command line is not an
admin: the page offers her no action the server would refuse and says how to become one; after the README's
``users admin`` command (and a reload) she may correct any track."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import soundfile as sf

from conftest import free_port, jazz_album, shared_path
from test_web_page import _offline_page, browser  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.xdist_group("library"), pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[list[str]]:
    """The README quick start's ``genrefuse`` commands, in order, without their comments."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```", 2)[1]
    return [shlex.split(line.split("  #", 1)[0]) for line in block.splitlines() if line.startswith("genrefuse ")]


def _collection(folder: Path) -> None:
    """Three jazz recordings tagged as one album, and two GTZAN clips as flac singles with artist and title."""
    from mutagen import File

    jazz_album(folder / "The Trio - Night Set")
    for genre in ("blues", "classical"):
        y, sr = sf.read(shared_path("gtzan-clips", genre, f"{genre}.00000.au"), dtype="float32")
        path = folder / f"{genre}.flac"
        sf.write(path, y, sr)
        f = File(path)
        f["artist"], f["title"] = "GTZAN", f"{genre} 0"
        f.save()


def test_the_quick_start_takes_a_newcomer_to_an_admin_on_the_page(browser, tmp_path):  # noqa: F811
    commands = quick_start()
    verbs = [c[1] for c in commands]
    assert verbs[:3] == ["predict", "ingest", "learn"] and verbs[-2:] == ["serve", "users"], verbs
    music, lib, port = tmp_path / "Music", tmp_path / "genre-library", free_port()
    _collection(music)
    names = {"~/Music": str(music), "~/genre-library": str(lib), "song.mp3": str(music / "blues.flac"),
             "12": "1", "radio.m3u8": str(tmp_path / "radio.m3u8"), "NAME": "newcomer"}

    def run(args: list[str]) -> subprocess.CompletedProcess:
        args = [names.get(a, a) for a in args]
        r = subprocess.run([sys.executable, "-m", "genrefuse.cli", *args[1:]], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, (args, r.stderr[-2000:])
        return r

    for args in commands[:-2]:
        if args[1] == "learn":            # optional in the README: needs the [train] extra; tested on its own
            continue
        run(args)
    assert (tmp_path / "radio.m3u8").is_file() and len(list(lib.glob("*/*.mp3"))) == 3
    serve = [names.get(a, a) for a in commands[-2]]
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "genrefuse.cli", *serve[1:], "--port", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(0.5)
        page, foreign = _offline_page(browser, url)
        page.goto(url + "/")
        page.wait_for_selector("#track-list li[data-id]")
        assert "Sign in to correct genres" in page.inner_text("#role-hint")
        assert page.locator("#track-list button.wrong").count() == 0
        page.fill("#user-name", "newcomer")
        page.click("#user-form button[type=submit]")
        page.wait_for_selector("#signed-in:not([hidden])")
        hint = page.inner_text("#role-hint")
        assert "genrefuse users admin newcomer --library" in hint, hint        # how to become admin, said
        tracks = page.locator("#track-list li[data-id]").count()
        assert tracks == 5
        # nothing offered that the server would refuse: the tracks came in from the command line
        assert page.locator("#track-list button.wrong").count() == 0
        assert page.locator("#track-list button.remove").count() == 0
        assert page.locator("#review-list button").count() == 0
        assert re.search(r"\b403\b", (tmp_path / "serve.log").read_text()) is None
        # the README's next command, then a reload: an admin, who may correct any track
        said = run(commands[-1]).stdout
        assert "newcomer" in said and "now an admin" in said
        page.reload()
        page.wait_for_selector("#role-hint:has-text('You are an admin')")
        page.wait_for_selector("#track-list button.wrong")
        assert page.locator("#track-list button.wrong").count() == tracks
        item = page.locator("#track-list li:has-text('blues 0')")
        item.locator("button.wrong").click()
        item.locator("select").select_option("blues")
        item.locator("button.save").click()
        page.wait_for_selector("#library-status:has-text('filed under blues')")
        assert foreign == []
        said = run([*commands[-1], "--revoke"]).stdout                 # and back, when the owner says so
        assert "a plain listener again" in said
        token = page.evaluate("JSON.parse(localStorage.getItem('genrefuse-users')).newcomer")
        me = httpx.get(url + "/api/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["admin"] is False
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
