"""The CLI as a user meets it: help, exit codes, one-line errors, nothing written on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import interruptible, make_video, run_cli

ARABIC_SRT = """1
00:00:00,200 --> 00:00:01,800
هل انضممت إلى التحدي ?

2
00:00:01,900 --> 00:00:03,000
!شارك الآن
"""


def listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def assert_one_line_error(result, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("captioner: error:")
    return lines[0]


@pytest.mark.parametrize("command", ["caption", "batch", "transcribe", "burn", "lint", "doctor"])
def test_every_command_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: captioner " + command in result.stdout


def test_bad_usage_exits_2():
    assert_one_line_error(run_cli("caption"))
    assert_one_line_error(run_cli("caption", "x.mp4", "--preset", "nope"))
    assert_one_line_error(run_cli("caption", "x.mp4", "--cps", "-3"))
    assert run_cli().returncode == 2


@pytest.fixture(scope="module")
def silent_video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("silent") / "silent.mp4", duration=1.0, size=(108, 192), audio=None)


@pytest.mark.parametrize("case", ["zero-byte", "text-as-mp4", "no-audio", "missing", "folder"])
@pytest.mark.parametrize("command", ["caption", "transcribe"])
def test_bad_input_fails_cleanly(tmp_path, silent_video, case, command):
    if case == "zero-byte":
        source = tmp_path / "empty.mp4"
        source.write_bytes(b"")
    elif case == "text-as-mp4":
        source = tmp_path / "notes.mp4"
        source.write_text("this is not a video\n")
    elif case == "no-audio":
        source = tmp_path / "silent.mp4"
        source.write_bytes(silent_video.read_bytes())
    elif case == "folder":
        source = tmp_path / "a-folder.mp4"
        source.mkdir()
    else:
        source = tmp_path / "missing.mp4"
    before = listing(tmp_path)
    args = [command, str(source)] + (["-o", str(tmp_path / "out.srt")] if command == "transcribe" else [])
    message = assert_one_line_error(run_cli(*args))
    assert source.name in message
    assert listing(tmp_path) == before  # nothing created, input untouched


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", duration=3.0, size=(216, 384))


@pytest.fixture
def srt_file(tmp_path) -> Path:
    path = tmp_path / "edited.srt"
    path.write_text(ARABIC_SRT, encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["missing-folder", "parent-is-a-file", "read-only"])
def test_unwritable_output_folder(tmp_path, small_clip, srt_file, where):
    if where == "missing-folder":
        output = tmp_path / "no" / "such" / "out.mp4"
    elif where == "parent-is-a-file":
        (tmp_path / "file").write_text("x")
        output = tmp_path / "file" / "out.mp4"
    else:
        if os.geteuid() == 0:
            output = Path("/proc/out.mp4")  # root ignores permission bits; /proc refuses new files
        else:
            locked = tmp_path / "locked"
            locked.mkdir(mode=0o555)
            output = locked / "out.mp4"
    before = listing(tmp_path)
    assert_one_line_error(run_cli("burn", str(small_clip), "--subs", str(srt_file), "-o", str(output)))
    assert_one_line_error(run_cli("caption", str(small_clip), "-o", str(output)))
    assert listing(tmp_path) == before


def test_never_overwrites_input_or_existing_output(tmp_path, small_clip, srt_file):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(small_clip.read_bytes())
    stamp = clip.stat().st_mtime_ns
    assert_one_line_error(run_cli("burn", str(clip), "--subs", str(srt_file), "-o", str(clip), "--force"))
    assert clip.stat().st_mtime_ns == stamp
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"keep me")
    message = assert_one_line_error(run_cli("burn", str(clip), "--subs", str(srt_file), "-o", str(existing)))
    assert "--force" in message
    assert existing.read_bytes() == b"keep me"
    result = run_cli("burn", str(clip), "--subs", str(srt_file), "-o", str(existing), "--force")
    assert result.returncode == 0, result.stderr
    assert existing.stat().st_size > 1000
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_bad_subtitle_files(tmp_path, small_clip):
    junk = tmp_path / "junk.srt"
    junk.write_bytes(b"\x00\xff\x00garbage")
    assert_one_line_error(run_cli("burn", str(small_clip), "--subs", str(junk), "-o", str(tmp_path / "o.mp4")))
    weird = tmp_path / "subs.txt"
    weird.write_text("hello")
    assert_one_line_error(run_cli("lint", str(weird)))
    assert not (tmp_path / "o.mp4").exists()


def test_lint_reports_each_broken_cue(tmp_path):
    srt = tmp_path / "fast.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:00,500\nهذه جملة طويلة جدا تعرض في نصف ثانية فقط\n\n"
        "2\n00:00:00,450 --> 00:00:02,000\nسطر أول\nسطر ثاني\nسطر ثالث\n\n"
        "3\n00:00:05,000 --> 00:00:07,000\nهذا التعليق سليم تماما.\n",
        encoding="utf-8",
    )
    result = run_cli("lint", str(srt))
    assert result.returncode == 1
    out = result.stdout.strip().splitlines()
    assert any(line.startswith("#1 00:00:00,000 reading-speed") for line in out), out
    assert any(line.startswith("#1 00:00:00,000 duration") for line in out)
    assert any(line.startswith("#1 00:00:00,000 overlap") for line in out)
    assert any(line.startswith("#2 00:00:00,450 lines") for line in out)
    assert not any(line.startswith("#3") for line in out)
    good = tmp_path / "good.srt"
    good.write_text("1\n00:00:01,000 --> 00:00:03,000\nهذا التعليق سليم تماما.\n", encoding="utf-8")
    assert run_cli("lint", str(good)).returncode == 0


def test_doctor_passes_here():
    result = run_cli("doctor")
    assert result.returncode == 0, result.stdout
    assert "libass" in result.stdout and "model" in result.stdout


def test_doctor_names_the_fix_when_ffmpeg_lacks_libass(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'ffmpeg version fake'\necho ' .. drawbox V->V Draw a box'\n")
    fake.chmod(0o755)
    result = run_cli("doctor", env={"CAPTIONER_FFMPEG": str(fake)})
    assert result.returncode == 1
    assert "FAIL libass" in result.stdout and "fix:" in result.stdout


def test_ctrl_c_leaves_no_partial_output(tmp_path, srt_file):
    import signal
    import subprocess
    import sys
    import time

    clip = make_video(tmp_path / "long.mp4", duration=40.0, size=(1080, 1920))
    before = listing(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "burn", str(clip), "--subs", str(srt_file), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not [p for p in tmp_path.iterdir() if ".part" in p.name]:
        time.sleep(0.05)  # wait until ffmpeg is writing the temporary output
    assert [p for p in tmp_path.iterdir() if ".part" in p.name], "burn never started writing"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert listing(tmp_path) == before


def test_unknown_language_is_bad_input(tmp_path, small_clip):
    result = run_cli("transcribe", str(small_clip), "-o", str(tmp_path / "x.srt"), "--lang", "klingon")
    assert_one_line_error(result)
    assert not (tmp_path / "x.srt").exists()
