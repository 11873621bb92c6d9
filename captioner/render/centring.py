"""Where libass really draws a caption line, so that its box encloses it.

captioner lays each line out centred on the advance widths HarfBuzz gives
(:mod:`.layout`) and asks libass to draw it there (``\\an2\\pos``).  libass
draws some lines well off that centre: with Noto Sans Arabic, lines whose
leftmost glyph is a dot or mark with no advance of its own (a line ending in
``ض``, ``ت``, ``ن``, ``ي``...) move left, ``ض`` alone by 57 px and ``جدا تعرض`` by
34 px at a 58 px em, so the end of the line left its box, and in the caption
track, cut to the band, it was cut off.  Pillow's Raqm layout of the same font
draws them centred.  Measured on 300 lines of the shared transcripts: every
line libass moved by more than 12 px has such a leftmost glyph
(:func:`needs_measuring`); the others are within 12 px of centre (their ink is
simply not symmetric about its advance), well inside the 0.5 em padding.

Two ways to put them back, one for each kind of output:

- the caption track (:mod:`.track`) draws on a canvas wider than its region,
  measures each such line's ink, and moves those pixels onto the box's centre
  (no second libass pass: +0.07 s of CPU for a 60 s clip);
- a script others will draw (the ASS sidecar) gets ``\\pos`` moved by
  :func:`ink_offsets`, which draws each such line once with libass on a canvas
  wider than it (one ffmpeg run for all of them, cached for the process).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pysubs2

from ..errors import CaptionerError
from ..processes import child_options
from ..styles.style import STYLE_NAME, CaptionStyle
from ..text.bidi import RLM
from .ffmpeg import error_summary, ffmpeg_exe

_CACHE: dict[tuple, float] = {}
_INK = 64  # alpha (of 255) that counts as ink


def _key(style: CaptionStyle, text: str, scale: float) -> tuple:
    return (str(style.font_path), round(style.em, 3), style.geometry.width, text, round(scale, 4))


def needs_measuring(text: str, style: CaptionStyle, measurer=None) -> bool:
    """Lines libass may draw off centre: the leftmost glyph has no advance (measured: every line that
    libass moved by more than 2 px does; no other did), or left-to-right text that bidi reorders."""
    m = measurer or style.measurer()
    # The text without override tags ({\1a...}) or the escapes that keep braces as text (\{ \}).
    plain = re.sub(r"(?<!\\)\{\\[^}]*\}", "", text).replace("\\{", "{").replace("\\}", "}").replace(RLM, "")
    return m.opens_with_mark(plain) or any(unicodedata.bidirectional(ch) == "L" for ch in plain)


def ink_offsets(lines: Sequence[tuple[str, float]], style: CaptionStyle) -> dict[tuple[str, float], float]:
    """For each (event text, scale): how many pixels to move the line right so that libass's ink is centred
    where its ``\\pos`` is.  ``event text`` is the line as the script holds it (marks and escapes included)."""
    m = style.measurer()
    lines = [(t, s) for t, s in lines if needs_measuring(t, style, m)]
    todo = sorted({(t, s) for t, s in lines if _key(style, t, s) not in _CACHE})
    if todo:
        for (text, scale), dx in zip(todo, _measure(todo, style)):
            _CACHE[_key(style, text, scale)] = dx
    return {(t, s): _CACHE[_key(style, t, s)] for t, s in lines}


def _measure(lines: Sequence[tuple[str, float]], style: CaptionStyle) -> list[float]:
    em = style.em
    m = style.measurer()
    # A canvas wide enough for the widest line and 2 em either side (libass strays less than 1 em), the
    # lines stacked in rows 3 em apart, as many to a frame as fit in 2000 px: one ffmpeg run, few frames.
    width = int(max(m.width(t.replace(RLM, "")) * s for t, s in lines) + 4 * em) // 2 * 2 + 2
    row = int(3 * em) + 1
    per_frame = max(1, 2000 // row)
    frames = -(-len(lines) // per_frame)
    height = row * min(per_frame, len(lines)) + row % 2 * 0
    height += height % 2
    baseline = em * 1.9
    descent = em * style.font.win_descent / style.font.units_per_em
    subs = pysubs2.SSAFile()
    style.apply_to(subs)
    subs.info["PlayResX"], subs.info["PlayResY"] = str(width), str(height)
    subs.info.pop("YCbCr Matrix", None)
    caption = subs.styles[STYLE_NAME]
    caption.borderstyle, caption.outline, caption.shadow = 1, 0, 0
    caption.marginl = caption.marginr = caption.marginv = 0
    for k, (text, scale) in enumerate(lines):
        frame, slot = divmod(k, per_frame)
        size = f"\\fscx{scale * 100:.2f}\\fscy{scale * 100:.2f}" if scale < 1 else ""
        y = slot * row + baseline + descent * scale
        subs.append(pysubs2.SSAEvent(start=frame * 1000, end=(frame + 1) * 1000, style=STYLE_NAME,
                                     text=f"{{\\an2\\q2{size}\\pos({width / 2:.1f},{y:.1f})}}{text}"))
    frame_bytes = width * height * 4
    with tempfile.TemporaryDirectory(prefix="captioner-centre-") as tmp:
        work = Path(tmp)
        (work / "fonts").mkdir()
        shutil.copyfile(style.font_path, work / "fonts" / f"caption{style.font_path.suffix}")
        subs.save(str(work / "lines.ass"), encoding="utf-8")
        command = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", f"color=c=black@0:s={width}x{height}:r=1:d={frames},format=rgba",
            "-vf", "ass=filename=lines.ass:fontsdir=fonts:shaping=complex:alpha=1",
            "-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1",
        ]
        proc = subprocess.run(command, cwd=work, capture_output=True, stdin=subprocess.DEVNULL, **child_options())
    if proc.returncode != 0 or len(proc.stdout) != frame_bytes * frames:
        summary = error_summary(proc.stderr.decode("utf-8", "replace"), proc.returncode)
        raise CaptionerError(f"measuring caption lines failed: {summary}")
    alpha = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(frames, height, width, 4)[..., 3]
    offsets = []
    for k in range(len(lines)):
        frame, slot = divmod(k, per_frame)
        cols = np.flatnonzero((alpha[frame, slot * row : (slot + 1) * row] >= _INK).any(axis=0))
        offsets.append(0.0 if not len(cols) else width / 2 - (cols[0] + cols[-1] + 1) / 2)
    return offsets
