"""The pillow renderer (Pillow + moviepy) and the moviepy API: same output contract as libass.

Arabic read-back by OCR for both of its shaping paths is in test_render_ocr.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import ocr
from captioner import Cue, burn, caption
from captioner.render.pillow.draw import CueDrawer, has_raqm, resolve_shaping
from captioner.errors import CaptionerError, InputError
from captioner.formats import load_cues
from captioner.media.probe import probe
from captioner.styles.presets import get_preset
from captioner.render.layout import layout_cue
from captioner.styles.style import CaptionStyle
from conftest import ROOT, make_video, run_cli, run_ffmpeg
from test_burn import SRT, audio_packets, caption_box_pixels, frame_at

pytest.importorskip("moviepy", reason="the pillow renderer needs the moviepy extra")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("pillow") / "clip.mp4", duration=3.0, size=(540, 960), fps=25,
                      background="color=c=0x3060a0")


@pytest.fixture
def srt(tmp_path) -> Path:
    path = tmp_path / "edited.srt"
    path.write_text(SRT, encoding="utf-8")
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _style(width: int, height: int) -> CaptionStyle:
    return CaptionStyle.for_frame(get_preset("tiktok"), width, height)


# --- shaping: Raqm or the fallback, never both -------------------------------------------


def test_auto_shaping_follows_raqm_and_the_fallback_is_basic_layout(monkeypatch):
    from PIL import ImageFont, features

    style = _style(1080, 1920)
    if has_raqm():
        drawer = CueDrawer(style)
        assert drawer.shaping == "raqm" and drawer.font.layout_engine == ImageFont.Layout.RAQM
        text, kwargs = drawer.text_args("شارك الآن!", True)
        assert text == "شارك الآن!" and kwargs == {"direction": "rtl", "language": "ar"}  # logical, unshaped
    real_check = features.check
    monkeypatch.setattr(features, "check", lambda name: False if name == "raqm" else real_check(name))
    assert resolve_shaping("auto") == "fallback"
    with pytest.raises(CaptionerError, match="no Raqm"):
        resolve_shaping("raqm")
    drawer = CueDrawer(style)
    assert drawer.shaping == "fallback" and drawer.font.layout_engine == ImageFont.Layout.BASIC
    text, kwargs = drawer.text_args("شارك الآن!", True)
    assert kwargs == {}  # no direction for basic layout: the text is already in visual order
    assert text[0] == "!" and all("\ufe70" <= ch <= "\ufeff" for ch in text if ch not in " !")  # joined forms
    with pytest.raises(InputError, match="unknown shaping"):
        resolve_shaping("both")


def test_fallback_keeps_harakat_inside_the_box():
    style = _style(1080, 1920)
    cue = Cue(0, 1, ("أَهْلًا وَسَهْلًا بِكُمْ.",))
    for shaping in ["fallback"] + (["raqm"] if has_raqm() else []):
        drawer = CueDrawer(style, shaping)
        image = drawer.draw(cue)
        (lb,) = layout_cue(cue, style)
        left, top, right, bottom = lb.box
        # Everything drawn lies inside the box: the image is no larger than it.
        assert image.x >= left - 2 and image.y >= top - 2, shaping
        assert image.x + image.size[0] <= right + 2 and image.y + image.size[1] <= bottom + 2, shaping
        alpha = image.rgba[..., 3]
        text = (image.rgba[..., :3].min(axis=2) > 200) & (alpha > 200)
        assert text.sum() > 1000, shaping  # harakat and letters drawn, white


# --- the output contract ------------------------------------------------------------------


def test_burn_keeps_size_rate_duration_copies_audio_and_leaves_the_input(tmp_path, clip, srt):
    before = _sha(clip)
    out = burn(clip, srt, tmp_path / "out.mp4", renderer="pillow")
    src, dst = probe(clip), probe(out)
    assert (dst.display_width, dst.display_height) == (src.display_width, src.display_height)
    assert dst.fps == src.fps == Fraction(25)
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        assert sum(1 for _ in b.decode(video=0)) == sum(1 for _ in a.decode(video=0))  # every frame, no more
        assert b.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert abs(dst.duration - src.duration) <= float(1 / src.fps)
    assert audio_packets(out) == audio_packets(clip)  # copied bit for bit, not re-encoded
    assert caption_box_pixels(frame_at(out, 0.5)) > 200
    assert _sha(clip) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edited.srt", "out.mp4"]  # no temporary left


def test_pillow_and_libass_burns_agree_pixel_for_pixel(tmp_path, clip, srt):
    """Same layout, same colours: the two renders differ only in anti-aliasing at glyph edges."""
    libass = burn(clip, srt, tmp_path / "libass.mp4")
    pillow = burn(clip, srt, tmp_path / "pillow.mp4", renderer="pillow")
    a, b = frame_at(libass, 0.5).astype(int), frame_at(pillow, 0.5).astype(int)
    diff = np.abs(a - b).max(axis=2)
    style = _style(540, 960)
    top = min(lb.box[1] for cue in load_cues(srt) for lb in layout_cue(cue, style)) - 4
    # RGB and back (moviepy works in RGB) costs at most a level of rounding; no colour shift.
    assert diff[:top].mean() < 1.5 and diff[:top].max() <= 2, "the picture outside the captions changed"
    assert diff[top:].mean() < 4, diff[top:].mean()
    assert (diff[top:] > 64).mean() < 0.01  # glyph-edge pixels only


def test_bt709_video_stays_bt709(tmp_path, srt):
    source = tmp_path / "hd.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=540x960:r=25:d=1", "-vf", "scale=out_color_matrix=bt709:out_range=tv",
               "-colorspace", "bt709", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source))
    out = burn(source, srt, tmp_path / "out.mp4", renderer="pillow")
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.colorspace == 1  # BT.709, as the input
    # Decoded by ffmpeg, which honours the tags: the picture above the captions keeps its colours.
    def rgb(path):
        return np.asarray(ocr.extract_frames(path, [0.5])[0], dtype=int)[:500]

    assert np.abs(rgb(out) - rgb(source)).mean() < 1.5


def test_captions_appear_and_vanish_on_the_right_frames(tmp_path, clip):
    cues = [Cue(0.48, 1.48, ("السطر الأول",)), Cue(1.56, 2.52, ("السطر الثاني",))]  # 25 fps: frame-aligned
    out = burn(clip, cues, tmp_path / "timed.mp4", renderer="pillow")
    with av.open(str(out)) as c:
        shown = {round(f.time, 2): caption_box_pixels(f.to_ndarray(format="rgb24")) > 100 for f in c.decode(video=0)}
    for t, visible in shown.items():
        expected = any(cue.start - 1e-6 <= t < cue.end - 1e-6 for cue in cues)
        assert visible == expected, f"frame at {t}s: captions {'shown' if visible else 'missing'}"


def test_odd_sizes_rotation_and_pcm_audio(tmp_path, srt):
    source = tmp_path / "odd.mov"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=0x3060a0:s=541x961:r=30:d=1", "-f", "lavfi", "-i", "sine=d=1",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "pcm_s16le", str(source))
    result = probe(burn(source, srt, tmp_path / "odd.mp4", renderer="pillow"))
    assert (result.width, result.height, result.audio_codec) == (542, 962, "aac")  # PCM can't go in MP4

    stored = make_video(tmp_path / "landscape.mp4", duration=1.0, size=(640, 360), background="color=c=0x3060a0")
    rotated = tmp_path / "phone.mp4"
    run_ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(rotated))
    out = burn(rotated, srt, tmp_path / "upright.mp4", renderer="pillow")
    frame = frame_at(out, 0.5)
    assert frame.shape[:2] == (640, 360) and probe(out).rotation == 0
    assert caption_box_pixels(frame) > 50


# --- CLI ------------------------------------------------------------------------------------


def test_cli_burn_with_the_pillow_renderer(tmp_path, clip, srt):
    out = tmp_path / "مقطع التحدي (نهائي).mp4"
    result = run_cli("burn", str(clip), "--subs", str(srt), "-o", str(out), "--renderer", "pillow", "-q")
    assert result.returncode == 0, result.stderr
    assert caption_box_pixels(frame_at(out, 0.5)) > 200


def test_cli_rejects_an_unknown_renderer(tmp_path, clip, srt):
    result = run_cli("burn", str(clip), "--subs", str(srt), "-o", str(tmp_path / "x.mp4"), "--renderer", "cairo")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--renderer" in result.stderr and not (tmp_path / "x.mp4").exists()


def test_missing_moviepy_is_one_line_naming_the_extra(tmp_path, clip, srt):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "moviepy.py").write_text("raise ImportError('blocked by the test')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "x.mp4"
    result = run_cli("burn", str(clip), "--subs", str(srt), "-o", str(out), "--renderer", "pillow", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "captioner: error: the pillow renderer needs the moviepy extra: pip install 'captioner[moviepy]' (cannot import moviepy)"
    ]
    assert not out.exists() and list(tmp_path.glob(".*part*")) == []
    assert run_cli("burn", str(clip), "--subs", str(srt), "-o", str(out), env=env).returncode == 0  # libass unaffected


# --- the moviepy API ------------------------------------------------------------------------


def test_caption_clip_frames_read_back(tmp_path, clip):
    from moviepy import CompositeVideoClip, ImageClip

    from captioner.moviepy import caption_clip

    cues = [Cue(0.2, 1.4, ("شارك الآن!",)), Cue(1.6, 2.8, ("لدينا 30 متطوعًا.",))]
    composite = caption_clip(str(clip), cues)
    assert isinstance(composite, CompositeVideoClip) and tuple(composite.size) == (540, 960)
    assert [type(c) for c in composite.clips[1:]] == [ImageClip, ImageClip]
    assert composite.duration == pytest.approx(3.0, abs=0.05) and composite.audio is not None
    style = _style(540, 960)
    assert caption_box_pixels(composite.get_frame(1.5)) == 0  # between the cues
    jobs = []
    for cue in cues:
        frame = composite.get_frame((cue.start + cue.end) / 2)
        jobs += [(Image.fromarray(frame), lb.text, lb.box) for lb in layout_cue(cue, style)]
    if ocr.tesseract_langs() >= {"ara"}:
        readings = ocr.read_lines(jobs)
        assert ocr.check_readings(readings, 0.2) == [], "\n".join(map(str, readings))


def test_caption_clip_takes_a_subtitle_file_and_a_clip(clip, srt):
    from moviepy import VideoFileClip

    from captioner.moviepy import caption_clip

    with VideoFileClip(str(clip)) as video:
        composite = caption_clip(video, srt)
        assert len(composite.clips) == 3  # the video and the SRT's two cues
        assert caption_box_pixels(composite.get_frame(0.5)) > 200


# --- README example -----------------------------------------------------------------------


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### moviepy") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_moviepy_example_runs(tmp_path):
    make_video(tmp_path / "clip.mp4", duration=2.0, size=(540, 960), fps=10, background="color=c=0x3060a0")
    result = subprocess.run([sys.executable, "-c", _readme_example()], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("clip.pillow.mp4", "clip.moviepy.mp4"):
        assert probe(tmp_path / name).duration == pytest.approx(2.0, abs=0.15), name
        assert caption_box_pixels(frame_at(tmp_path / name, 0.5)) > 100, name


# --- caption() with the pillow renderer, on speech -------------------------------------------


def test_caption_with_the_pillow_renderer_and_a_transcribing_caption_clip(tmp_path, recognizer):
    from captioner.moviepy import caption_clip

    sample = ROOT / "samples" / "createforgood-ar.mp4"
    source = tmp_path / "sample.mp4"
    run_ffmpeg("-i", str(sample), "-t", "6", "-c", "copy", str(source))
    result = caption(source, tmp_path / "out.mp4", renderer="pillow", recognizer=recognizer)
    assert result.cues and result.video.is_file()
    assert audio_packets(result.video) == audio_packets(source)
    composite = caption_clip(str(source), recognizer=recognizer)
    assert len(composite.clips) == 1 + len(result.cues)  # the same cues, drawn as ImageClips


def test_frame_prefetch_passes_errors_on_and_stops_when_abandoned():
    import threading

    from captioner.render.pillow.composite import prefetched

    def frames():
        yield 1
        yield 2
        raise OSError("decoder died")

    got = []
    with pytest.raises(OSError, match="decoder died"):
        for item in prefetched(frames()):
            got.append(item)
    assert got == [1, 2]
    endless = prefetched(iter(range(10**9)), depth=2)
    assert next(endless) == 0
    endless.close()  # the consumer stops early (ffmpeg failed): the producer thread ends too
    assert not any(t.name == "captioner-frames" for t in threading.enumerate())


def test_what_the_pillow_renderer_does_not_do_is_refused_before_any_work(tmp_path, clip, srt):
    out = tmp_path / "x.mp4"
    for extra, named in [(["--highlight", "word"], "--highlight"), (["--reframe", "fill"], "--reframe")]:
        result = run_cli("burn", str(clip), "--subs", str(srt), "-o", str(out), "--renderer", "pillow", *extra)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and named in result.stderr
        assert "--renderer libass" in result.stderr and not out.exists()
    interpreter = make_video(tmp_path / "sign.mp4", duration=1.0, size=(360, 640), fps=25, audio=None)
    with pytest.raises(InputError, match="interpreter inset"):
        burn(clip, srt, out, renderer="pillow", sign=interpreter)
    assert not out.exists()
