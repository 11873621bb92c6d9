"""Every error path of every command: one printable line on stderr, exit 2 for bad input, 1 for the tool's own
failures, a traceback only with --debug, and nothing written."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_video, run_cli

SRT = "1\n00:00:00,200 --> 00:00:01,500\nمرحبا بكم\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("errors") / "clip.mp4", duration=1.0, size=(216, 384))


@pytest.fixture()
def folder(tmp_path, clip) -> Path:
    (tmp_path / "clip.mp4").write_bytes(clip.read_bytes())
    (tmp_path / "subs.srt").write_text(SRT, encoding="utf-8")
    (tmp_path / "garbage.srt").write_bytes(os.urandom(2000))
    (tmp_path / "existing.mp4").write_bytes(b"keep me")
    return tmp_path


def listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def check(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("captioner: error:") and "Traceback" not in result.stderr
    assert lines[0].isprintable(), lines[0]
    return lines[0]


BAD_INPUT = [
    ["caption", "missing.mp4"],
    ["caption", "clip.mp4", "-o", "out.avi"],
    ["caption", "clip.mp4", "-o", "existing.mp4"],
    ["caption", "clip.mp4", "-o", "nowhere/out.mp4"],
    ["caption", "clip.mp4", "--style", "missing.toml"],
    ["transcribe", "clip.mp4", "-o", "out.txt"],
    ["transcribe", "subs.srt", "-o", "out.srt"],
    ["burn", "clip.mp4", "--subs", "missing.srt"],
    ["burn", "clip.mp4", "--subs", "garbage.srt"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "-o", "existing.mp4"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "-o", "clip.mp4", "--force"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "--sign", "subs.srt"],
    ["lint", "missing.srt"],
    ["lint", "garbage.srt"],
    ["lint", "clip.mp4"],
    ["batch", "missing", "--out", "o"],
    ["batch", "subs.srt", "--out", "o"],
    ["models", "convert", "no-such-folder", "-o", "x.pt"],
]


class Result:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


@pytest.mark.parametrize("args", BAD_INPUT, ids=lambda a: " ".join(a))
def test_bad_input_is_one_line_exit_2_and_nothing_is_written(folder, capsys, monkeypatch, args):
    """Run by main() in this process (a subprocess each costs seconds); the tests below use real processes."""
    from captioner.cli import main

    before = listing(folder)
    monkeypatch.chdir(folder)
    capsys.readouterr()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    finally:
        for s, handler in handlers.items():  # main() installs its own: give pytest its own back
            signal.signal(s, handler)
    check(Result(code, capsys.readouterr().err), 2)
    assert listing(folder) == before


def test_bad_input_through_a_real_process(folder):
    before = listing(folder)
    check(run_cli("burn", "clip.mp4", "--subs", "garbage.srt", cwd=folder), 2)
    check(run_cli("caption", "missing.mp4", cwd=folder), 2)
    assert listing(folder) == before


def test_debug_shows_the_traceback(folder):
    result = run_cli("lint", "garbage.srt", "--debug", cwd=folder)
    assert result.returncode != 0 and "Traceback" in result.stderr


def _fake_ffmpeg(folder: Path, body: str) -> Path:
    script = folder / "fake-ffmpeg"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_a_tools_failure_is_one_line_exit_1_even_when_it_says_more(folder):
    fake = _fake_ffmpeg(folder, 'echo "first problem" >&2\necho "second problem" >&2\necho "last: disk full" >&2\n'
                                "exit 1\n")
    before = listing(folder)
    message = check(run_cli("burn", "clip.mp4", "--subs", "subs.srt", "-o", "out.mp4", cwd=folder,
                            env={"CAPTIONER_FFMPEG": str(fake)}), 1)
    assert "ffmpeg failed" in message or "rendering captions failed" in message
    assert listing(folder) == before  # no partial output, no temporary file or folder


def test_an_unexpected_failure_is_summarised_in_one_line(folder):
    not_executable = folder / "ffmpeg-not-executable"
    not_executable.write_text("not a program\n")
    message = check(run_cli("burn", "clip.mp4", "--subs", "subs.srt", "-o", "out.mp4", cwd=folder,
                            env={"CAPTIONER_FFMPEG": str(not_executable)}), 1)
    assert "--debug" in message


def test_a_file_name_cannot_break_the_line_or_drive_the_terminal(folder):
    name = "evil\nname\x1b[2J\u202e.mp4"
    (folder / name).write_bytes(b"")
    message = check(run_cli("caption", name, cwd=folder), 2)
    assert "\\n" in message and "\\x1b" in message and "empty file" in message


def test_a_closed_stdout_is_not_a_traceback(folder):
    long_srt = "".join(f"{i}\n00:00:{i:02d},000 --> 00:00:{i:02d},100\nمرحبا بكم في هذا الفيديو الطويل جدا جدا جدا\n\n"
                       for i in range(1, 60))
    (folder / "long.srt").write_text(long_srt, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "captioner", "lint", "long.srt"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_an_output_that_is_a_pipe_or_device_is_never_replaced(folder):
    os.mkfifo(folder / "pipe.mp4")
    before = listing(folder)
    message = check(run_cli("burn", "clip.mp4", "--subs", "subs.srt", "-o", "pipe.mp4", "--force", cwd=folder), 2)
    assert "not a regular file" in message
    assert listing(folder) == before and stat.S_ISFIFO((folder / "pipe.mp4").lstat().st_mode)
