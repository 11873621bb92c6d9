"""Where libass really draws a caption line, so that its box encloses it.

captioner lays each line out centred on the advance widths HarfBuzz gives
(:mod:`.layout`) and asks libass to draw it there (``\\an2\\pos``).  For some
lines libass draws the ink well off that centre: with Noto Sans Arabic, a line
whose last letter is ``ض`` is drawn up to 0.8 em to the left (measured: ``ض``
alone 47 px, ``جدا تعرض`` 34 px at a 58 px em), so the end of the line left
its box, and in the caption track, cut to the band, it was cut off.  Pillow's
Raqm layout of the same font draws those lines centred.

So before a script is written, each distinct line is drawn once by libass on a
canvas as wide as the frame (one ffmpeg run for all of them, cached for the
process), the horizontal centre of its ink measured, and the line's ``\\pos``
moved by the difference: every line's ink is centred on its box.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pysubs2

from ..errors import CaptionerError
from ..styles.style import STYLE_NAME, CaptionStyle
from .ffmpeg import error_summary, ffmpeg_exe

_CACHE: dict[tuple, float] = {}
_INK = 64  # alpha (of 255) that counts as ink


def _key(style: CaptionStyle, text: str, scale: float) -> tuple:
    return (str(style.font_path), round(style.em, 3), style.geometry.width, text, round(scale, 4))


def ink_offsets(lines: Sequence[tuple[str, float]], style: CaptionStyle) -> dict[tuple[str, float], float]:
    """For each (event text, scale): how many pixels to move the line right so that libass's ink is centred
    where its ``\\pos`` is.  ``event text`` is the line as the script holds it (marks and escapes included)."""
    todo = sorted({(t, s) for t, s in lines if _key(style, t, s) not in _CACHE})
    if todo:
        for (text, scale), dx in zip(todo, _measure(todo, style)):
            _CACHE[_key(style, text, scale)] = dx
    return {(t, s): _CACHE[_key(style, t, s)] for t, s in lines}


def _measure(lines: Sequence[tuple[str, float]], style: CaptionStyle) -> list[float]:
    width = style.geometry.width + style.geometry.width % 2
    em = style.em
    height = int(em * 3) // 2 * 2
    baseline = em * 2.0
    descent = em * style.font.win_descent / style.font.units_per_em
    subs = pysubs2.SSAFile()
    style.apply_to(subs)
    subs.info["PlayResX"], subs.info["PlayResY"] = str(width), str(height)
    subs.info.pop("YCbCr Matrix", None)
    caption = subs.styles[STYLE_NAME]
    caption.borderstyle, caption.outline, caption.shadow = 1, 0, 0
    caption.marginl = caption.marginr = caption.marginv = 0
    for k, (text, scale) in enumerate(lines):
        size = f"\\fscx{scale * 100:.2f}\\fscy{scale * 100:.2f}" if scale < 1 else ""
        subs.append(pysubs2.SSAEvent(start=k * 1000, end=(k + 1) * 1000, style=STYLE_NAME,
                                     text=f"{{\\an2\\q2{size}\\pos({width / 2:.1f},{baseline + descent * scale:.1f})}}{text}"))
    frame_bytes = width * height * 4
    with tempfile.TemporaryDirectory(prefix="captioner-centre-") as tmp:
        work = Path(tmp)
        (work / "fonts").mkdir()
        shutil.copyfile(style.font_path, work / "fonts" / f"caption{style.font_path.suffix}")
        subs.save(str(work / "lines.ass"), encoding="utf-8")
        command = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", f"color=c=black@0:s={width}x{height}:r=1:d={len(lines)},format=rgba",
            "-vf", "ass=filename=lines.ass:fontsdir=fonts:shaping=complex:alpha=1",
            "-frames:v", str(len(lines)), "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1",
        ]
        proc = subprocess.run(command, cwd=work, capture_output=True)
    if proc.returncode != 0 or len(proc.stdout) != frame_bytes * len(lines):
        raise CaptionerError(f"measuring caption lines failed: {error_summary(proc.stderr.decode('utf-8', 'replace'), proc.returncode)}")
    frames = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(len(lines), height, width, 4)
    offsets = []
    for frame in frames:
        cols = np.flatnonzero((frame[..., 3] >= _INK).any(axis=0))
        offsets.append(0.0 if not len(cols) else width / 2 - (cols[0] + cols[-1] + 1) / 2)
    return offsets
