"""Issue 11: what an editor sees in the sidecars — the ASS renders as burned, the VTT sits on the band,
and SRT/VTT lines carry only the directional marks players need.

- ASS: the sidecar drawn by libass (ffmpeg's ``ass`` filter with the caption
  font, as mpv, VLC and Aegisub draw it) against the burned frame.  The control
  is the sidecar as captioner wrote it before: events on a ``Default`` style
  the file does not define, which libass draws small at the bottom.
- VTT: Chromium's own WebVTT rendering of the sidecar puts the caption in the
  caption band (a cue without settings sits at the frame's bottom: the control).
- Direction marks: each kind of player (``tests/players.py``) shows every line
  in logical order with the marks captioner writes, read back by OCR; without
  marks a left-to-right player does not (the control).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ocr
import players
from captioner import burn
from captioner.cues import Cue
from captioner.formats import dumps
from captioner.render.ffmpeg import EncoderSettings, ffmpeg_exe
from captioner.render.layout import layout_cue
from captioner.styles.presets import get_preset
from captioner.styles.style import CaptionStyle
from captioner.text.bidi import BIDI_CONTROLS, PDF, RLE, sidecar_line
from conftest import MEASUREMENTS, make_video

GREY = "0x707070"
CUES = [
    Cue(0.2, 1.8, ("هل انضممت إلى التحدي؟", "شارك الآن مع TikTok!")),
    Cue(2.0, 3.8, ("- نعم سأشارك!", "هذا هو العرض")),  # a line ending in ض: libass draws it off centre
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("sidecars") / "grey.mp4", duration=4, background=f"color=c={GREY}")


def libass_frames(video: Path, ass_text: str, times: list[float], work: Path) -> list[np.ndarray]:
    """The video with an ASS file drawn by ffmpeg's ``ass`` filter (libass), the caption font in fontsdir."""
    (work / "fonts").mkdir(exist_ok=True)
    style = CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)
    shutil.copyfile(style.font_path, work / "fonts" / "caption.ttf")
    (work / "sidecar.ass").write_text(ass_text, encoding="utf-8")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(video), "-vf",
                    "ass=filename=sidecar.ass:fontsdir=fonts:shaping=complex", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "12", "-an", "-y", "sidecar.mp4"], cwd=work, check=True)
    return [np.asarray(f).astype(np.int16) for f in ocr.extract_frames(work / "sidecar.mp4", times)]


def test_the_ass_sidecar_renders_as_burned(clip, tmp_path):
    style = CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)
    burned = burn(clip, CUES, tmp_path / "burned.mp4", encoder=EncoderSettings(crf=12))
    times = [1.0, 3.0]
    want = [np.asarray(f).astype(np.int16) for f in ocr.extract_frames(burned, times)]
    sidecar = dumps(CUES, "ass", style=style)
    got = libass_frames(clip, sidecar, times, tmp_path)
    # The control: the same file with its events on a style it does not define, as before issue 11.
    broken = sidecar.replace(",Caption,,", ",Default,,")
    (tmp_path / "broken").mkdir()
    control = libass_frames(clip, broken, times, tmp_path / "broken")
    band = slice(1100, 1500)
    for w, g, c in zip(want, got, control):
        diff = np.abs(w[band] - g[band]).mean()
        drawn = (np.abs(w[band] - int(GREY, 16) % 256).max(axis=2) > 40).mean()
        MEASUREMENTS.append(f"ASS sidecar drawn by libass vs the burn: mean difference {diff:.2f}/255 in the caption "
                            f"band ({drawn:.1%} of it drawn); old sidecar {np.abs(w[band] - c[band]).mean():.2f}")
        assert drawn > 0.05
        assert diff < 1.5
        assert np.abs(w[band] - c[band]).mean() > 4 * diff + 1.0


def test_the_vtt_sidecar_sits_on_the_caption_band(tmp_path):
    if not players.chromium_available():
        pytest.skip("Playwright or /usr/bin/chromium missing (CI installs both)")
    width, height = players.SIZE
    style = CaptionStyle.for_frame(get_preset("tiktok"), width, height)
    g = style.geometry
    vtt = dumps([Cue(0.0, 2.0, ("هل انضممت إلى التحدي؟",))], "vtt", style=style)
    top = layout_cue(Cue(0.0, 2.0, ("هل انضممت إلى التحدي؟",)), style)[0].box[1]
    assert f"line:{100 * top / height:.2f}% position:52.78% size:72.22% align:center" in vtt
    plain = vtt.split("\n", 1)[0] + "\n\n00:00:00.000 --> 00:00:02.000\nهل انضممت إلى التحدي؟\n"
    placed, default = (players.render_chromium(text, [1.0])[0] for text in (vtt, plain))
    (left, top, right, bottom), = players.text_lines(placed)
    left, right, bottom = left + 6, right - 7, bottom - 7  # text_lines pads the ink by 6-7 px
    MEASUREMENTS.append(f"VTT sidecar in Chromium: text x {left}-{right}, bottom {bottom} (band x {g.left}-{g.right}, "
                        f"bottom {g.bottom})")
    assert g.left <= left and right <= g.right
    assert g.bottom - 2 * players.EM <= bottom <= g.bottom + 2
    (_, _, _, default_bottom), = players.text_lines(default)
    assert default_bottom - 7 > g.bottom + 2 * players.EM  # without the settings: the frame's bottom edge


MARK_LINES = [
    "هل انضممت إلى التحدي؟ شارك الآن!",
    "شارك في التحدي مع TikTok اليوم!",
    "TikTok يجمعنا اليوم!",
    "- هل ستأتي إلى الحفلة الكبيرة غدا؟",
    "لدينا 30 متطوعًا في المدينة.",
    "هل انضممت إلى التحدي؟",
]


def test_sidecar_lines_carry_only_an_embedding_where_needed():
    marked = [sidecar_line(line, rtl=True) for line in MARK_LINES]
    assert marked[-1] == MARK_LINES[-1]  # Arabic letters from end to end: no mark
    for line, m in zip(MARK_LINES[:-1], marked):
        assert m == RLE + line + PDF
        assert sum(ch in BIDI_CONTROLS for ch in m) == 2
    assert sidecar_line("Hello world!") == "Hello world!"


@pytest.mark.parametrize("player", players.PLAYERS)
def test_players_show_marked_lines_in_logical_order(player):
    ocr.require_tesseract()
    if player == "chromium" and not players.chromium_available():
        pytest.skip("Playwright or /usr/bin/chromium missing (CI installs both)")
    frames = players.render(player, [sidecar_line(line, rtl=True) for line in MARK_LINES])
    results = [players.shows_correctly(frame, line) for frame, line in zip(frames, MARK_LINES)]
    assert all(ok for ok, _ in results), [why for ok, why in results if not ok]
    if player == "libass-ltr":
        # The control: the same lines without marks, in a left-to-right player, come out wrong.
        bare = players.render(player, MARK_LINES[:-1])
        wrong = [line for frame, line in zip(bare, MARK_LINES) if not players.shows_correctly(frame, line)[0]]
        assert len(wrong) >= 4, wrong
