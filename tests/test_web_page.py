"""The web page in real headless Chromium (Debian's chromium, driven by Playwright): a listener signs up,
uploads (progress, genre, confidence), likes and skips with confirmation, corrects a genre, signs out and
back in by pasting a token; a failed upload clears the previous answer. Requests to any other host are
blocked and counted, so the page (and /docs) must work offline."""
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


def _offline_page(browser, base_url):
    """A page whose requests to anything but ``base_url`` are aborted and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    foreign = []

    def route(r):
        if r.request.url.startswith(base_url):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page, foreign


def test_the_page_end_to_end(browser, table_model, train_dir, tmp_path):
    srv = Server(model=table_model, library=tmp_path / "lib")
    try:
        page, foreign = _offline_page(browser, srv.url)
        page.goto(srv.url + "/")
        page.wait_for_selector("#genre-list .chip")
        assert page.inner_text("#genre-list .chip >> nth=0").startswith("all (")
        assert "Sign in" in page.inner_text("#upload-status")              # uploads need a listener
        assert "ambient" in page.inner_text("#model-line") and "-" not in page.inner_text("#model-line").split(":")[0]
        # sign up as a listener who likes every genre
        page.fill("#user-name", "dana")
        for box in page.locator("#like-boxes input").all():
            box.check()
        page.click("#user-form button[type=submit]")
        page.wait_for_selector("#signed-in:not([hidden])")
        assert page.inner_text("#me-name") == "dana"
        page.wait_for_selector("#new-token:not([hidden])")             # shown once, where she now looks
        token = page.inner_text("#token-value")
        assert len(token) > 20 and token not in page.inner_text("#user-status")
        page.click("#copy-token")
        page.wait_for_selector("#copy-status:has-text('c')")
        # upload: genre with confidence and bars
        clip = train_dir / "chiptune" / "chiptune.00009.wav"
        page.set_input_files("#file-input", str(clip))
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        genre = page.inner_text("#result-genre")
        assert genre in ("ambient", "chiptune", "doom", "dub", "swing", "techno")
        assert page.locator("#bars .bar").count() == 6
        assert page.inner_text("#upload-status") == "Stored in the library."
        assert "% confident" in page.inner_text("#result-confidence")
        page.wait_for_selector(f"#track-list li:has-text('{clip.name}')")
        # recommended, with a reason; like it: confirmed, and it moves to the liked list
        page.wait_for_selector(f"#rec-list li:has-text('{clip.name}')")
        assert f"because: {genre}" in page.inner_text("#rec-list")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        if os.environ.get("GENREFUSE_SCREENSHOT"):
            shutil.copy(tmp_path / "page.png", os.environ["GENREFUSE_SCREENSHOT"])
        # a failed upload clears the previous answer and says what went wrong
        bad = tmp_path / "notes.wav"
        bad.write_text("not music")
        page.set_input_files("#file-input", str(bad))
        page.wait_for_selector("#upload-status.error")
        assert "notes.wav" in page.inner_text("#upload-status") and page.locator("#result").is_hidden()
        page.click(f"#rec-list li:has-text('{clip.name}') button.like")
        page.wait_for_selector(f"#rec-list li:has-text('{clip.name}')", state="detached")
        assert page.inner_text("#rec-status") == f"Liked {clip.name}."
        page.wait_for_selector(f"#liked-list li:has-text('{clip.name}')")
        # correct its genre: the library shows it, confirmed, under the new one
        other = next(g for g in ("ambient", "doom", "techno") if g != genre)
        item = page.locator(f"#track-list li:has-text('{clip.name}')")
        item.locator("button.wrong").click()
        item.locator("select").select_option(other)
        item.locator("button.save").click()
        page.wait_for_selector(f"#library-status:has-text('filed under {other}')")
        page.wait_for_selector(f"#track-list li:has-text('{clip.name}') .tag.confirmed:has-text('{other}')")
        page.click(f"#genre-list .chip:has-text('{other} (1)')")
        page.wait_for_selector(f"#track-list li:has-text('{clip.name}')")
        # sign out (the token is no longer on screen), then back in by pasting it
        page.click("#sign-out")
        assert page.locator("#new-token").is_hidden() and token not in page.inner_text("body")
        page.wait_for_selector("#token-form:visible")
        page.fill("#token-input", "not-a-token")
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("#token-status.error")
        page.fill("#token-input", token)
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("#signed-in:not([hidden])")
        page.wait_for_selector(f"#liked-list li:has-text('{clip.name}')")
        assert foreign == []
        # the API docs load from this server alone
        docs, foreign_docs = _offline_page(browser, srv.url)
        docs.goto(srv.url + "/docs")
        docs.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        assert foreign_docs == []
    finally:
        srv.stop()


def test_the_page_answers_unknown_queues_it_for_review_and_takes_a_new_genre(browser, table_model, tmp_path):
    import numpy as np

    from conftest import write

    rng = np.random.default_rng(0)
    noises = [write(tmp_path / f"hiss{i}.wav", (0.3 * rng.standard_normal(6 * 22050)).astype(np.float32))
              for i in range(2)]
    srv = Server(model=table_model, library=tmp_path / "lib")
    try:
        page, foreign = _offline_page(browser, srv.url)
        page.goto(srv.url + "/")
        page.wait_for_selector("#review-list li:has-text('Nothing to review.')")
        page.fill("#user-name", "erin")
        page.click("#user-form button[type=submit]")
        page.wait_for_selector("#signed-in:not([hidden])")
        # noise is none of the model's genres: the answer says so, and the track waits for a person
        page.set_input_files("#file-input", str(noises[0]))
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        assert page.inner_text("#result-genre") == "none of these (unknown)"
        assert "unlike every genre the model knows" in page.inner_text("#result-confidence")
        page.wait_for_selector("#review-list li[data-reason=unknown]:has-text('hiss0')")
        assert "unknown (closest" in page.inner_text("#track-list li:has-text('hiss0') .tag")
        # "wrong genre?" -> "a new genre…": the library gains it, the queue lets the track go
        item = page.locator("#track-list li:has-text('hiss0')")
        item.locator("button.wrong").click()
        item.locator("select").select_option(label="a new genre…")
        item.locator("input.new-genre").fill("Field Recording")
        item.locator("button.save").click()
        page.wait_for_selector("#library-status:has-text('filed under field recording')")
        page.wait_for_selector("#genre-list .chip:has-text('field recording (1)')")
        page.wait_for_selector("#review-list li:has-text('Nothing to review.')")
        # one click in the queue takes the model's suggestion
        page.set_input_files("#file-input", str(noises[1]))
        page.wait_for_selector("#review-list li:has-text('hiss1')", timeout=60_000)
        suggested = page.inner_text("#review-list li:has-text('hiss1') button.accept").removeprefix("make it ")
        page.click("#review-list li:has-text('hiss1') button.accept")
        page.wait_for_selector(f"#review-status:has-text('filed under {suggested}')")
        page.wait_for_selector("#review-list li:has-text('Nothing to review.')")
        assert foreign == []
    finally:
        srv.stop()
