"""Burned captions, read back by OCR.

Known Arabic cues (neutral punctuation at the end, numbers, a Latin word, full
vocalisation, two-line cues) are burned with captioner's real paths — the
libass renderer (``burn_cues``: ffmpeg + libass, ``shaping=complex``) and the
pillow renderer (Pillow + moviepy) with Raqm and with its forced
arabic-reshaper + python-bidi fallback — one frame per cue is
taken, each line is cropped at the box ``layout_cue`` says it has and read by
tesseract.  Each reading must have a low character error rate against the
logical text, and a line that ends in ``!`` or ``.`` must read with that mark at
its logical end.

The same cues burned with the style's ``Encoding=1`` (an LTR base direction for
every line, what libass does without captioner's ``Encoding=-1``) must fail
that check: the mark then sits at the right-hand side, where an Arabic line
starts, and tesseract reads it first.  So the check can fail.  For Pillow two
controls fail it too: logical text drawn with basic layout and no shaping
(isolated letters, left to right), and the fallback's reshaped, reordered text
given to Raqm as well ("both": the line comes out reversed a second time).

Measured with tesseract 5.3.0 (Debian ``tesseract-ocr-ara``, 2019 data) over
flat blue, white, testsrc2, SMPTE-bar and RGB-test backgrounds: every line of
the Encoding=-1 render reads at CER 0.000 and every final ``!``/``.`` at the
end; in the Encoding=1 render every ``!``/``.`` line fails (CER 0.08-0.22,
and 0.9-1.05 for the line with a Latin word, whose words also change places).
Pillow over the flat background (each line read at up to three scales, best
reading kept, see ``ocr.read_line``): Raqm CER max 0.077 and fallback 0.105
(only the fully vocalised lines above 0, where tesseract drops or swaps a mark
or letter), every final mark at the end; the unshaped and double-shaped
controls 0.68-1.00 on every line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import conftest
import ocr
from captioner.render.libass import build_command, burn_cues
from captioner.render.ffmpeg import run_ffmpeg
from captioner.render.pillow.composite import burn_cues_pillow
from captioner.render.pillow.draw import CueDrawer, has_raqm, visual_order
from captioner.cues import Cue
from captioner.media.probe import probe
from captioner.styles.presets import get_preset
from captioner.render.ass_script import burn_script
from captioner.render.layout import layout_cue
from captioner.styles.style import STYLE_NAME, CaptionStyle

# Measured 0.000 for every line (see the module docstring); a missing, unjoined or
# misplaced glyph costs 1/len per character, so 0.20 still fails a line with a few.
MAX_CER = 0.20

# Lines top to bottom, logical order.  Each fits one line of the tiktok band at 1080x1920.
CUE_LINES: list[tuple[str, ...]] = [
    ("هل انضممت إلى التحدي؟", "شارك الآن!"),  # two lines; "؟" (strong AL) and "!" (neutral)
    ("تابعونا على TikTok اليوم!",),  # a Latin word inside an Arabic line
    ("لدينا 30 متطوعًا.",),  # a number, "."
    ("أَهْلًا وَسَهْلًا بِكُمْ.",),  # fully vocalised
    ("نلتقي مجددا في عام 2026", "مع أصدقائنا الجدد."),  # two lines, a number at the end of the first
    ("شَارِكُوا فِي التَّحَدِّي الْآنَ!",),  # vocalised, with shadda
    ("مرحبا بكم جميعا!",),
]
# (Tesseract's fast Arabic model reads nothing at all from some vocalised lines, e.g.
# "شُكْرًا جَزِيلًا لِلْجَمِيعِ." renders correctly but reads as ""; these two it reads.)

NEUTRAL_LINES = [line for lines in CUE_LINES for line in lines if line[-1] in ocr.NEUTRAL_END]


def _cues(cue_lines) -> list[Cue]:
    return [Cue(float(k), k + 1.0, tuple(lines)) for k, lines in enumerate(cue_lines)]


def _clip(path: Path, seconds: float, background: str = "color=c=0x336699") -> Path:
    """A 1080x1920 clip at 10 fps (fewer frames to encode) with a tone, so ``probe`` accepts it."""
    return conftest.make_video(path, duration=seconds, fps=10, background=background)


def _measure(label: str, readings) -> None:
    per_line = " ".join(f"{r.cer:.3f}" for r in readings)
    punct = [r.punctuation_ok for r in readings if r.punctuation_ok is not None]
    line = f"render OCR, {label}: CER max {max(r.cer for r in readings):.3f} [{per_line}]; "
    line += f"final !/. at logical end {sum(punct)}/{len(punct)}"
    getattr(conftest, "MEASUREMENTS", []).append(line)


def _style(info) -> CaptionStyle:
    return CaptionStyle.for_frame(get_preset("tiktok"), info.display_width, info.display_height)


def _burn_with_encoding(info, cues, style: CaptionStyle, output: Path, encoding: int, work: Path) -> None:
    """``burn_cues``, but with the caption style's ASS ``Encoding`` replaced."""
    work.mkdir()
    (work / "fonts").mkdir()
    shutil.copyfile(style.font_path, work / "fonts" / "NotoSansArabic.ttf")
    subs = burn_script(cues, style)
    subs.styles[STYLE_NAME].encoding = encoding
    subs.save(str(work / "captions.ass"), encoding="utf-8")
    command = build_command(
        info, output, "mp4", filters=[("ass", {"filename": "captions.ass", "fontsdir": "fonts", "shaping": "complex"})]
    )
    run_ffmpeg(command, cwd=work, duration=info.duration, progress=None)


def _read_back(video: Path, cues, style: CaptionStyle) -> list[ocr.LineReading]:
    frames = ocr.extract_frames(video, [(c.start + c.end) / 2 for c in cues])
    jobs = [(frame, lb.text, lb.box) for cue, frame in zip(cues, frames) for lb in layout_cue(cue, style)]
    return ocr.read_lines(jobs)


def _report(readings) -> str:
    return "\n".join(str(r) for r in readings)


class _UnshapedDrawer(CueDrawer):
    """Control: logical text, basic layout, no reshaping or reordering (Pillow without Raqm, done wrong)."""

    def __init__(self, style):
        super().__init__(style, "fallback")

    def text_args(self, line, rtl):
        return line, {}


class _DoubleShapedDrawer(CueDrawer):
    """Control: the fallback's visual-order text given to Raqm as well ("never both")."""

    def __init__(self, style):
        super().__init__(style, "raqm")

    def text_args(self, line, rtl):
        return visual_order(line, rtl), {"direction": "rtl", "language": "ar"}


# Renders that must pass the check, and controls that must fail it.
RENDERERS = ["libass", "pillow-raqm", "pillow-fallback"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """The test cues over a flat background, burned by each renderer and by the controls."""
    ocr.require_tesseract()
    tmp = tmp_path_factory.mktemp("render-ocr")
    cues = _cues(CUE_LINES)
    info = probe(_clip(tmp / "clip.mp4", len(cues)))
    style = _style(info)
    burns = {
        "libass": lambda out: burn_cues(info, cues, style, out),
        "pillow-fallback": lambda out: burn_cues_pillow(info, cues, style, out, shaping="fallback"),
        "encoding1": lambda out: _burn_with_encoding(info, cues, style, out, 1, tmp / "encoding1"),
        "pillow-unshaped": lambda out: burn_cues_pillow(info, cues, style, out, drawer=_UnshapedDrawer(style)),
    }
    if has_raqm():
        burns["pillow-raqm"] = lambda out: burn_cues_pillow(info, cues, style, out, shaping="raqm")
        burns["pillow-double"] = lambda out: burn_cues_pillow(info, cues, style, out, drawer=_DoubleShapedDrawer(style))
    readings = {}
    for name, burn in burns.items():
        burn(tmp / f"{name}.mp4")
        readings[name] = _read_back(tmp / f"{name}.mp4", cues, style)
        _measure(name, readings[name])
    return readings


def _rendered(renders, renderer):
    if renderer not in renders:
        pytest.skip(f"{renderer}: this Pillow has no Raqm (PIL.features.check('raqm') is False)")
    return renders[renderer]


def _by_line(readings) -> dict[str, ocr.LineReading]:
    return {r.reference: r for r in readings}


# --- the checker itself, no video ------------------------------------------------------


def test_checker_compares_logical_order_and_ignores_harakat_and_spacing():
    assert ocr.cer("شُكْرًا جَزِيلًا.", "شكرا جزيلا.") == 0
    assert ocr.cer("شكرا", "\u200fشك را\u200e") == 0
    assert ocr.cer("abcd", "abed") == 0.25
    assert ocr.cer("TikTok", "TIKTOK") == 0
    assert ocr.punctuation_at_logical_end("مرحبا بكم!", "مرحبا بكم!") is True
    assert ocr.punctuation_at_logical_end("مرحبا بكم!", "!مرحبا بكم") is False
    assert ocr.punctuation_at_logical_end("مرحبا بكم!", "إمرحبا بكم") is False  # "!" misread, at the start
    assert ocr.punctuation_at_logical_end("لدينا 30 متطوعًا.", ".لدينا 30 متطوعًا") is False
    assert ocr.punctuation_at_logical_end("لدينا 30 متطوعًا.", "") is False
    assert ocr.punctuation_at_logical_end("كيف حالك؟", "كيف حالك؟") is None


# --- captioner's render reads back -------------------------------------------------------


@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_line_reads_back_with_a_low_character_error_rate(renders, renderer):
    readings = _rendered(renders, renderer)
    assert len(readings) == sum(len(lines) for lines in CUE_LINES)
    assert ocr.check_readings(readings, MAX_CER) == [], _report(readings)


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("line", NEUTRAL_LINES, ids=[f"line{k}" for k in range(len(NEUTRAL_LINES))])
def test_final_punctuation_reads_at_the_logical_end(renders, renderer, line):
    reading = _by_line(_rendered(renders, renderer))[line]
    assert reading.punctuation_ok is True, str(reading)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_strong_arabic_question_mark_and_numbers_read_in_place(renders, renderer):
    by_line = _by_line(_rendered(renders, renderer))
    for line in ("هل انضممت إلى التحدي؟", "نلتقي مجددا في عام 2026", "لدينا 30 متطوعًا."):
        assert ocr.ocr_normalise(by_line[line].reading) == ocr.ocr_normalise(line), str(by_line[line])


# --- the same cues with Encoding=1 must fail the check --------------------------------------


def test_encoding_1_render_fails_the_check(renders):
    readings = renders["encoding1"]
    problems = ocr.check_readings(readings, MAX_CER)
    assert problems, "the Encoding=1 render passed the check, so the check cannot fail:\n" + _report(readings)
    # Every line that ends in neutral punctuation is caught, not just some.
    for line in NEUTRAL_LINES:
        assert any(repr(line) in p for p in problems), f"{line!r} not caught:\n" + _report(readings)


@pytest.mark.parametrize("line", NEUTRAL_LINES, ids=[f"line{k}" for k in range(len(NEUTRAL_LINES))])
def test_encoding_1_puts_final_punctuation_at_the_wrong_end(renders, line):
    reading = _by_line(renders["encoding1"])[line]
    assert reading.punctuation_ok is False, str(reading)


def test_encoding_1_scrambles_a_mixed_line(renders):
    # With an LTR base, "تابعونا على" and "اليوم" swap sides around TikTok.
    reading = _by_line(renders["encoding1"])["تابعونا على TikTok اليوم!"]
    assert reading.cer > 0.5, str(reading)


@pytest.mark.parametrize("control", ["pillow-unshaped", "pillow-double"])
def test_pillow_controls_fail_the_check(renders, control):
    readings = _rendered(renders, control)
    problems = ocr.check_readings(readings, MAX_CER)
    # Every Arabic line is caught: unjoined or reversed letters read wrong, whatever the scale.
    caught = [lines for lines in CUE_LINES if any(any(repr(line) in p for p in problems) for line in lines)]
    assert len(caught) == len(CUE_LINES), f"{control}: not every cue caught:\n" + _report(readings)


# --- a busy background -------------------------------------------------------------------


def test_box_gives_contrast_over_a_busy_background(tmp_path):
    ocr.require_tesseract()
    cues = _cues([CUE_LINES[0], CUE_LINES[1], CUE_LINES[3]])
    info = probe(_clip(tmp_path / "busy.mp4", len(cues), background="testsrc2"))
    style = _style(info)
    burn_cues(info, cues, style, tmp_path / "captioned.mp4")
    frames = ocr.extract_frames(tmp_path / "captioned.mp4", [(c.start + c.end) / 2 for c in cues])
    # The box's side padding (0.5 em, no ink) keeps the background at 25% of its
    # luminance, <= 64 of 255 whatever testsrc2 shows there, against white text.
    pad = round(style.preset.box_padding_em * style.em)
    for cue, frame in zip(cues, frames):
        for lb in layout_cue(cue, style):
            left, top, right, bottom = lb.box
            grey = np.asarray(frame.convert("L"), dtype=np.float64)[top + 4 : bottom - 4]
            sides = np.concatenate([grey[:, left + 4 : left + pad - 8], grey[:, right - pad + 8 : right - 4]], axis=1)
            assert sides.max() <= 80, f"box over a busy background too bright ({sides.max():.0f}): {lb.text!r}"
    jobs = [(frame, lb.text, lb.box) for cue, frame in zip(cues, frames) for lb in layout_cue(cue, style)]
    readings = ocr.read_lines(jobs)
    _measure("captioner over testsrc2", readings)
    assert ocr.check_readings(readings, MAX_CER) == [], _report(readings)


# --- a line's direction is the cue's, not its first word's ----------------------------------


@pytest.mark.parametrize("renderer", RENDERERS)
def test_arabic_line_starting_with_a_latin_word_keeps_its_final_punctuation_at_the_end(tmp_path, renderer):
    ocr.require_tesseract()
    if renderer == "pillow-raqm" and not has_raqm():
        pytest.skip("this Pillow has no Raqm")
    cues = _cues([("TikTok يجمعنا اليوم!",)])
    info = probe(_clip(tmp_path / "clip.mp4", len(cues)))
    style = _style(info)
    if renderer == "libass":
        burn_cues(info, cues, style, tmp_path / "captioned.mp4")
    else:
        burn_cues_pillow(info, cues, style, tmp_path / "captioned.mp4", shaping=renderer.split("-")[1])
    (reading,) = _read_back(tmp_path / "captioned.mp4", cues, style)
    assert reading.punctuation_ok is True, str(reading)
