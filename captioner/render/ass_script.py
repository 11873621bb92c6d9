"""The ASS script libass burns: positioned lines over per-line box drawings."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pysubs2

from ..cues import Cue
from ..styles.colours import ass_colour
from ..styles.style import STYLE_NAME, CaptionStyle
from ..text.bidi import is_rtl_text, rtl_mark
from .centring import ink_offsets
from .layout import layout_cue


# libass reads \N, \n and \h as breaks and spaces, {...} as override tags and \{ \} as literal braces
# (anything else after a backslash is text).  A zero-width non-joiner (in the caption font, invisible,
# no effect on Latin or a backslash) between a backslash and such a letter keeps the backslash text.
_ZWNJ = "\u200c"
_BACKSLASH_ESCAPE = re.compile(r"\\(?=[Nnh{}])")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def libass_text(text: str) -> str:
    """Caption text as libass draws it exactly: backslashes, braces and all (control characters as spaces)."""
    text = _BACKSLASH_ESCAPE.sub(lambda m: "\\" + _ZWNJ, _CONTROL.sub(" ", text))
    return text.replace("{", "\\{").replace("}", "\\}")


def _line_text(line: str, first_word: int, inked: Sequence[bool] | None) -> str:
    if inked is None:
        return libass_text(line)
    # One run per word, each with its own alpha.  The runs are the same whichever
    # word is inked, so the layout is too; with Encoding=-1 libass lays the runs
    # out as one right-to-left paragraph (whole-text layout, rtl-and-peers L8).
    words = [w for w in line.split(" ") if w]
    return " ".join(
        f"{{\\1a&H{'00' if inked[first_word + i] else 'FF'}&}}{libass_text(w)}" for i, w in enumerate(words)
    )


def burn_script(
    cues: Sequence[Cue],
    style: CaptionStyle,
    *,
    boxes: bool = True,
    times: Sequence[tuple[float, float]] | None = None,
    inked: Sequence[Sequence[bool] | None] | None = None,
    region: tuple[int, int, int, int] | None = None,
    centred: bool = True,
) -> pysubs2.SSAFile:
    """The ASS script of the burned captions: positioned lines over per-line boxes.

    ``boxes=False`` leaves the boxes out (the caption track draws them itself);
    ``times`` replaces the cues' own in- and out-times; ``inked`` gives, per cue,
    which of its words (``cue_words`` order) leave ink: the others are laid out
    but fully transparent, which is how the caption track finds the pixels of
    the word being spoken.  ``region`` (left, top, width, height) makes the
    script's canvas that part of the frame only, so libass draws no more pixels
    than the captions cover.  ``centred`` moves each line so that libass's ink is centred on its
    box (:mod:`.centring`; ``False`` leaves libass's own placement, for tests that compare).
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
    layouts = [layout_cue(cue, style, m) for cue in cues]
    # Where libass really puts each line's ink (centring.py): the same text as drawn below,
    # every word inked, so that every state of a highlighted line moves alike.
    centre: dict[tuple[str, float], float] = {}
    if centred:
        lines = []
        for index, (cue, line_boxes) in enumerate(zip(cues, layouts)):
            rtl, first_word = is_rtl_text(cue.text), 0
            for lb in line_boxes:
                count = len([w for w in lb.text.split(" ") if w])
                full = None if inked is None or inked[index] is None else [True] * (first_word + count)
                lines.append((rtl_mark(lb.text, rtl) + _line_text(lb.text, first_word, full), lb.scale))
                first_word += count
        centre = ink_offsets(lines, style)
    for index, (cue, (start_s, end_s)) in enumerate(zip(cues, times or [(c.start, c.end) for c in cues])):
        mask = inked[index] if inked is not None else None
        start, end = int(round(start_s * 1000)), int(round(end_s * 1000))
        line_boxes = layouts[index]
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
            count = len([w for w in lb.text.split(" ") if w])
            text = _line_text(lb.text, first_word, mask)
            full = None if mask is None else [True] * (first_word + count)
            shift = centre.get((rtl_mark(lb.text, rtl) + _line_text(lb.text, first_word, full), lb.scale), 0.0)
            first_word += count
            # A cue with a word wider than the band is drawn smaller (layout_cue), about its baseline.
            size = f"\\fscx{lb.scale * 100:.2f}\\fscy{lb.scale * 100:.2f}" if lb.scale < 1 else ""
            x, y = lb.x + shift - dx, lb.baseline + descent * lb.scale - dy
            subs.append(
                pysubs2.SSAEvent(
                    start=start,
                    end=end,
                    layer=1,
                    style=STYLE_NAME,
                    text=f"{{\\an2\\q2{size}\\pos({x:.1f},{y:.1f})}}{rtl_mark(lb.text, rtl)}{text}",
                )
            )
    return subs
