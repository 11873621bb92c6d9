"""Issue 11: a burned caption is never cut off — checked on burned frames, both renderers.

A hand-typed SRT with lines of 50 Arabic characters (a normal sentence, 1100 px
at the caption size, the band is 722 px), two speaker lines too long for the
band, and a web address wider than the band by itself, burned over a flat grey
clip: every pixel that is not grey is captioner's ink.  For each cue on screen
the ink (box and text) must lie inside the line boxes of the layout and inside
the preset's safe area, the text inside its box, and tesseract must read every
line back.  With an interpreter inset (the band narrowed beside it), reframed
landscape input and the word highlight too (libass; the pillow renderer draws
none of those).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ocr
from captioner.formats import load_cues
from captioner.media.probe import probe
from captioner.pipeline import fit_cues
from captioner.render.layout import layout_cue
from captioner.settings import CaptionSettings
from conftest import MEASUREMENTS, make_video, run_cli, run_ffmpeg

GREY = 0x70
LONG = "هذه جملة طويلة جدا تعرض على الشاشة في التحدي الكبير"
SPEAKER_A = "- هل ستأتي إلى الحفلة الكبيرة التي ستقام في المدينة غدا؟"
SPEAKER_B = "- نعم سآتي مع جميع أصدقائي من المدرسة!"
URL = "https://example.com/challenge/2026/arabic"
SRT = f"""1
00:00:00,500 --> 00:00:03,500
{LONG}

2
00:00:03,600 --> 00:00:07,500
{SPEAKER_A}
{SPEAKER_B}

3
00:00:07,600 --> 00:00:09,500
شارك الآن: {URL}
"""


def read(frame, reference: str, box) -> ocr.LineReading:
    """``ocr.read_line``, and where tesseract's line mode reads a clean line as nothing (it does, for some
    short Arabic lines at any scale), its raw-line and word modes too: the best reading counts."""
    best = ocr.read_line(frame, reference, box)
    for scale in (1.0, 1.5, 2.0, 3.0):
        if best.cer <= 0.05:
            break
        for psm in (13, 8):
            text = ocr.ocr_line(ocr.line_image(frame, box, scale=scale), psm=psm).replace("|", "").strip()
            reading = ocr.LineReading(reference, text, ocr.cer(reference, text),
                                      ocr.punctuation_at_logical_end(reference, text))
            if reading.cer < best.cer:
                best = reading
    return best


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fit")
    out = {
        "grey": make_video(d / "grey.mp4", duration=10, background=f"color=c=0x{GREY:02x}{GREY:02x}{GREY:02x}"),
        "landscape": make_video(d / "land.mp4", duration=10, size=(1920, 1080),
                                background=f"color=c=0x{GREY:02x}{GREY:02x}{GREY:02x}"),
        "srt": d / "long.srt",
        "tall": d / "tall.mp4",
    }
    out["srt"].write_text(SRT, encoding="utf-8")
    run_ffmpeg("-f", "lavfi", "-i", "smptebars=s=480x1280:r=30:d=10", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", str(out["tall"]))
    return out


def burn_and_check(media, tmp_path, name: str, video: Path, *flags: str, ocr_lines: bool = True,
                   subs: Path | None = None) -> list[str]:
    out = tmp_path / f"{name}.mp4"
    subs = subs or media["srt"]
    result = run_cli("burn", str(video), "--subs", str(subs), "-o", str(out), "-q", *flags)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"wrote {out}"
    changes = [line for line in lines if line.startswith("#")]

    # The cues and layout the burn drew, by the pipeline's own fitting (as burn computes them).
    options = {"renderer": "libass", "highlight": "none", "sign": None, "reframe": "auto"}
    for flag, value in zip(flags, flags[1:] + ("",)):
        key = flag.lstrip("-").replace("-", "_")
        if key in ("renderer", "highlight", "sign", "reframe", "sign_size", "sign_position"):
            options[key] = float(value) if key == "sign_size" else value
    settings = CaptionSettings(**options, align=False)
    info = probe(video, require_audio=False)
    layout, flowed = fit_cues(load_cues(subs), info, settings, settings.resolved_preset())
    style = layout.style
    g = style.geometry
    inset = layout.sign[1].rect if layout.sign else None

    # Before the first cue the frame shows no caption: what differs from it is captioner's ink.
    blank, *frames = ocr.extract_frames(out, [0.1] + [(c.start + c.end) / 2 for c in flowed.cues])
    background = np.asarray(blank).astype(np.int16)
    readings = []
    for cue, image in zip(flowed.cues, frames):
        frame = np.asarray(image).astype(np.int16)
        ink = np.abs(frame - background).max(axis=2) > 40
        text = (frame[..., 0] > 200) & (frame[..., 1] > 200)  # white (or yellow, with the highlight) text
        if inset is not None:
            ink[inset[1] : inset[3], inset[0] : inset[2]] = False
        boxes = layout_cue(cue, style)
        inside = np.zeros_like(ink)
        for lb in boxes:
            l, t, r, b = lb.box
            assert g.left <= l and r <= g.right, f"box {lb.box} outside the band {g.left}..{g.right}"
            # H.264 (4:2:0 chroma, ringing at the box's hard edges) spreads a box edge by up to 4 px.
            inside[max(t - 4, 0) : b + 4, max(l - 4, 0) : r + 4] = True
        stray = ink & ~inside
        assert stray.sum() == 0, (f"{name}: {stray.sum()} px of ink outside the boxes of {cue.lines}: "
                                  f"rows {np.unique(np.nonzero(stray)[0])[:10]}, cols {np.unique(np.nonzero(stray)[1])[:10]}, "
                                  f"inset {inset}")
        if inset is not None:
            text[inset[1] : inset[3], inset[0] : inset[2]] = False
        ys, xs = np.nonzero(text)
        assert len(xs) > 200, f"{name}: no text drawn for {cue.lines}"
        texts_in_boxes = np.zeros_like(text)
        for lb in boxes:
            l, t, r, b = lb.box
            texts_in_boxes[t:b, l:r] = True
        assert (text & ~texts_in_boxes).sum() == 0, f"{name}: text outside its box in {cue.lines}"
        sl, st, sr, sb = g.safe
        assert xs.min() >= sl and xs.max() < sr and ys.min() >= st and ys.max() < sb, f"{name}: ink outside the safe area"
        if ocr_lines and URL not in " ".join(cue.lines):
            readings += [read(image, lb.text, lb.box) for lb in boxes]
    if ocr_lines:
        edits = sum(r.cer * len(r.reference) for r in readings)
        total = edits / sum(len(r.reference) for r in readings)
        MEASUREMENTS.append(f"burn fit ({name}): OCR of {len(readings)} re-flowed lines, CER {total:.3f}")
        # Every word of every line is read (stray specks at a crop's edge aside: "/", "٠").
        unread = [(word, str(r)) for r in readings for word in r.reference.split()
                  if ocr.ocr_normalise(word) not in ocr.ocr_normalise(r.reading)]
        assert unread == [] and total <= 0.1, unread or [str(r) for r in readings]
        # Every word of the file is on screen.
        shown = " ".join(r.reference for r in readings).split()
        assert shown == (LONG + " " + SPEAKER_A + " " + SPEAKER_B).split()
    return changes


@pytest.mark.parametrize("renderer", ["libass", "pillow"])
def test_long_lines_are_burned_whole_inside_the_band(media, tmp_path, renderer):
    ocr.require_tesseract()
    changes = burn_and_check(media, tmp_path, renderer, media["grey"], "--renderer", renderer)
    assert changes[:2] == ["#1 00:00:00,500 re-broken into 2 lines", "#2 00:00:03,600 split into 2 cues"], changes
    assert changes[2].startswith("#3 00:00:07,600 re-broken into 2 lines; drawn at ")
    assert changes[2].endswith(f"size: «{URL}» alone is wider than the caption band")


def test_with_an_inset_the_band_narrows_and_captions_still_fit(media, tmp_path):
    ocr.require_tesseract()
    # The band narrows to 299 px of text beside this interpreter: the web address would need a quarter of
    # the caption size, which the burn refuses in one line (exit 2); without it everything fits.
    flags = ("--sign", str(media["tall"]), "--sign-size", "0.2", "--sign-position", "left")
    refused = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(tmp_path / "no.mp4"), *flags)
    assert refused.returncode == 2 and "#3 00:00:07,600 cannot be drawn" in refused.stderr
    assert not (tmp_path / "no.mp4").exists()
    subs = tmp_path / "two.srt"
    subs.write_text(SRT.split("\n3\n")[0], encoding="utf-8")
    changes = burn_and_check(media, tmp_path, "inset", media["grey"], *flags, subs=subs)
    assert any(line.startswith("#2 00:00:03,600 split into") for line in changes), changes


def test_reframed_and_highlighted_captions_fit(media, tmp_path):
    burn_and_check(media, tmp_path, "reframe-highlight", media["landscape"], "--reframe", "fit", "--highlight", "word",
                   "--no-align", ocr_lines=False)


def test_keep_lines_refuses_a_line_that_does_not_fit(media, tmp_path):
    out = tmp_path / "kept.mp4"
    result = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--keep-lines")
    assert result.returncode == 2
    assert result.stderr.startswith("captioner: error: #1 00:00:00,500 line 1 is ") and len(
        result.stderr.strip().splitlines()) == 1
    assert not out.exists()
