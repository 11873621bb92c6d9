"""Burning: geometry, streams and timing kept, odd paths, rotation, hand-edited subtitles."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pysubs2
import pytest

from captioner import burn
from captioner.formats import load_cues
from captioner.media.probe import probe
from conftest import make_video, run_cli, run_ffmpeg

SRT = """1
00:00:00,100 --> 00:00:01,400
هل انضممت إلى التحدي ?

2
00:00:01,500 --> 00:00:02,900
!شارك الآن مع TikTok في 2026
"""


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for frame in c.decode(stream):
            if frame.time >= t:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t}s")


def caption_box_pixels(frame: np.ndarray) -> int:
    """Pixels of the band where captions sit that are pure white (text) inside dark (box)."""
    band = frame[int(frame.shape[0] * 0.6) : int(frame.shape[0] * 0.8)]
    return int(((band > 235).all(axis=2)).sum())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("burn") / "clip.mp4", duration=3.0, size=(540, 960), fps=25,
                      background="color=c=0x3060a0")


@pytest.fixture
def srt(tmp_path) -> Path:
    path = tmp_path / "edited.srt"
    path.write_text(SRT, encoding="utf-8")
    return path


def test_burn_keeps_size_rate_duration_and_copies_audio(tmp_path, clip, srt):
    out = burn(clip, srt, tmp_path / "out.mp4")
    src, dst = probe(clip), probe(out)
    assert (dst.display_width, dst.display_height) == (src.display_width, src.display_height)
    assert dst.fps == src.fps == Fraction(25)
    assert abs(dst.duration - src.duration) <= float(1 / src.fps)
    assert audio_packets(out) == audio_packets(clip)  # copied bit for bit, not re-encoded
    assert caption_box_pixels(frame_at(out, 0.5)) > 200  # captions visible
    assert caption_box_pixels(frame_at(clip, 0.5)) == 0


def test_typed_srt_is_normalised(srt):
    cues = load_cues(srt)
    assert cues[0].lines == ("هل انضممت إلى التحدي؟",)
    assert cues[1].lines == ("شارك الآن مع TikTok في 2026!",)


@pytest.mark.parametrize(
    "name",
    ["my clip's [final], v2.mp4", "a:b;c=d'e\"f.mp4", "مقطع التحدي (نهائي).mp4", "50%,x\\y.mp4", "-dash.mp4", "concat:x.mp4"],
)
def test_paths_cannot_inject_into_the_filter_graph(tmp_path, clip, srt, name):
    source = tmp_path / name
    source.write_bytes(clip.read_bytes())
    subs = tmp_path / f"{Path(name).stem}.srt"
    subs.write_text(SRT, encoding="utf-8")
    result = run_cli("burn", str(source), "--subs", str(subs), "-q")
    assert result.returncode == 0, result.stderr
    out = source.with_name(f"{source.stem}.captioned.mp4")
    assert out.is_file() and probe(out).duration > 2.5
    assert caption_box_pixels(frame_at(out, 0.5)) > 200


def test_rotated_phone_video_is_captioned_upright(tmp_path, srt):
    stored = make_video(tmp_path / "landscape.mp4", duration=2.0, size=(640, 360), background="color=c=0x3060a0")
    rotated = tmp_path / "phone.mp4"
    run_ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(rotated))
    info = probe(rotated)
    assert (info.width, info.height, info.rotation) == (640, 360, 90)
    assert (info.display_width, info.display_height) == (360, 640)
    out = burn(rotated, srt, tmp_path / "out.mp4")
    result = probe(out)
    assert (result.width, result.height, result.rotation) == (360, 640, 0)
    frame = frame_at(out, 0.5)
    assert frame.shape[:2] == (640, 360)
    assert caption_box_pixels(frame) > 50  # captions in the lower part of the upright frame


def test_ass_sidecar_has_playres_and_rtl_encoding(tmp_path, clip, srt):
    from captioner.formats import dumps
    from captioner.styles.presets import get_preset
    from captioner.styles.style import CaptionStyle

    style = CaptionStyle.for_frame(get_preset("tiktok"), 540, 960)
    text = dumps(load_cues(srt), "ass", style=style)
    subs = pysubs2.SSAFile.from_string(text)
    assert subs.info["PlayResX"] == "540" and subs.info["PlayResY"] == "960"
    assert all(s.encoding == -1 for s in subs.styles.values())
    assert subs.styles["Caption"].fontname == "Noto Sans Arabic"
    assert {e.style for e in subs} == {"Caption"}  # every event on the style the file defines
    lines = [e.plaintext for e in subs if not e.is_drawing]
    assert lines == ["هل انضممت إلى التحدي؟", "شارك الآن مع TikTok في 2026!"]
    ass_out = tmp_path / "edited.ass"
    ass_out.write_text(text, encoding="utf-8")
    assert [c.lines for c in load_cues(ass_out)] == [c.lines for c in load_cues(srt)]


def test_cp1256_and_bom_files_are_read(tmp_path):
    for name, data in [
        ("windows.srt", SRT.encode("cp1256", errors="strict").replace(b"\n", b"\r\n")),
        ("bom.srt", b"\xef\xbb\xbf" + SRT.encode()),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        assert load_cues(path)[0].lines == ("هل انضممت إلى التحدي؟",)


def test_sidecars_are_utf8_without_bom(tmp_path, srt):
    from captioner.formats import dumps

    for fmt in ("srt", "vtt"):
        text = dumps(load_cues(srt), fmt)
        assert not text.encode().startswith(b"\xef\xbb\xbf")
        assert "\u202bشارك الآن مع TikTok في 2026!\u202c" in text  # RTL embedding for players without full bidi


def test_captions_appear_and_vanish_on_the_right_frames(tmp_path, clip):
    """Frame-exact timing: shown on frames with start <= t < end, as libass shows an event."""
    from captioner.cues import Cue

    cues = [Cue(0.48, 1.48, ("السطر الأول",)), Cue(1.56, 2.52, ("السطر الثاني",))]  # 25 fps: frame-aligned
    out = burn(clip, cues, tmp_path / "timed.mp4")
    with av.open(str(out)) as c:
        shown = {round(f.time, 2): caption_box_pixels(f.to_ndarray(format="rgb24")) > 100 for f in c.decode(video=0)}
    for t, visible in shown.items():
        expected = any(cue.start - 1e-6 <= t < cue.end - 1e-6 for cue in cues)
        assert visible == expected, f"frame at {t}s: captions {'shown' if visible else 'missing'}"


def test_odd_frame_sizes_and_other_codecs(tmp_path, srt):
    """Phone exports come in odd sizes, HEVC and PCM-in-MOV; all must burn."""
    source = tmp_path / "odd.mov"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=0x3060a0:s=541x961:r=30:d=2", "-f", "lavfi", "-i", "sine=d=2",
               "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
               "-pix_fmt", "yuv444p", "-c:a", "pcm_s16le", str(source))
    out = burn(source, srt, tmp_path / "odd.captioned.mp4")
    result = probe(out)
    assert (result.width, result.height) == (542, 962)
    assert result.audio_codec == "aac"  # PCM cannot go into MP4: re-encoded, not dropped
    assert caption_box_pixels(frame_at(out, 0.5)) > 50


def test_subtitle_files_from_other_tools(tmp_path):
    vtt = tmp_path / "web.vtt"
    vtt.write_text(
        "WEBVTT\n\nNOTE made in a web editor\n\n00:00.500 --> 00:02.000 line:80% align:center\n"
        "<v أحمد>مرحبا <b>بكم</b> في التحدي!\n\nid2\n00:02.100 --> 00:03.900\n<i>شارك</i> الآن ?\n",
        encoding="utf-8",
    )
    assert [c.lines for c in load_cues(vtt)] == [("مرحبا بكم في التحدي!",), ("شارك الآن؟",)]
    srt = tmp_path / "tags.srt"
    srt.write_bytes(
        '1\r\n00:00:00,500 --> 00:00:02,000\r\n<font color="#ffff00">مرحبا</font> {\\an8}بكم\r\n\r\n'
        "2\r\n00:00:02,100 --> 00:00:03,900\r\nسطر أول\r\nسطر ثان\r\n".encode()
    )
    assert [c.lines for c in load_cues(srt)] == [("مرحبا بكم",), ("سطر أول", "سطر ثان")]
