"""Laying cues out as the ASS script that libass burns.

Each line is its own positioned event, so captioner, not the font's line gap,
decides the line pitch (Noto Sans Arabic's winAscent + winDescent is 2.17 em;
libass would stack lines that far apart, rtl-and-peers L6).  The background is
one vector drawing per cue on a lower layer: a rectangle per line, 0.5 em
padding at the sides, no gap between lines, tall enough for every mark the
line carries (a ``BorderStyle=3`` box is sized by the font and lets tanwin
poke out, L7).  Widths come from HarfBuzz with the same font libass uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pysubs2

from .cues import Cue
from .style import STYLE_NAME, CaptionStyle, ass_colour
from .text import is_rtl_text, rtl_mark

_MARK_PAD_EM = 0.12  # clearance between the highest/lowest mark and the box edge
_NOMINAL_ABOVE_EM = 0.95
_NOMINAL_BELOW_EM = 0.50


@dataclass(frozen=True)
class LineBox:
    """Where one caption line and its background box land, in frame pixels."""

    text: str
    x: float  # horizontal centre of the text
    baseline: float
    box: tuple[int, int, int, int]  # left, top, right, bottom


def ass_escape(text: str) -> str:
    # Braces open override blocks and backslashes start escapes (\N, \h) in ASS text.
    return text.replace("\\", "\uff3c").replace("{", "\uff5b").replace("}", "\uff5d")


# Fully vocalised words with marks above and below: the tallest lines a caption carries.
_TALL_REFERENCE = "لِّلْمُسْتَقْبَلِ إِنَّ شُكْرًا ﷺ"


def _line_metrics(lines: Sequence[str], style: CaptionStyle, m) -> tuple[float, float]:
    """(space above the baseline, space below it) of each line of a cue: the pitch is their sum."""
    em = style.em
    extents = [m.ink_extent(line) for line in lines]
    above = max(_NOMINAL_ABOVE_EM * em, max(top for top, _ in extents) + _MARK_PAD_EM * em)
    below = max(_NOMINAL_BELOW_EM * em, max(bottom for _, bottom in extents) + _MARK_PAD_EM * em)
    extra = max(0.0, style.preset.line_pitch_em * em - (above + below))
    return above + extra / 2, below + extra / 2


def nominal_pitch(style: CaptionStyle) -> float:
    """A line pitch no caption line exceeds in practice (marks above and below included)."""
    above, below = _line_metrics([_TALL_REFERENCE], style, style.measurer())
    return above + below


def layout_cue(cue: Cue, style: CaptionStyle, measurer=None) -> list[LineBox]:
    m = measurer or style.measurer()
    g, p, em = style.geometry, style.preset, style.em
    above, below = _line_metrics(cue.lines, style, m)
    pitch = above + below
    pad = p.box_padding_em * em
    boxes = []
    n = len(cue.lines)
    for k, line in enumerate(cue.lines):
        box_bottom = g.bottom - (n - 1 - k) * pitch
        half = m.width(line) / 2 + pad
        left = max(g.left, round(g.centre_x - half))
        right = min(g.right, round(g.centre_x + half))
        boxes.append(
            LineBox(line, g.centre_x, box_bottom - below, (left, round(box_bottom - pitch), right, round(box_bottom)))
        )
    return boxes


def cue_words(cue: Cue) -> list[tuple[int, str]]:
    """The cue's words in reading order, as (line number, word)."""
    return [(k, word) for k, line in enumerate(cue.lines) for word in line.split(" ") if word]


def _line_text(line: str, first_word: int, inked: Sequence[bool] | None) -> str:
    if inked is None:
        return ass_escape(line)
    # One run per word, each with its own alpha.  The runs are the same whichever
    # word is inked, so the layout is too; with Encoding=-1 libass lays the runs
    # out as one right-to-left paragraph (whole-text layout, rtl-and-peers L8).
    words = [w for w in line.split(" ") if w]
    return " ".join(
        f"{{\\1a&H{'00' if inked[first_word + i] else 'FF'}&}}{ass_escape(w)}" for i, w in enumerate(words)
    )


def burn_script(
    cues: Sequence[Cue],
    style: CaptionStyle,
    *,
    boxes: bool = True,
    times: Sequence[tuple[float, float]] | None = None,
    inked: Sequence[Sequence[bool] | None] | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> pysubs2.SSAFile:
    """The ASS script of the burned captions: positioned lines over per-line boxes.

    ``boxes=False`` leaves the boxes out (the caption track draws them itself);
    ``times`` replaces the cues' own in- and out-times; ``inked`` gives, per cue,
    which of its words (``cue_words`` order) leave ink: the others are laid out
    but fully transparent, which is how the caption track finds the pixels of
    the word being spoken.  ``region`` (left, top, width, height) makes the
    script's canvas that part of the frame only, so libass draws no more pixels
    than the captions cover.
    """
    subs = pysubs2.SSAFile()
    style.apply_to(subs)
    dx, dy = 0, 0
    if region is not None:
        dx, dy = region[0], region[1]
        subs.info["PlayResX"], subs.info["PlayResY"] = str(region[2]), str(region[3])
    caption = subs.styles[STYLE_NAME]
    caption.borderstyle, caption.outline, caption.shadow = 1, 0, 0
    caption.marginl = caption.marginr = caption.marginv = 0
    colour, alpha = ass_colour(style.preset.box_colour, style.preset.box_opacity)
    # libass puts the bottom of an \an2 line at baseline + winDescent.
    descent = style.em * style.font.win_descent / style.font.units_per_em
    m = style.measurer()
    for index, (cue, (start_s, end_s)) in enumerate(zip(cues, times or [(c.start, c.end) for c in cues])):
        mask = inked[index] if inked is not None else None
        start, end = int(round(start_s * 1000)), int(round(end_s * 1000))
        line_boxes = layout_cue(cue, style, m)
        if boxes:
            shape = " ".join(
                f"m {l - dx} {t - dy} l {r - dx} {t - dy} {r - dx} {b - dy} {l - dx} {b - dy}"
                for l, t, r, b in (lb.box for lb in line_boxes)
            )
            subs.append(
                pysubs2.SSAEvent(
                    start=start,
                    end=end,
                    layer=0,
                    style=STYLE_NAME,
                    text=f"{{\\an7\\pos(0,0)\\bord0\\shad0\\1c{colour}\\1a{alpha}\\p1}}{shape}",
                )
            )
        # libass picks each line's base direction from its first strong character
        # (Encoding=-1); an RLM makes an Arabic line that opens with "TikTok" RTL too.
        rtl = is_rtl_text(cue.text)
        first_word = 0
        for lb in line_boxes:
            text = _line_text(lb.text, first_word, mask)
            first_word += len([w for w in lb.text.split(" ") if w])
            subs.append(
                pysubs2.SSAEvent(
                    start=start,
                    end=end,
                    layer=1,
                    style=STYLE_NAME,
                    text=f"{{\\an2\\q2\\pos({lb.x - dx:.1f},{lb.baseline + descent - dy:.1f})}}{rtl_mark(lb.text, rtl)}{text}",
                )
            )
    return subs
