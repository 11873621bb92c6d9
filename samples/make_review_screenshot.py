"""Make ``samples/review-page.png``: the review page on the sample clip, as the README shows it.

Runs ``captioner review samples/createforgood-ar.mp4`` (transcribing the clip into a temporary folder),
opens the page in Debian's Chromium with Playwright, jumps to the first flagged word, and saves a
small palette PNG.  Needs the test extra (playwright) and /usr/bin/chromium.

    python samples/make_review_screenshot.py [--ui en|ar]
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ui", default="en", choices=("en", "ar"))
    parser.add_argument("-o", "--output", default=str(HERE / "review-page.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "captioner", "review", str(HERE / "createforgood-ar.mp4"), "-o",
             str(Path(tmp) / "createforgood-ar.captioned.mp4"), "--ui", args.ui, "--no-browser", "-q"],
            stdout=subprocess.PIPE, text=True)
        try:
            url = None
            for line in proc.stdout:
                match = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
                if match:
                    url = match.group(0)
                    break
            if url is None:
                raise SystemExit("captioner review printed no URL")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1100, "height": 700})
                page.goto(url)
                page.wait_for_selector("body[data-ready=true]")
                page.keyboard.press("Alt+KeyN")
                page.wait_for_selector("#caption:not([hidden])")
                time.sleep(1.0)  # the video frame at the flagged word
                shot = Path(tmp) / "page.png"
                page.screenshot(path=str(shot))
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
        image = Image.open(shot).convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        image.save(args.output, optimize=True)
    print(f"wrote {args.output} ({Path(args.output).stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
