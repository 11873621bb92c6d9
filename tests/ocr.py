"""Reading burned captions back: frames out of a video, each line OCR'd with tesseract.

Helpers for ``test_render_ocr.py``.  Needs Pillow, numpy, PyAV (a captioner
dependency) and the ``tesseract`` command with its ``ara`` data.  Tesseract's
Arabic model returns text in logical order, so what it reads is compared
character by character with the logical text captioner was given, and "the
final ``!`` is at the logical end" becomes "the reading ends with ``!``".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

HARAKAT = frozenset(chr(c) for c in range(0x064B, 0x0653)) | {"\u0670"}
BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
TATWEEL = "\u0640"
# Neutral end punctuation (bidi classes ON and CS): where it lands follows the
# paragraph's base direction, so an LTR base (ASS Encoding=1) puts it at the
# right-hand side of an Arabic line, where the line starts.  "؟" is a strong
# Arabic letter (AL) and stays in place either way.
NEUTRAL_END = "!."
# What tesseract may print for the mark itself, at either end of the line.
PUNCT_READINGS = {"!": "!¡|ǃ", ".": ".·٠"}
_LATIN = re.compile("[A-Za-z]")

# Reader settings, calibrated on renders over flat, white and busy backgrounds:
# text brighter than THRESHOLD is ink (the box is 75% black, so even a white
# background shows through at luminance 64).  Tesseract's Arabic model reads
# Latin letters as digits ("TikTok" -> "111701"), so a line with Latin letters is
# read with ara+eng and upscaled, where the eng model reads it reliably.
THRESHOLD = 160
LATIN_SCALE = 2.0


def tesseract_langs() -> set[str]:
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {line.strip() for line in out.splitlines()[1:] if line.strip()}


# --- text comparison ---------------------------------------------------------------


def ocr_normalise(text: str) -> str:
    """Text as compared: NFKC, case-folded, no white space, harakat, tatweel or directional controls.

    Tesseract's word spacing and harakat are unreliable and Latin case (TIKTOK)
    says nothing about rendering, so none of them count; every letter, digit and
    punctuation mark does.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        ch for ch in text if not ch.isspace() and ch not in HARAKAT and ch not in BIDI_CONTROLS and ch != TATWEEL
    )


def levenshtein(a: Sequence, b: Sequence) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against the logical-order ``reference``."""
    ref, hyp = ocr_normalise(reference), ocr_normalise(hypothesis)
    if not ref:
        return float(bool(hyp))
    return levenshtein(ref, hyp) / len(ref)


def punctuation_at_logical_end(reference: str, reading: str) -> bool | None:
    """For a line ending in ``!`` or ``.``: does the reading end with that mark and not start with it?

    ``None`` when the reference does not end in neutral punctuation (nothing to check).
    """
    ref = ocr_normalise(reference)
    if not ref or ref[-1] not in NEUTRAL_END:
        return None
    hyp = ocr_normalise(reading)
    if not hyp:
        return False
    marks = PUNCT_READINGS[ref[-1]]
    return hyp[-1] in marks and hyp[0] not in marks


# --- video, frames and lines -----------------------------------------------------------


def extract_frames(video: Path, times: Sequence[float]) -> list[Image.Image]:
    """The first frame at or after each time (seconds, ascending), as RGB images.

    One decoding pass with PyAV (the libav that captioner probes with); the
    pixels are the same as ``ffmpeg -ss T -frames:v 1 out.png`` gives, at a
    fraction of the cost.
    """
    import av

    wanted = list(times)
    assert wanted == sorted(wanted), "times must be ascending"
    frames: list[Image.Image] = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            while len(frames) < len(wanted) and frame.time is not None and frame.time >= wanted[len(frames)] - 1e-6:
                frames.append(frame.to_image().convert("RGB"))
            if len(frames) == len(wanted):
                break
    if len(frames) != len(wanted):
        raise AssertionError(f"{video}: found {len(frames)} of {len(wanted)} frames at {wanted}")
    return frames


def line_image(
    frame: Image.Image, box: tuple[int, int, int, int], *, scale: float = 1.0, threshold: int = THRESHOLD
) -> Image.Image:
    """One caption line cropped at its box, as black text on white with a white margin.

    The text is white on a 75% black box, so bright pixels are text whatever
    the background shows through.
    """
    grey = np.asarray(frame.crop(box).convert("L"), dtype=np.uint8)
    page = np.pad(np.where(grey >= threshold, 0, 255).astype(np.uint8), 20, constant_values=255)
    img = Image.fromarray(page)  # uint8, 2-D: mode "L"
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    return img


def ocr_line(img: Image.Image, *, lang: str = "ara", psm: int = 7) -> str:
    """Tesseract's reading of a one-line image (``--psm 7``), white space collapsed."""
    with tempfile.TemporaryDirectory(prefix="captioner-ocr-") as tmp:
        path = Path(tmp) / "line.png"
        img.save(path)
        proc = subprocess.run(
            ["tesseract", str(path), "-", "-l", lang, "--psm", str(psm)],
            capture_output=True,
            text=True,
            # One thread per call: lines are read in parallel instead.
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    if proc.returncode != 0:
        raise AssertionError(f"tesseract failed: {proc.stderr.strip()}")
    return " ".join(proc.stdout.split())


@dataclass(frozen=True)
class LineReading:
    reference: str  # the logical-order line captioner was given
    reading: str  # what tesseract read
    cer: float
    punctuation_ok: bool | None  # None: the line does not end in neutral punctuation

    def __str__(self) -> str:
        punct = "" if self.punctuation_ok is None else f" punct_at_end={self.punctuation_ok}"
        return f"CER {self.cer:.3f}{punct} ref={self.reference!r} ocr={self.reading!r}"


def read_line(frame: Image.Image, reference: str, box: tuple[int, int, int, int]) -> LineReading:
    """The best of tesseract's readings of one line at a few scales.

    Tesseract's reading of the same correctly rendered line flips between
    perfect and empty (or reordered) with sub-pixel differences of
    anti-aliasing: Pillow's and libass's renders of one line, 1% apart in ink,
    read at CER 0.00 and 0.82 at one scale and the other way round at another.
    A rendering fault (isolated letters, a reversed line, punctuation at the
    wrong end) reads wrong at every scale, so the best reading judges the
    render, not the reader.  Reading stops at the first perfect one.
    """
    latin = bool(_LATIN.search(reference))
    scales = (LATIN_SCALE, 1.0, 1.5) if latin else (1.0, 1.5, LATIN_SCALE)
    best: LineReading | None = None
    # Line mode first; a one-word line that line mode reads as nothing gets word mode (--psm 8),
    # where a box edge can come back as "|", which no caption here contains.
    attempts = [(scale, 7) for scale in scales] + ([(1.0, 8), (1.5, 8)] if " " not in reference.strip() else [])
    for scale, psm in attempts:
        text = ocr_line(line_image(frame, box, scale=scale), lang="ara+eng" if latin else "ara", psm=psm)
        if psm == 8:
            text = text.replace("|", "").strip()
        reading = LineReading(reference, text, cer(reference, text), punctuation_at_logical_end(reference, text))
        if best is None or (reading.punctuation_ok is False, reading.cer) < (best.punctuation_ok is False, best.cer):
            best = reading
        if best.cer == 0 and best.punctuation_ok is not False:
            break
    return best


def read_lines(jobs: Sequence[tuple[Image.Image, str, tuple[int, int, int, int]]]) -> list[LineReading]:
    """``read_line`` over (frame, reference, box) triples, in parallel, results in order."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda job: read_line(*job), jobs))


def check_readings(readings: Sequence[LineReading], max_cer: float) -> list[str]:
    """Everything wrong with a render, one line per problem; empty when it reads back correctly."""
    problems = []
    for r in readings:
        if r.cer > max_cer:
            problems.append(f"CER {r.cer:.3f} > {max_cer}: {r}")
        if r.punctuation_ok is False:
            problems.append(f"final punctuation not at the logical end: {r}")
    return problems


def require_tesseract() -> None:
    """Skip when there is no tesseract at all; fail, saying what to install, when it lacks Arabic."""
    import pytest

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed")
    assert "ara" in tesseract_langs(), "tesseract has no Arabic data: install tesseract-ocr-ara"
