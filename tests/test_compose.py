"""Issue 3: interpreter inset, reframing, word highlight, presets and house styles — checked on burned frames."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from captioner.cues import Cue, Word
from captioner.render.inset import SignOptions
from captioner.media.probe import probe
from captioner.pipeline import caption_rules
from captioner.settings import CaptionSettings
from captioner.render.compose import compose
from captioner.styles.presets import MIN_SIGN_FRACTION, PRESETS, get_preset
from captioner.render.layout import layout_cue
from conftest import ffmpeg, make_video, run_cli, run_ffmpeg

import ocr

KEY_GREEN = "0x00B140"
GREY = "0x707070"


def frame_at(video: Path, t: float) -> np.ndarray:
    return np.asarray(ocr.extract_frames(video, [t])[0].convert("RGB")).astype(np.int16)


def audio_packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("compose")
    out = {
        # A flat grey clip: whatever is not grey in the output was drawn by captioner.
        "grey": make_video(d / "grey.mp4", duration=4, background=f"color=c={GREY}"),
        "landscape": make_video(d / "land.mp4", duration=3, size=(1920, 1080), background="smptebars"),
    }
    # Interpreters: a still SMPTE-bar picture (time-independent, so frames compare exactly),
    # 720x1280 at 25 fps in 4:4:4 (another rate and pixel format than the clip).
    out["bars"] = d / "bars.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "smptebars=s=720x1280:r=25:d=2", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv444p", str(out["bars"]))
    # A tall, narrow crop of a signer (3:8).
    out["tall"] = d / "tall.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "smptebars=s=480x1280:r=30:d=2", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", str(out["tall"]))
    # A "signer" (bars, 320x700) in front of a studio green screen, with a soft shadowed edge.
    out["green"] = d / "green.mp4"
    run_ffmpeg("-f", "lavfi", "-i", f"color=c={KEY_GREEN}:s=720x1280:r=25:d=5", "-f", "lavfi",
               "-i", "smptebars=s=320x700:r=25:d=5", "-filter_complex", "[0][1]overlay=200:300",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out["green"]))
    # The bars again, stored landscape with a 90° display rotation (a phone recording).
    out["rotated"] = d / "rotated.mp4"
    stored = d / "stored.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "smptebars=s=1280x720:r=30:d=2", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", str(stored))
    run_ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(out["rotated"]))
    out["srt"] = d / "cues.srt"
    out["srt"].write_text(
        "1\n00:00:00,200 --> 00:00:03,800\nنريد أن يصل صوتنا إلى الجميع،\nومنهم الصم وضعاف السمع.\n", encoding="utf-8"
    )
    return out


def inset_for(video: Path, sign: Path, **options):
    info = probe(video, require_audio=False)
    layout = compose(info, get_preset("tiktok"), sign=SignOptions(sign, **options))
    return layout, layout.sign[1]


def test_interpreter_inset_shows_the_interpreter_in_place_at_its_size(media, tmp_path):
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--sign", str(media["bars"]),
                "--sign-hold", "-q")
    assert r.returncode == 0, r.stderr
    layout, inset = inset_for(media["grey"], media["bars"])
    assert inset.width * inset.height >= MIN_SIGN_FRACTION * 1080 * 1920 * 0.99
    assert abs(inset.width / inset.height - 720 / 1280) < 0.01  # aspect kept: nothing of the signing space cut
    assert inset.side == "right"  # the Arabic TikTok rail is on the left
    left, top, right, bottom = layout.style.geometry.safe
    assert left <= inset.x and inset.x + inset.width <= right and top <= inset.y and inset.y + inset.height <= bottom

    frame = frame_at(out, 3.0)  # after the 2 s interpreter ended: held (--sign-hold)
    crop = frame[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width]
    bars = run_ffmpeg_frame(media["bars"], inset.width, inset.height)
    assert np.abs(crop - bars).mean() < 6, "the inset shows the interpreter's picture"
    # Just outside the inset it is the clip (grey), not the interpreter.
    assert np.abs(frame[inset.y + 10, inset.x - 8] - 0x70).max() < 12

    # Captions never reach the inset.
    for lb in layout_cue(Cue(0, 1, ("نريد أن يصل صوتنا إلى الجميع،", "ومنهم الصم وضعاف السمع.")), layout.style):
        l, t, r_, b = lb.box
        assert b <= inset.y or r_ <= inset.x or l >= inset.x + inset.width or t >= inset.y + inset.height
    assert audio_packets(out) == audio_packets(media["grey"]), "the clip's audio, copied; the interpreter's never"


def run_ffmpeg_frame(video: Path, width: int, height: int) -> np.ndarray:
    data = subprocess.run(
        [ffmpeg(), "-v", "error", "-i", str(video), "-frames:v", "1", "-vf", f"scale={width}:{height}:flags=bicubic",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(data, np.uint8).reshape(height, width, 3).astype(np.int16)


def test_inset_disappears_when_the_interpreter_ends_and_is_cut_at_the_clip_end(media, tmp_path):
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--sign", str(media["green"]),
                "--sign-offset", "-2", "-q")  # 5 s interpreter, its first 2 s skipped: it ends at 3 s of a 4 s clip
    assert r.returncode == 0, r.stderr
    _, inset = inset_for(media["grey"], media["green"])
    centre = (inset.y + inset.height // 2, inset.x + inset.width // 2)
    assert np.abs(frame_at(out, 3.6)[centre] - 0x70).max() < 12, "gone after the interpreter's end"
    assert np.abs(frame_at(out, 1.0)[centre] - 0x70).max() > 40, "shown while it runs"
    src, dst = probe(media["grey"]), probe(out)
    assert abs(dst.duration - src.duration) <= src.frame_duration


def test_green_key_removes_the_background_without_a_fringe(media, tmp_path):
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--sign", str(media["green"]),
                "--sign-key", "green", "-q")
    assert r.returncode == 0, r.stderr
    _, inset = inset_for(media["grey"], media["green"], key="green")
    region = frame_at(out, 1.0)[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width]
    r_, g, b = region[..., 0], region[..., 1], region[..., 2]
    greenish = (g - np.maximum(r_, b) > 30).mean()
    grey = (np.abs(region - 0x70).max(axis=2) < 14).mean()
    assert greenish < 0.002, f"{greenish:.2%} of the inset is still green"
    # The signer (320x700 of 720x1280 scaled) is kept; the rest shows the clip behind.
    signer = 320 * 700 / (720 * 1280)
    assert 1 - signer - 0.05 < grey < 1 - signer + 0.05
    # The 5 s interpreter is longer than the 4 s clip: cut at the clip's end.
    src, dst = probe(media["grey"]), probe(out)
    assert abs(dst.duration - src.duration) <= src.frame_duration


def test_a_large_inset_narrows_the_caption_band_and_ocr_stays_clear_of_it(media, tmp_path):
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--sign", str(media["tall"]),
                "--sign-size", "0.2", "--sign-position", "left", "-q")
    assert r.returncode == 0, r.stderr
    layout, inset = inset_for(media["grey"], media["tall"], size=0.2, position="left")
    g = layout.style.geometry
    assert inset.side == "left" and inset.y + inset.height > g.bottom - 250  # beside the captions, not above
    assert g.left >= inset.x + inset.width  # the band moved right of the inset
    cue = Cue(0.2, 3.8, ("نريد أن يصل صوتنا إلى الجميع،", "ومنهم الصم وضعاف السمع."))
    from captioner.captions.reflow import fit_lines

    fitted = fit_lines([cue], caption_rules(layout.style, 30.0), layout.style.measurer().width)
    assert len(fitted) > 1, "too many words for two narrow lines: the cue is cut in time"
    assert fitted[0].start == cue.start and fitted[-1].end == cue.end
    frames = ocr.extract_frames(out, [(c.start + c.end) / 2 for c in fitted])
    readings = []
    for part, frame in zip(fitted, frames):
        for lb in layout_cue(part, layout.style):
            l, t, r_, b = lb.box
            assert l >= inset.x + inset.width, "caption box clear of the inset"
            assert r_ - l <= g.right - g.left
            readings.append(ocr.read_line(frame, lb.text, lb.box))
    assert " ".join(x.reference for x in readings).split() == cue.text.split()
    # tesseract (line mode) sometimes reads nothing from a one-word line; the rest must read right.
    assert sum(x.cer <= 0.1 for x in readings) >= len(readings) - 1, readings


def test_rotated_interpreter_is_shown_upright(media, tmp_path):
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--sign",
                str(media["rotated"]), "-q")
    assert r.returncode == 0, r.stderr
    _, inset = inset_for(media["grey"], media["rotated"])
    assert inset.height > inset.width  # displayed portrait, as the phone showed it
    region = frame_at(out, 1.0)[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width]
    upright = run_ffmpeg_frame(media["rotated"], inset.width, inset.height)  # ffmpeg autorotates
    assert np.abs(region - upright).mean() < 8


@pytest.mark.parametrize("make", ["missing", "text", "audio-only"])
def test_bad_interpreter_fails_before_encoding(media, tmp_path, make):
    sign = tmp_path / "sign.mp4"
    if make == "text":
        sign.write_text("not a video")
    elif make == "audio-only":
        run_ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(sign))
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--sign", str(sign), "-q")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "interpreter" in r.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ([] if make == "missing" else ["sign.mp4"])


@pytest.mark.parametrize("mode", ["fit", "fill"])
def test_landscape_input_is_reframed_to_a_vertical_frame(media, tmp_path, mode):
    out = tmp_path / "out.mp4"
    args = ["burn", str(media["landscape"]), "--subs", str(media["srt"]), "-o", str(out), "-q"]
    r = run_cli(*args, *([] if mode == "fit" else ["--reframe", "fill"]))  # fit is the default for 16:9
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info.display_width, info.display_height) == (1080, 1920)
    frame = frame_at(out, 2.0)
    source = np.asarray(ocr.extract_frames(media["landscape"], [2.0])[0].convert("RGB"))
    if mode == "fit":
        picture = np.asarray(Image.fromarray(source).resize((1080, 608), Image.BICUBIC)).astype(np.int16)
        top = (1920 - 608) // 2
        assert np.abs(frame[top + 8 : top + 600, :] - picture[8:600]).mean() < 10, "the whole picture, centred"
        backdrop = frame[:top - 20]
        # Blurred: neighbouring pixels differ little; darkened: dimmer than the picture.
        assert np.abs(np.diff(backdrop, axis=1)).mean() < 2.5
        assert backdrop.mean() < picture.mean()
    else:
        w = round(1920 * 16 / 9)
        scaled = np.asarray(Image.fromarray(source).resize((w, 1920), Image.BICUBIC)).astype(np.int16)
        x0 = (w - 1080) // 2
        # Compare above the caption band.
        assert np.abs(frame[:1100] - scaled[:1100, x0 : x0 + 1080]).mean() < 10


def words_json(path: Path, cue_lines: tuple[str, ...], start: float, step: float) -> list[Word]:
    words, t = [], start
    for line in cue_lines:
        for w in line.split():
            words.append(Word(w, t, t + step * 0.9))
            t += step
    cue = Cue(start, t + 0.3, cue_lines, tuple(words))
    doc = {"cues": [cue.to_dict()], "words": [w.to_dict() for w in words]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return words


def test_word_highlight_moves_right_to_left_over_whole_words(media, tmp_path):
    lines = ("نريد أن يصل صوتنا", "إلى الجميع اليوم")
    subs = tmp_path / "words.json"
    words = words_json(subs, lines, 0.2, 0.55)
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(subs), "-o", str(out), "--highlight", "word", "-q")
    assert r.returncode == 0, r.stderr
    style_layout = compose(probe(media["grey"]), get_preset("tiktok")).style
    boxes = layout_cue(Cue(0, 1, lines), style_layout)
    frames = ocr.extract_frames(out, [w.start + 0.25 for w in words])
    centres: list[tuple[int, float]] = []
    n_first = len(lines[0].split())
    for k, (word, frame) in enumerate(zip(words, frames)):
        rgb = np.asarray(frame.convert("RGB")).astype(np.int16)
        yellow = (rgb[..., 0] > 170) & (rgb[..., 1] > 170) & (rgb[..., 2] < 110)
        ys, xs = np.nonzero(yellow)
        assert len(xs) > 150, f"word {k} ({word.text}) is highlighted"
        line = 0 if k < n_first else 1
        l, t, r_, b = boxes[line].box
        assert t - 4 <= ys.min() and ys.max() <= b + 4, "the highlight is on the word's line"
        assert xs.max() - xs.min() < 0.6 * (r_ - l), "one word, not the line"
        centres.append((line, xs.mean()))
        # The text itself is unchanged while the highlight moves.
        reading = ocr.read_line(frame, lines[line], boxes[line].box)
        assert reading.cer <= 0.1, reading
    for (la, xa), (lb_, xb) in zip(centres, centres[1:]):
        if la == lb_:
            assert xb < xa, "the highlight moves right to left along an Arabic line"


def test_presets_are_data_and_scale_to_the_frame():
    assert {"tiktok", "reels", "shorts", "generic", "children"} <= set(PRESETS)
    assert PRESETS["children"].max_cps == 17 and PRESETS["tiktok"].max_cps == 20
    for preset in PRESETS.values():
        big, small = preset.scaled(1080, 1920), preset.scaled(720, 1280)
        assert abs(small.left - big.left * 2 / 3) <= 1 and abs(small.bottom - big.bottom * 2 / 3) <= 1
        sl, st, sr, sb = big.safe
        assert sl <= big.left < big.right <= sr and big.bottom <= sb, f"{preset.name}: band inside the safe area"
    assert PRESETS["tiktok"].rail == "left" and PRESETS["reels"].rail == "right"


def test_style_file_overrides_preset_fields(tmp_path, media):
    style = tmp_path / "house.toml"
    style.write_text('preset = "tiktok"\ntext_colour = "#00FFFF"\nem_px = 64\nbox_opacity = 0.7\nmax_cps = 15\n')
    preset = CaptionSettings(preset="generic", style=style).resolved_preset()
    assert (preset.text_colour, preset.em_px, preset.box_opacity, preset.max_cps, preset.rail) == (
        "#00FFFF", 64.0, 0.7, 15.0, "left")
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(out), "--style", str(style), "-q")
    assert r.returncode == 0, r.stderr
    rgb = frame_at(out, 2.0)
    cyan = (rgb[..., 0] < 80) & (rgb[..., 1] > 200) & (rgb[..., 2] > 200)
    assert cyan.sum() > 500, "the house colour is burned"


@pytest.mark.parametrize(
    "content, message",
    [
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("em_px = 'big'\n", "em_px must be a number"),
        ("box_opacity = 1.5\n", "box_opacity must be from 0 to 1"),
        ("text_colour = 'white'\n", "#RRGGBB"),
        ("font_file = 'nope.ttf'\n", "does not exist"),
        ("preset = 'vine'\n", "preset must be one of"),
        ("em_px = \n", "not valid TOML"),
    ],
)
def test_bad_style_files_are_one_line_errors(tmp_path, content, message):
    style = tmp_path / "bad.toml"
    style.write_text(content)
    subs = tmp_path / "c.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:02,000\nمرحبا\n", encoding="utf-8")
    r = run_cli("lint", str(subs), "--style", str(style))
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_speaker_dashes_stay_at_the_start_of_arabic_lines(media, tmp_path):
    subs = tmp_path / "two.srt"
    # As typed in a left-to-right editor: one dash at the logical start, one left at the end.
    subs.write_text("1\n00:00:00,200 --> 00:00:03,500\n-هل ستأتي غدا؟\nنعم سآتي -\n", encoding="utf-8")
    from captioner.formats import load_cues

    (cue,) = load_cues(subs)
    assert cue.lines == ("- هل ستأتي غدا؟", "- نعم سآتي")
    out = tmp_path / "out.mp4"
    r = run_cli("burn", str(media["grey"]), "--subs", str(subs), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    style = compose(probe(media["grey"]), get_preset("tiktok")).style
    rgb = frame_at(out, 2.0)
    for lb in layout_cue(cue, style):
        l, t, r_, b = lb.box
        white = (rgb[t:b, l:r_] > 200).all(axis=2)
        columns = np.nonzero(white.any(axis=0))[0]
        # The rightmost glyph of an RTL line is where it starts: the dash, a short flat stroke.
        run_end = columns.max()
        run = [c for c in columns if c > run_end - 40]
        gaps = np.nonzero(np.diff(columns) > 6)[0]
        start = columns[gaps[-1] + 1] if len(gaps) else columns.min()
        rows = np.nonzero(white[:, start : run_end + 1].any(axis=1))[0]
        assert rows.max() - rows.min() < 0.25 * style.em, "the right-most mark is a dash"
        assert run


def test_caption_command_with_inset_highlight_and_reframe(media, tmp_path):
    """The whole issue-3 pass from speech: a landscape clip with speech, an interpreter, the spoken word marked."""
    video = tmp_path / "speech landscape.mp4"
    sample = Path(__file__).resolve().parents[1] / "samples" / "createforgood-ar.mp4"
    run_ffmpeg("-i", str(sample), "-f", "lavfi", "-i", "smptebars=s=1280x720:r=30", "-map", "1:v", "-map", "0:a",
               "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "copy", str(video))
    r = run_cli("caption", str(video), "--sign", str(media["bars"]), "--sign-border", "--highlight", "word", "-q")
    assert r.returncode == 0, r.stderr
    out = video.with_name(f"{video.stem}.captioned.mp4")
    info = probe(out)
    assert (info.display_width, info.display_height) == (1080, 1920)
    doc = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert doc["cues"] and doc["words"]
    _, inset = inset_for(out, media["bars"], border=True)
    frame = frame_at(out, 1.0)
    left, top, right, bottom = inset.rect
    border = frame[top + 2, left + 40 : right - 40]
    assert (border > 200).all(), "a white frame around the inset"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sign-size", "0.1"], "1/6"),
        (["--sign-key", "green"], "need an interpreter video"),
        (["--reframe", "stretch"], "invalid choice"),
        (["--highlight", "letter"], "invalid choice"),
    ],
)
def test_bad_composition_flags_are_usage_errors(media, tmp_path, args, message):
    extra = ["--sign", str(media["bars"])] if args[0] == "--sign-size" else []
    r = run_cli("burn", str(media["grey"]), "--subs", str(media["srt"]), "-o", str(tmp_path / "o.mp4"), *extra, *args)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o.mp4").exists()
