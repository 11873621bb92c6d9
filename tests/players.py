"""How players show a subtitle sidecar, rendered for real and read back by OCR.

Helpers for ``test_direction_marks.py``, ``test_sidecars.py`` and
``bench/direction_marks.py``.  Three kinds of player:

- ``libass-ltr``: libass with a left-to-right base direction, which is what
  players that convert SRT to ASS with a plain style get (ffmpeg's
  ``subtitles`` filter: its default style has ``Encoding=0``; tools built on it);
- ``libass-auto``: libass taking each line's direction from its first strong
  character (``Encoding=-1``, as mpv converts SRT);
- ``chromium``: a browser's own WebVTT rendering (Debian's Chromium driven by
  Playwright, the ``<track>`` of a ``<video>``).

Every player draws white text in the caption font over a dark frame; the text
lines are found in the frame and each is read by tesseract (``ocr.read_line``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

import ocr

SIZE = (540, 960)  # a 9:16 frame at half size: quick to render and to read
EM = 29  # px: the caption em at this size (58 at 1080x1920)
BACKGROUND = "0x303030"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PLAYERS = ("libass-ltr", "libass-auto", "chromium")


def caption_font() -> Path:
    from captioner.styles.fonts import package_font

    return package_font()


def ffmpeg() -> str:
    from captioner.render.ffmpeg import ffmpeg_exe

    return ffmpeg_exe()


def chromium_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).is_file()


def srt_text(lines: Sequence[str]) -> str:
    """One cue a second, cue k from k s to k+1 s, each with one line as given (marks and all)."""
    def stamp(s: int) -> str:
        return f"00:00:{s:02d},000"

    return "".join(f"{k + 1}\n{stamp(k)} --> {stamp(k + 1)}\n{line}\n\n" for k, line in enumerate(lines))


def vtt_text(lines: Sequence[str]) -> str:
    def stamp(s: int) -> str:
        return f"00:00:{s:02d}.000"

    # Off the frame's bottom edge, where a player's controls would be.
    return "WEBVTT\n\n" + "".join(f"{stamp(k)} --> {stamp(k + 1)} line:80%\n{line}\n\n" for k, line in enumerate(lines))


def render_libass(subs_text: str, count: int, *, base: str, suffix: str = ".srt") -> list[Image.Image]:
    """Frame k (at k s) of a dark clip with the file's captions drawn by ffmpeg's ``subtitles`` filter."""
    encoding = {"ltr": 1, "auto": -1}[base]
    # ffmpeg converts SRT to ASS on a 384x288 canvas: a Fontsize of em x 2.11 (Noto Sans Arabic's
    # winAscent + winDescent) x 288 / height gives the caption em.
    fontsize = round(EM * 2.11 * 288 / SIZE[1], 1)
    style = f"FontName=Noto Sans Arabic,FontSize={fontsize},Encoding={encoding},BorderStyle=1,Outline=0,Shadow=0"
    with tempfile.TemporaryDirectory(prefix="captioner-player-") as tmp:
        work = Path(tmp)
        (work / "fonts").mkdir()
        shutil.copyfile(caption_font(), work / "fonts" / "caption.ttf")
        (work / f"cues{suffix}").write_text(subs_text, encoding="utf-8")
        graph = f"subtitles=filename=cues{suffix}:fontsdir=fonts:force_style='{style}'"
        subprocess.run(
            [ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
             "-i", f"color=c={BACKGROUND}:s={SIZE[0]}x{SIZE[1]}:r=1:d={count}", "-vf", graph,
             "-frames:v", str(count), "frame%03d.png"],
            cwd=work, check=True,
        )
        return [Image.open(work / f"frame{k + 1:03d}.png").convert("RGB") for k in range(count)]


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
@font-face {{ font-family: "Caption"; src: url("caption.ttf"); }}
html, body {{ margin: 0; background: #000; }}
video {{ display: block; width: {w}px; height: {h}px; }}
video::cue {{ font-family: "Caption"; font-size: {em}px; line-height: 1.45; color: #fff; background: rgba(0,0,0,0.75); }}
</style></head><body>
<video id="v" src="clip.webm" muted preload="auto"><track id="t" kind="captions" src="cues.vtt" srclang="ar" default></video>
</body></html>
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Static files with byte ranges (a browser seeks a video only where the server serves ranges)."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return io.BytesIO(data[start : end + 1])

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()


@contextlib.contextmanager
def _serve(folder: Path):
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def render_chromium(vtt: str, times: Sequence[float]) -> list[Image.Image]:
    """Chromium's own rendering of a WebVTT track over a dark clip, one screenshot per time."""
    from playwright.sync_api import sync_playwright

    duration = int(max(times)) + 2
    with tempfile.TemporaryDirectory(prefix="captioner-chromium-") as tmp:
        work = Path(tmp)
        shutil.copyfile(caption_font(), work / "caption.ttf")
        (work / "cues.vtt").write_text(vtt, encoding="utf-8")
        subprocess.run(
            [ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
             "-i", f"color=c={BACKGROUND}:s={SIZE[0]}x{SIZE[1]}:r=5:d={duration}", "-c:v", "libvpx", "-b:v", "200k",
             "clip.webm"],
            cwd=work, check=True,
        )
        (work / "index.html").write_text(_PAGE.format(w=SIZE[0], h=SIZE[1], em=EM), encoding="utf-8")
        shots = []
        with _serve(work) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
                page.goto(f"{url}/index.html")
                page.evaluate(f"document.fonts.load('{EM}px Caption')")
                page.wait_for_function(
                    "() => { const v = document.getElementById('v'); const t = v.textTracks[0];"
                    f" return v.readyState >= 2 && t && t.cues && t.cues.length > 0 && document.fonts.check('{EM}px Caption'); }}",
                    timeout=20000,
                )
                page.evaluate("document.getElementById('v').textTracks[0].mode = 'showing'")
                for t in times:
                    page.evaluate("t => { document.getElementById('v').currentTime = t; }", t)
                    # The cue on screen is the one for this time (its box is redrawn on the next frames).
                    page.wait_for_function(
                        "t => { const v = document.getElementById('v'); const c = v.textTracks[0].activeCues;"
                        " return v.readyState >= 2 && !v.seeking && c && c.length > 0"
                        " && Array.from(c).every(x => x.startTime <= t && t < x.endTime); }",
                        arg=t, timeout=20000,
                    )
                    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
                    path = work / f"shot{len(shots)}.png"
                    page.locator("#v").screenshot(path=str(path))
                    shots.append(Image.open(path).convert("RGB"))
            finally:
                browser.close()
    return shots


def render(player: str, lines: Sequence[str]) -> list[Image.Image]:
    """One frame per line, each showing that line (marks and all) as ``player`` draws it."""
    if player == "chromium":
        return render_chromium(vtt_text(lines), [k + 0.5 for k in range(len(lines))])
    return render_libass(srt_text(lines), len(lines), base=player.split("-")[1])


def text_lines(frame: Image.Image, threshold: int = ocr.THRESHOLD) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) of the bright text lines in a frame, top to bottom."""
    grey = np.asarray(frame.convert("L"))
    ink = grey >= threshold
    rows = np.flatnonzero(ink.any(axis=1))
    if not len(rows):
        return []
    bands, start, prev = [], rows[0], rows[0]
    for r in rows[1:]:
        if r - prev > EM // 3:  # a gap between lines (harakat sit close to their letters)
            bands.append((start, prev))
            start = r
        prev = r
    bands.append((start, prev))
    boxes = []
    for top, bottom in bands:
        if bottom - top < EM // 4:
            continue  # a stray mark, not a line
        cols = np.flatnonzero(ink[top : bottom + 1].any(axis=0))
        boxes.append((max(0, cols[0] - 6), max(0, top - 6), cols[-1] + 7, bottom + 7))
    return boxes


def _line_box(frame: Image.Image):
    boxes = text_lines(frame)
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])) if boxes else None


def read_frame(frame: Image.Image, reference: str) -> ocr.LineReading:
    """The reading of the one text line a frame shows (the largest band of ink).

    Tesseract's ``ara`` model reads a Latin word at the right-hand (first) end of
    an Arabic line as digits; ``eng+ara`` reads it, so a line with Latin letters
    gets that too, and the best reading counts.
    """
    box = _line_box(frame)
    if box is None:
        return ocr.LineReading(reference, "", 1.0, ocr.punctuation_at_logical_end(reference, ""))
    best = ocr.read_line(frame, reference, box)
    if best.cer > 0 and re.search("[A-Za-z]", reference):
        for scale in (1.0, 1.5, 2.0):
            text = ocr.ocr_line(ocr.line_image(frame, box, scale=scale), lang="eng+ara")
            reading = ocr.LineReading(reference, text, ocr.cer(reference, text),
                                      ocr.punctuation_at_logical_end(reference, text))
            if (reading.punctuation_ok is False, reading.cer) < (best.punctuation_ok is False, best.cer):
                best = reading
    return best


def dash_side(frame: Image.Image) -> str | None:
    """Which end of the line a speaker dash is drawn at ("right" for a right-to-left line), if any:
    a flat blob of ink, set off by a space, at one end of the line (tesseract rarely reads it)."""
    box = _line_box(frame)
    if box is None:
        return None
    ink = np.asarray(frame.convert("L").crop(box)) >= ocr.THRESHOLD
    cols = np.flatnonzero(ink.any(axis=0))
    clusters, start, prev = [], cols[0], cols[0]
    for c in cols[1:]:
        if c - prev > 4:
            clusters.append((start, prev))
            start = c
        prev = c
    clusters.append((start, prev))
    for side, (a, b) in (("left", clusters[0]), ("right", clusters[-1])):
        rows = np.flatnonzero(ink[:, a : b + 1].any(axis=1))
        if len(clusters) > 1 and b - a <= EM * 0.6 and rows[-1] - rows[0] <= EM * 0.15:
            return side
    return None


def shows_correctly(frame: Image.Image, reference: str, max_cer: float = 0.15) -> tuple[bool, str]:
    """Whether the frame shows the line in logical order: it reads back with a low CER, its final
    ``!``/``.`` at the logical end, and a leading speaker dash at the right (the start of an Arabic line)."""
    if reference.startswith("- "):
        side = dash_side(frame)
        reading = read_frame(frame, reference[2:])
        ok = side == "right" and reading.cer <= max_cer and reading.punctuation_ok is not False
        return ok, f"dash at the {side}; {reading}"
    reading = read_frame(frame, reference)
    return reading.cer <= max_cer and reading.punctuation_ok is not False, str(reading)
