"""Reading burned captions back: frames out of a video, lines OCR'd with tesseract.

Used by ``test_render_ocr.py``.  Only Pillow, numpy, ffmpeg (the one captioner
burns with) and the ``tesseract`` command (with its ``ara`` data) are needed.
Tesseract's Arabic model returns text in logical order, so what it reads can be
compared character by character with the logical text captioner was given.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from captioner.burn import ffmpeg_exe

HARAKAT = frozenset(chr(c) for c in range(0x064B, 0x0653)) | {"\u0670"}
BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
TATWEEL = "\u0640"
# Neutral end punctuation: its place follows the paragraph's base direction, so an
# LTR base (ASS Encoding=1) moves it to the right-hand side, the start of an Arabic line.
NEUTRAL_END = "!."
# Tesseract sometimes reads "!" and "." as look-alikes; these count as the same mark.
_PUNCT_READINGS = {"!": "!|¡", ".": ".,،٠·"}


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None and "ara" in tesseract_langs()


def tesseract_langs() -> set[str]:
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {line.strip() for line in out.splitlines()[1:] if line.strip()}


# --- text comparison ---------------------------------------------------------------


def ocr_normalise(text: str) -> str:
    """Text as compared: NFC, no white space, no harakat, tatweel or directional controls.

    Tesseract's Arabic model drops most harakat and its word spacing is
    unreliable, so neither counts; every letter, digit and punctuation mark does.
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and ch not in HARAKAT and ch not in BIDI_CONTROLS and ch != TATWEEL)


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


def punctuation_at_logical_end(reference: str, ocr_text: str) -> bool | None:
    """For a line that ends in neutral punctuation: does the OCR text end with it, and not start with it?

    ``None`` when the reference does not end in ``!`` or ``.`` (nothing to check).
    """
    ref = ocr_normalise(reference)
    if not ref or ref[-1] not in NEUTRAL_END:
        return None
    hyp = ocr_normalise(ocr_text)
    if not hyp:
        return False
    readings = _PUNCT_READINGS[ref[-1]]
    return hyp[-1] in readings and hyp[0] not in readings


# --- frames and lines ----------------------------------------------------------------


def make_video(path: Path, seconds: float, *, source: str = "color=c=0x336699", audio: bool = True, fps: int = 10) -> Path:
    """A short 1080x1920 test clip: a lavfi video source (and a sine tone)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin"]
    sep = ":" if "=" in source else "="
    cmd += ["-f", "lavfi", "-i", f"{source}{sep}s=1080x1920:r={fps}:d={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=d={seconds}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        cmd += ["-c:a", "aac", "-shortest"]
    cmd += ["-y", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def extract_frames(video: Path, times: Sequence[float]) -> list[Image.Image]:
    """One RGB frame per time (seconds), decoded by ffmpeg."""
    frames = []
    with tempfile.TemporaryDirectory(prefix="ocr-frames-") as tmp:
        for k, t in enumerate(times):
            out = Path(tmp) / f"frame{k}.png"
            cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", f"{t:.3f}", "-i", str(video)]
            subprocess.run(cmd + ["-frames:v", "1", "-y", str(out)], check=True, capture_output=True)
            with Image.open(out) as im:
                frames.append(im.convert("RGB"))
    return frames


def line_image(frame: Image.Image, box: tuple[int, int, int, int], *, scale: float = 1.0, threshold: int = 160) -> Image.Image:
    """One caption line cropped at its box, as dark text on white for tesseract.

    The text is white on a 75% black box, so bright pixels are text whatever the
    background shows through; they are thresholded, inverted and given a white margin.
    """
    left, top, right, bottom = box
    grey = np.asarray(frame.crop((left, top, right, bottom)).convert("L"), dtype=np.uint8)
    ink = grey >= threshold
    page = np.where(ink, 0, 255).astype(np.uint8)
    margin = 20
    page = np.pad(page, margin, constant_values=255)
    img = Image.fromarray(page, mode="L")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    return img


def ocr_line(img: Image.Image, *, lang: str = "ara", psm: int = 7) -> str:
    """Tesseract's reading of a single-line image."""
    with tempfile.TemporaryDirectory(prefix="ocr-line-") as tmp:
        path = Path(tmp) / "line.png"
        img.save(path)
        out = subprocess.run(
            ["tesseract", str(path), "-", "-l", lang, "--psm", str(psm)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return " ".join(out.split())


@dataclass(frozen=True)
class LineReading:
    reference: str  # the logical-order line captioner was given
    ocr: str  # what tesseract read
    cer: float
    punctuation_ok: bool | None  # None: the line does not end in neutral punctuation

    @property
    def passed(self) -> bool:
        return self.punctuation_ok is not False


def read_line(frame: Image.Image, reference: str, box: tuple[int, int, int, int], **kw) -> LineReading:
    text = ocr_line(line_image(frame, box, **kw))
    return LineReading(reference, text, cer(reference, text), punctuation_at_logical_end(reference, text))
