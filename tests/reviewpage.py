"""Helpers for the review page's tests: a clip with flagged words, the server as a real process, a browser.

The server runs as ``python -m captioner review ... --no-browser``; the test
reads the URL it prints and stops it with SIGINT, as Ctrl-C would, checking
that it exits cleanly.  The browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import conftest
from captioner.cues import Cue, Transcript, Word
from captioner.pipeline import write_subtitles
from captioner.styles.presets import get_preset
from captioner.styles.style import CaptionStyle

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
URL_RE = re.compile(r"(http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+))")

# The clip's captions, as the recogniser and its review flags left them (probability, and the reasons when flagged).
# Gaps of 0.07 s: a little over 2 frames, so the captions break no rule until a test makes them.
CUES = [
    (0.2, 2.0, ("مرحبا بكم في رحلة الخير",), [0.95, 0.9, 0.97, (0.31, "low-probability", "rare-word"), 0.7]),
    (2.07, 4.07, ("نريد أن يصل صوتنا",), [0.9, 0.93, (0.22, "low-probability"), 0.8]),
    (4.14, 5.8, ("إلى الجميع",), [0.9, 0.92]),
]
FLAGGED = ["رحلة", "يصل"]
REASONS = ["low confidence, rare word", "low confidence"]


def clip_cues() -> tuple[list[Cue], Transcript]:
    cues, words = [], []
    for start, end, lines, probs in CUES:
        texts = [w for line in lines for w in line.split()]
        step = (end - start) / len(texts)
        cue_words = []
        for k, (text, p) in enumerate(zip(texts, probs)):
            p, *why = p if isinstance(p, tuple) else (p,)
            cue_words.append(Word(text, round(start + k * step, 3), round(start + (k + 1) * step, 3), p,
                                  review=bool(why), why=tuple(why)))
        words += cue_words
        cues.append(Cue(start, end, lines, tuple(cue_words)))
    return cues, Transcript("ar", 1.0, 6.0, tuple(words))


def make_clip(folder: Path, name: str = "clip.mp4", *, duration: float = 6.0) -> Path:
    """A 1080x1920 clip and the four sidecars ``caption`` would have written beside its default output."""
    folder.mkdir(parents=True, exist_ok=True)
    video = conftest.make_video(folder / name, duration=duration)
    style = CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)
    cues, transcript = clip_cues()
    for ext in (".srt", ".vtt", ".ass", ".json"):
        write_subtitles(video.with_name(f"{video.stem}.captioned{ext}"), cues, style, transcript)
    return video


@dataclass
class Server:
    url: str
    port: int
    token: str
    proc: subprocess.Popen
    stderr: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def review_server(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120.0):
    """Run ``captioner review ARGS --no-browser``; yield it once its URL is printed; Ctrl-C it after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "review", *args, "--no-browser"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        env={**os.environ, **(env or {})}, preexec_fn=conftest.interruptible,
    )
    lines: list[str] = []
    stderr: list[str] = []
    found = threading.Event()

    def read_stdout() -> None:
        for line in proc.stdout:
            lines.append(line)
            if URL_RE.search(line):
                found.set()

    def read_stderr() -> None:
        for line in proc.stderr:
            stderr.append(line)

    readers = [threading.Thread(target=read_stdout, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
    for r in readers:
        r.start()
    deadline = time.monotonic() + timeout
    while not found.is_set() and proc.poll() is None and time.monotonic() < deadline:
        found.wait(0.1)
    if not found.is_set():
        proc.kill()
        proc.wait()
        raise AssertionError(f"no URL from captioner review (exit {proc.returncode}): {''.join(stderr)[-2000:]}")
    match = URL_RE.search("".join(lines))
    server = Server(match.group(1), int(match.group(2)), match.group(3), proc, stderr)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("captioner review did not stop on Ctrl-C")
        for r in readers:
            r.join(5)
    text = "".join(stderr)
    assert "Traceback" not in text, text
    assert proc.returncode == 0, f"exit {proc.returncode}: {text[-2000:]}"
    assert "captioner review: stopped" in text


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_page(browser, url: str, *, viewport=(1280, 900)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    return page
