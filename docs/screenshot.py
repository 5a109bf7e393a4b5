"""Make the README's picture of the page (docs/page.png): the packaged model on real GTZAN clips.

Four of the shared clips are ingested into a fresh library through the CLI, `genrefuse serve` runs on
127.0.0.1, and headless Chromium signs up a listener and uploads the fifth clip, then photographs the page.

    python docs/screenshot.py [--clips ../shared/data/gtzan-clips] [--out docs/page.png]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import serving  # noqa: E402  (genrefuse serve on a free loopback port until it answers)


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=here.parent.parent / "shared" / "data" / "gtzan-clips")
    ap.add_argument("--out", type=Path, default=here / "page.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    clips = sorted(a.clips.glob("*/*.au"))
    if len(clips) < 2:
        sys.exit(f"no GTZAN clips under {a.clips} (see shared/data/README.md)")
    upload, rest = next(c for c in clips if c.parent.name == "country"), [c for c in clips if c.parent.name != "country"]
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        cli = [sys.executable, "-m", "genrefuse.cli"]
        subprocess.run([*cli, "ingest", *map(str, rest), "--library", str(lib)], check=True)
        with serving(lib) as (_, url):
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=a.chromium, headless=True,
                                            args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
                page.goto(url + "/")
                page.wait_for_selector("#like-boxes input")
                page.fill("#user-name", "ana")
                for g in ("blues", "classical", "country", "pop"):
                    page.check(f"#like-boxes input[value={g}]")
                page.click("#user-form button[type=submit]")
                page.wait_for_selector("#signed-in:not([hidden])")
                page.set_input_files("#file-input", str(upload))
                page.wait_for_selector("#result:not([hidden])", timeout=120_000)
                page.wait_for_selector("#rec-list li button.like")
                page.evaluate("document.getElementById('token-value').textContent = '(hidden in this picture)'")
                page.screenshot(path=str(a.out), full_page=True)
                browser.close()
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
