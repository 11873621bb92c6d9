"""File names are not ffmpeg URLs: every path a user names is read as that local file, on every command.

Typed as a file name, ``subfile,,start,0,end,0,,:other.mp4``, ``file:other.mp4``,
``concat:other.mp4|other.mp4`` or ``http:other.mp4`` would make ffmpeg/PyAV read
``other.mp4`` (or the network) instead, and ``2024-01-01T10:30.mp4`` would be an
unknown protocol.  Each test puts clip A under the hostile name and a different
clip B at ``other.mp4``, and checks that what was read is A.  A file whose
*content* names other files (an ffconcat script, an HLS playlist) is refused,
and so is anything that is not a regular file (a FIFO would block forever).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ocr
from batchclips import speech_clip
from conftest import make_video, run_cli

NAMES = [
    "subfile,,start,0,end,0,,:other.mp4",
    "file:other.mp4",
    "concat:other.mp4|other.mp4",
    "http:other.mp4",
    "2024-01-01T10:30.mp4",
]
A_SIZE, B_SIZE = (216, 384), (144, 256)
SRT = "1\n00:00:00,200 --> 00:00:01,500\nمرحبا بكم\n"


def size_and_duration(path: Path) -> tuple[tuple[int, int], float]:
    import av

    with av.open(str(path.resolve())) as c:
        s = c.streams.video[0]
        return (s.codec_context.width, s.codec_context.height), float(s.duration * s.time_base)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    """A: the sample's speech over a test pattern, 216x384, 3 s.  B: a blue 144x256 clip with a tone, 1.5 s."""
    folder = tmp_path_factory.mktemp("clips")
    a = speech_clip(folder / "a.mp4", 0, duration=3.0)
    b = make_video(folder / "b.mp4", duration=1.5, size=B_SIZE, background="color=c=blue")
    return a, b


def hostile_folder(root: Path, clips, name: str) -> Path:
    """A folder holding clip A as ``name`` and clip B as ``other.mp4``."""
    a, b = clips
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(a, root / name)
    shutil.copyfile(b, root / "other.mp4")
    return root


@pytest.mark.parametrize("name", NAMES)
def test_probe_and_audio_read_the_named_file(tmp_path, monkeypatch, clips, name):
    from captioner.media.audio import load_audio
    from captioner.media.probe import probe
    from captioner.render.pillow.composite import bt709_tags

    hostile_folder(tmp_path, clips, name)
    monkeypatch.chdir(tmp_path)  # the name as a user types it: relative
    info = probe(name)
    assert (info.width, info.height) == A_SIZE and abs(info.duration - 3.0) < 0.1
    audio = load_audio(name)
    assert abs(len(audio) / 16000 - 3.0) < 0.1  # B's audio is 1.5 s
    assert bt709_tags(Path(name)) == {}  # opened, and it is not tagged


@pytest.mark.parametrize("name", NAMES)
def test_burn_reads_the_named_file(tmp_path, clips, name):
    folder = hostile_folder(tmp_path / "in", clips, name)
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    result = run_cli("burn", name, "--subs", "subs.srt", "-o", "out.mp4", "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    size, duration = size_and_duration(folder / "out.mp4")
    assert size == A_SIZE and abs(duration - 3.0) < 0.1
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, "other.mp4", "subs.srt", "out.mp4"])


def test_the_pillow_renderer_reads_the_named_file(tmp_path, clips):
    """moviepy hands ffmpeg the name it is given: it gets an absolute file: URL too."""
    pytest.importorskip("moviepy", reason="the moviepy extra is not installed")
    name = NAMES[0]
    folder = hostile_folder(tmp_path / "in", clips, name)
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    result = run_cli("burn", name, "--subs", "subs.srt", "-o", "out.mp4", "--renderer", "pillow", "--reframe", "none",
                     "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    size, duration = size_and_duration(folder / "out.mp4")
    assert size == A_SIZE and abs(duration - 3.0) < 0.1


@pytest.mark.parametrize("sign_name", ["file:sign.mp4", "2024-01-01T10:31.mp4"])
def test_the_interpreter_video_is_the_named_file(tmp_path, clips, sign_name):
    """--sign: a red interpreter under the hostile name, a blue one at the name it would be read as."""
    folder = hostile_folder(tmp_path / "in", clips, "clip.mp4")
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    make_video(folder / sign_name, duration=3.0, size=(360, 640), audio=None, background="color=c=red")
    make_video(folder / "sign.mp4", duration=3.0, size=(360, 640), audio=None, background="color=c=blue")
    result = run_cli("burn", "clip.mp4", "--subs", "subs.srt", "-o", "out.mp4", "--sign", sign_name,
                     "--sign-position", "right", "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    from captioner.media.probe import probe
    from captioner.render.compose import compose
    from captioner.render.inset import SignOptions
    from captioner.styles.presets import get_preset

    layout = compose(probe(folder / "out.mp4"), get_preset("tiktok"), sign=SignOptions(folder / sign_name))
    left, top, right, bottom = layout.sign[1].rect
    frame = np.asarray(ocr.extract_frames(folder / "out.mp4", [1.0])[0].convert("RGB")).astype(int)
    r, g, b = frame[top + 2:bottom - 2, left + 2:right - 2].reshape(-1, 3).mean(axis=0)
    assert r > 150 and b < 80, (r, g, b)  # red: the named file, not sign.mp4


def test_transcribe_and_caption_read_the_named_file(tmp_path, clips):
    """A (speech) as ``file:other.mp4``, B (a tone) as ``other.mp4``: words mean A was heard."""
    folder = hostile_folder(tmp_path / "in", clips, "file:other.mp4")
    result = run_cli("transcribe", "file:other.mp4", "-o", "a.json", "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    words = json.loads((folder / "a.json").read_text(encoding="utf-8"))["words"]
    assert len(words) >= 2
    shutil.copyfile(clips[0], folder / NAMES[0])
    result = run_cli("caption", NAMES[0], "-o", "captioned.mp4", "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    size, duration = size_and_duration(folder / "captioned.mp4")
    assert size == A_SIZE and abs(duration - 3.0) < 0.1
    assert (folder / "captioned.srt").read_text(encoding="utf-8").strip()


def test_batch_reads_the_named_files(tmp_path, clips):
    """A folder and a manifest whose files have hostile names: each output is A's, written under OUT_DIR."""
    folder = tmp_path / "in"
    for name in NAMES[:2]:
        hostile_folder(folder, clips, name)
    out = tmp_path / "out"
    result = run_cli("batch", "in", "--out", "out", "--workers", "1", "-q", cwd=tmp_path)
    report = {c["name"]: c for c in json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"]}
    assert result.returncode == 1, result.stderr  # other.mp4 (B, a tone) has nothing to caption
    for name in NAMES[:2]:
        assert report[name]["status"] == "ok", report[name]
        size, duration = size_and_duration(Path(report[name]["output"]))
        assert size == A_SIZE and abs(duration - 3.0) < 0.1
        assert Path(report[name]["output"]).parent == out.resolve()
    assert report["other.mp4"]["status"] == "failed"  # B is a tone: nothing to caption, and it says so
    assert "no speech" in report["other.mp4"]["error"]


@pytest.mark.parametrize("content", ["concat", "hls"])
def test_a_file_whose_content_names_other_files_is_refused(tmp_path, clips, content):
    """An ffconcat script or an HLS playlist saved as a clip would make the demuxer read the files it lists."""
    folder = hostile_folder(tmp_path / "in", clips, "secret.mp4")
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    if content == "concat":
        (folder / "clip.mp4").write_text("ffconcat version 1.0\nfile secret.mp4\n")
        name = "clip.mp4"
    else:
        (folder / "list.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
                                          "#EXTINF:3.0,\nsecret.mp4\n#EXT-X-ENDLIST\n")
        name = "list.m3u8"
    before = sorted(p.name for p in folder.iterdir())
    result = run_cli("burn", name, "--subs", "subs.srt", "-o", "out.mp4", cwd=folder)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a readable media file" in lines[0], result.stderr
    assert sorted(p.name for p in folder.iterdir()) == before
    # --sign and batch read through the same door.
    result = run_cli("burn", "secret.mp4", "--subs", "subs.srt", "-o", "out.mp4", "--sign", name, cwd=folder)
    assert result.returncode == 2 and "interpreter video" in result.stderr, result.stderr


def test_a_font_file_with_a_url_like_name_is_that_file(tmp_path, clips):
    from captioner.styles.fonts import package_font

    folder = hostile_folder(tmp_path / "in", clips, "clip.mp4")
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    shutil.copyfile(package_font(), folder / "file:caption.ttf")
    (folder / "house.toml").write_text('font_file = "file:caption.ttf"\n', encoding="utf-8")
    result = run_cli("burn", "clip.mp4", "--subs", "subs.srt", "-o", "out.mp4", "--style", "house.toml", "-q",
                     cwd=folder)
    assert result.returncode == 0, result.stderr


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("what", ["input", "sign", "subs", "style", "font", "manifest", "device", "loop", "folder"])
def test_anything_but_a_regular_file_is_one_line_at_once(tmp_path, clips, what):
    """A FIFO would block the reader forever, /dev/zero would never end, a symlink loop is no file at all."""
    folder = hostile_folder(tmp_path / "in", clips, "clip.mp4")
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    args = ["burn", "clip.mp4", "--subs", "subs.srt", "-o", "out.mp4"]
    if what == "input":
        _fifo(folder / "pipe.mp4")
        args[1] = "pipe.mp4"
    elif what == "sign":
        _fifo(folder / "pipe.mp4")
        args += ["--sign", "pipe.mp4"]
    elif what == "subs":
        _fifo(folder / "pipe.srt")
        args[3] = "pipe.srt"
    elif what == "style":
        _fifo(folder / "pipe.toml")
        args += ["--style", "pipe.toml"]
    elif what == "font":
        _fifo(folder / "pipe.ttf")
        (folder / "house.toml").write_text('font_file = "pipe.ttf"\n')
        args += ["--style", "house.toml"]
    elif what == "manifest":
        _fifo(folder / "pipe.csv")
        args = ["batch", "pipe.csv", "--out", "o"]
    elif what == "device":
        (folder / "zero.mp4").symlink_to("/dev/zero")
        args[1] = "zero.mp4"
    elif what == "loop":
        (folder / "loop.mp4").symlink_to("loop.mp4")
        args[1] = "loop.mp4"
    else:
        (folder / "dir.mp4").mkdir()
        args[1] = "dir.mp4"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "captioner", *args], cwd=folder, capture_output=True, text=True,
                          timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("captioner: error:") and "Traceback" not in proc.stderr
    expected = {"loop": "symlink loop", "folder": "folder", "device": "not a regular file"}.get(what, "not a regular file")
    assert expected in lines[0], lines[0]
    assert not (folder / "out.mp4").exists() and not (folder / "o").exists()


def test_a_name_that_is_not_utf8_is_captioned_and_reported(tmp_path, clips):
    """Linux file names are bytes: one that is not UTF-8 is burned, captioned in a batch and reported, not a crash."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"clip-\xff\xfe.mp4")
    shutil.copyfile(clips[0], folder / name)
    (tmp_path / "subs.srt").write_text(SRT, encoding="utf-8")
    result = run_cli("burn", str(folder / name), "--subs", "subs.srt", "-o", os.fsdecode(b"out-\xff.mp4"), "-q",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert size_and_duration(tmp_path / os.fsdecode(b"out-\xff.mp4"))[0] == A_SIZE
    result = run_cli("batch", "in", "--out", "out", "--workers", "1", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    clip = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["clips"][0]
    assert clip["status"] == "ok" and clip["name"] == "clip-\\xff\\xfe.mp4"
    assert (tmp_path / "out" / os.fsdecode(b"clip-\xff\xfe.srt")).is_file()
    assert "clip-\\xff\\xfe.mp4" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
