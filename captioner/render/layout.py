"""Where each caption line and its box land in the frame: the layout both renderers draw.

Each line is positioned on its own, so captioner, not the font's line gap,
decides the line pitch (Noto Sans Arabic's winAscent + winDescent is 2.17 em;
libass would stack lines that far apart, rtl-and-peers L6).  The background is
a rectangle per line: 0.5 em padding at the sides, no gap between lines, tall
enough for every mark the line carries (a ``BorderStyle=3`` box is sized by the
font and lets tanwin poke out, L7).  Widths come from HarfBuzz with the same
font libass uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..cues import Cue
from ..styles.style import CaptionStyle

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
    scale: float = 1.0  # the text's size relative to the style's em (below 1 for a word wider than the band)


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


def cue_scale(lines: Sequence[str], style: CaptionStyle, measurer=None) -> float:
    """1, or the size a cue is drawn at so that its widest line fits the band.

    Re-flowing (:func:`captioner.captions.reflow.reflow`) leaves a line wider
    than the band only for a single word wider than the band by itself; the
    whole cue is then drawn smaller, so no ink ever leaves the band (and the
    re-flow says so).
    """
    m = measurer or style.measurer()
    widest = max((m.width(line) for line in lines), default=0.0)
    limit = style.max_line_width
    return limit / widest if widest > limit + 0.5 else 1.0


def layout_cue(cue: Cue, style: CaptionStyle, measurer=None) -> list[LineBox]:
    m = measurer or style.measurer()
    g, p, em = style.geometry, style.preset, style.em
    above, below = _line_metrics(cue.lines, style, m)
    pitch = above + below
    pad = p.box_padding_em * em
    scale = cue_scale(cue.lines, style, m)
    boxes = []
    n = len(cue.lines)
    for k, line in enumerate(cue.lines):
        box_bottom = g.bottom - (n - 1 - k) * pitch
        half = m.width(line) * scale / 2 + pad
        left = max(g.left, round(g.centre_x - half))
        right = min(g.right, round(g.centre_x + half))
        boxes.append(
            LineBox(line, g.centre_x, box_bottom - below, (left, round(box_bottom - pitch), right, round(box_bottom)),
                    scale)
        )
    return boxes
