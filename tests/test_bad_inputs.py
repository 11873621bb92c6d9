"""One bad input fails only its clip; a truncated or damaged video is refused in one line before burning.

A campaign's inputs come from strangers: a symlink loop, a file nobody may
read, a FIFO, a file deleted while the batch runs, an upload cut short, an MP4
whose index never arrived.  Each fails alone with its reason; the rest are
captioned.  A video cut short is never burned into a shorter output with exit 0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchclips import events, speech_clip
from conftest import make_video, run_cli, run_ffmpeg

SRT = "1\n00:00:00,200 --> 00:00:01,500\nمرحبا بكم\n"


def cut(source: Path, target: Path, share: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * share)])
    return target


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """A faststart MP4 (index first, as uploads are), the same as Matroska and WebM, and one with its index last."""
    folder = tmp_path_factory.mktemp("damaged")
    w, h = 216, 384
    args = ["-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r=30:d=8", "-f", "lavfi", "-i", "sine=d=8",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p"]
    run_ffmpeg(*args, "-c:a", "aac", "-movflags", "+faststart", str(folder / "front.mp4"))
    run_ffmpeg(*args, "-c:a", "aac", str(folder / "back.mp4"))
    run_ffmpeg("-i", str(folder / "front.mp4"), "-c", "copy", str(folder / "whole.mkv"))
    run_ffmpeg(*args[:8], "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus",
               str(folder / "whole.webm"))
    return {p.stem if p.suffix == ".mp4" else p.suffix[1:]: p for p in folder.iterdir()}


@pytest.mark.parametrize("name, share, words, command", [
    ("front", 0.5, "the file is incomplete", "burn"),
    ("front", 0.9, "the file is incomplete", "burn"),
    ("front", 0.995, "the file is incomplete", "burn"),
    ("back", 0.95, "without its index", "burn"),  # the index (moov) comes last: a cut file has none
    ("mkv", 0.6, "the file is incomplete", "burn"),
    ("webm", 0.7, "the file is incomplete", "burn"),
    ("front", 0.9, "the file is incomplete", "transcribe"),  # the same probe, before any recognition
    ("back", 0.95, "without its index", "transcribe"),
])
def test_a_video_cut_short_is_refused_in_one_line(tmp_path, media, name, share, words, command):
    source = media[name]
    damaged = cut(source, tmp_path / f"cut{source.suffix}", share)
    (tmp_path / "subs.srt").write_text(SRT, encoding="utf-8")
    args = ["burn", damaged.name, "--subs", "subs.srt", "-o", "out.mp4"] if command == "burn" else \
        ["transcribe", damaged.name, "-o", "out.srt"]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.srt").exists()


@pytest.mark.parametrize("name", ["front", "back", "mkv", "webm"])
def test_whole_files_pass_the_check(media, name):
    from captioner.media.probe import probe

    assert abs(probe(media[name]).duration - 8.0) < 0.1


def test_a_second_audio_track_shorter_than_the_video_is_not_damage(tmp_path):
    """Streams may end at different times: only a stream cut short of what the header declares is damage."""
    from captioner.media.probe import probe

    clip = tmp_path / "short-audio.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=216x384:r=30:d=6", "-f", "lavfi", "-i", "sine=d=2",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip))
    assert abs(probe(clip).duration - 6.0) < 0.1
    mkv = tmp_path / "short-audio.mkv"
    run_ffmpeg("-i", str(clip), "-c", "copy", str(mkv))
    assert abs(probe(mkv).duration - 6.0) < 0.1


def _unreadable(path: Path) -> list[str]:
    """A prefix that runs a command without root's power to read any file (or None when that cannot be had)."""
    path.chmod(0)
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: a chmod 000 file stays readable to root")
    # Root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH obeys file permissions like anyone else.
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_an_unreadable_input_is_one_line(tmp_path):
    clip = make_video(tmp_path / "locked.mp4", duration=1.0, size=(216, 384))
    (tmp_path / "subs.srt").write_text(SRT, encoding="utf-8")
    prefix = _unreadable(clip)
    result = subprocess.run([*prefix, sys.executable, "-m", "captioner", "burn", "locked.mp4", "--subs", "subs.srt",
                             "-o", "out.mp4"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == ["captioner: error: locked.mp4: not readable (permission denied)"]


def test_each_bad_input_of_a_batch_fails_alone(tmp_path):
    """Good clips around a loop, an unreadable file, a FIFO, a cut upload and a file deleted mid-run."""
    inputs = tmp_path / "in"
    speech_clip(inputs / "a-good.mp4", 0, duration=3.0)
    speech_clip(inputs / "z-good.mp4", 1, duration=3.0)
    vanishing = speech_clip(inputs / "m-vanishes.mp4", 2, duration=3.0)
    (inputs / "loop.mp4").symlink_to("loop.mp4")
    os.mkfifo(inputs / "fifo.mp4")
    whole = speech_clip(tmp_path / "whole.mp4", 3, duration=3.0)
    cut(whole, inputs / "cut.mp4", 0.6)
    locked = make_video(inputs / "locked.mp4", duration=1.0, size=(216, 384))
    prefix = _unreadable(locked)
    out = tmp_path / "out"
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out),
                             "--workers", "1", "-q"], stderr=subprocess.PIPE, text=True)
    # Delete m-vanishes.mp4 as soon as the worker starts its first clip (a-good.mp4): it was planned, then went.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any(e["event"] == "start" for log in events(out).values() for e in log):
            vanishing.unlink()
            break
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    clips = {c["name"]: c for c in json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"]}
    assert clips["a-good.mp4"]["status"] == "ok" and clips["z-good.mp4"]["status"] == "ok"
    reasons = {
        "loop.mp4": "symlink loop",
        "fifo.mp4": "not a regular file",
        "cut.mp4": "incomplete",
        "locked.mp4": "not readable",
        "m-vanishes.mp4": "no such file",
    }
    for name, reason in reasons.items():
        assert clips[name]["status"] == "failed" and reason in clips[name]["error"], clips[name]
    leftovers = [p.name for p in out.rglob("*") if ".part" in p.name or p.name.endswith(".work")]
    assert leftovers == []
