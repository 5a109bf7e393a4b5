"""The web page in real headless Chromium (Debian's chromium, driven by Playwright)."""
import os
import shutil

import pytest

from conftest import Server

pytestmark = pytest.mark.xdist_group("library")

CHROMIUM = os.environ.get("GENREFUSE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def test_upload_see_genre_and_recommendation(browser, table_model, train_dir, tmp_path):
    srv = Server(model=table_model, library=tmp_path / "lib")
    try:
        page = browser.new_page()
        page.goto(srv.url + "/")
        page.wait_for_selector("#genre-list .chip")
        clip = train_dir / "chiptune" / "chiptune.00009.wav"
        page.set_input_files("#file-input", str(clip))
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        genre = page.inner_text("#result-genre")
        assert genre in ("ambient", "chiptune", "doom", "dub", "swing", "techno")
        assert page.locator("#bars .bar").count() == 6
        assert page.inner_text("#upload-status") == "Stored in the library."
        assert "% confident" in page.inner_text("#result-confidence")
        # the library lists it under its genre
        page.wait_for_selector(f"#track-list li:has-text('{clip.name}')")
        # a listener who likes that genre gets it recommended
        page.fill("#user-name", "dana")
        page.check(f"#like-boxes input[value='{genre}']")
        page.click("#user-form button[type=submit]")
        page.wait_for_selector(f"#rec-list li:has-text('{clip.name}')")
        assert f"because: {genre}" in page.inner_text("#rec-list")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        if os.environ.get("GENREFUSE_SCREENSHOT"):
            shutil.copy(tmp_path / "page.png", os.environ["GENREFUSE_SCREENSHOT"])
        # like it: it leaves the recommendations
        page.click(f"#rec-list li:has-text('{clip.name}') button.like")
        page.wait_for_selector(f"#rec-list li:has-text('{clip.name}')", state="detached")
    finally:
        srv.stop()
