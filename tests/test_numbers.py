"""Numbers from the command line and from data files are checked: one line, exit 2, never a crash.

``--timeout inf`` used to reach a wait as an OverflowError, ``--size -5x10`` a
layout with negative pixels, a JSON cue at ``1e16`` s an ffmpeg failure.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from conftest import make_video, run_cli


class Result:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


def in_process(capsys, monkeypatch, folder: Path, *args: str) -> Result:
    """``captioner ARGS`` run by its main() in this process (a subprocess each would cost seconds of start-up)."""
    from captioner.cli import main

    monkeypatch.chdir(folder)
    capsys.readouterr()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code
    finally:
        for s, handler in handlers.items():  # main() installs its own: give pytest its own back
            signal.signal(s, handler)
    return Result(code, capsys.readouterr().err)


def one_line_exit_2(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("captioner: error:"), result.stderr
    for word in ("Traceback", "OverflowError", "ffmpeg failed", "ValueError"):
        assert word not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("numbers") / "clip.mp4", duration=1.0, size=(216, 384))


@pytest.mark.parametrize("args", [
    ["batch", "in", "--out", "o", "--timeout", "inf"],
    ["batch", "in", "--out", "o", "--timeout", "nan"],
    ["batch", "in", "--out", "o", "--timeout", "1e300"],
    ["batch", "in", "--out", "o", "--timeout", "-5"],
    ["batch", "in", "--out", "o", "--workers", "99999999999999999999"],
    ["batch", "in", "--out", "o", "--workers", "1" + "0" * 5000],
    ["lint", "subs.srt", "--size=-5x10"],
    ["lint", "subs.srt", "--size", "0x0"],
    ["lint", "subs.srt", "--size", "99999999x1920"],
    ["lint", "subs.srt", "--size", "1e3x1920"],
    ["lint", "subs.srt", "--fps", "inf"],
    ["lint", "subs.srt", "--fps", "nan"],
    ["lint", "subs.srt", "--cps", "inf"],
    ["lint", "subs.srt", "--cps", "1e308"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "--sign", "clip.mp4", "--sign-offset", "1e16"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "--sign", "clip.mp4", "--sign-offset", "nan"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "--sign", "clip.mp4", "--sign-size", "nan"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "--sign", "clip.mp4", "--sign-size", "1/0"],
    ["burn", "clip.mp4", "--subs", "subs.srt", "--crf", "1e9"],
    ["transcribe", "clip.mp4", "-o", "x.srt", "--review-below", "inf"],
])
def test_command_line_numbers(tmp_path, clip, capsys, monkeypatch, args):
    (tmp_path / "in").mkdir()
    (tmp_path / "clip.mp4").write_bytes(clip.read_bytes())
    (tmp_path / "subs.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nمرحبا\n", encoding="utf-8")
    one_line_exit_2(in_process(capsys, monkeypatch, tmp_path, *args))
    assert not (tmp_path / "o").exists() and not (tmp_path / "clip.captioned.mp4").exists()


def _cue(start, end, lines=("مرحبا",)) -> dict:
    return {"start": start, "end": end, "lines": list(lines)}


@pytest.mark.parametrize("text, words", [
    (json.dumps({"cues": [_cue(0, 1e16)]}), "not a time"),
    (json.dumps({"cues": [_cue(1e16, 1e16 + 1)]}), "not a time"),
    (json.dumps({"cues": [_cue(-5, 1)]}), "not a time"),
    ('{"cues": [{"start": 0, "end": NaN, "lines": ["a"]}]}', "finite"),
    ('{"cues": [{"start": 0, "end": Infinity, "lines": ["a"]}]}', "finite"),
    ('{"cues": [{"start": 0, "end": 1e999, "lines": ["a"]}]}', "finite"),
    ('{"cues": [{"start": 0, "end": 1' + "0" * 400 + ', "lines": ["a"]}]}', "too large"),
    ('{"cues": [{"start": "0", "end": 1, "lines": ["a"]}]}', "must be a number"),
    ('{"cues": [{"start": true, "end": 1, "lines": ["a"]}]}', "must be a number"),
    ('{"cues": [{"start": 0, "end": 1, "lines": ["a"]}], "words": [{"text": "a", "start": 0, "end": NaN}]}',
     "finite"),
    ('{"cues": [{"start": 0, "end": 1, "lines": ["a"]}], "words": [{"text": "a", "start": 0, "end": 1, '
     '"probability": 7}]}', "probability"),
    ("1\n99:00:00,000 --> 99:00:01,000\nمرحبا\n", "not a time"),
])
def test_numbers_in_subtitle_files(tmp_path, clip, capsys, monkeypatch, text, words):
    suffix = ".srt" if text[0].isdigit() else ".json"
    subs = tmp_path / f"subs{suffix}"
    subs.write_text(text, encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(clip.read_bytes())
    for args in (["lint", subs.name], ["burn", "clip.mp4", "--subs", subs.name, "-o", "out.mp4"]):
        message = one_line_exit_2(in_process(capsys, monkeypatch, tmp_path, *args))
        assert words in message, message
    assert not (tmp_path / "out.mp4").exists()


def test_the_real_command_line_too(tmp_path):
    """The same checks through a real process: argparse's exit, the one line, nothing written."""
    (tmp_path / "in").mkdir()
    one_line_exit_2(run_cli("batch", "in", "--out", "o", "--timeout", "inf", cwd=tmp_path))
    (tmp_path / "c.json").write_text('{"cues": [{"start": 0, "end": 1e16, "lines": ["a"]}]}')
    assert "not a time" in one_line_exit_2(run_cli("lint", "c.json", cwd=tmp_path))
    assert not (tmp_path / "o").exists()


def test_the_api_checks_numbers_too():
    from captioner import CaptionSettings, InputError, make_cues
    from captioner.cues import Word

    with pytest.raises(InputError):
        make_cues([Word("a", 0, 1)], frame=(-5, 10))
    with pytest.raises(InputError):
        make_cues([Word("a", 0, 1)], fps=float("inf"))
    with pytest.raises(InputError):
        CaptionSettings(cps=float("nan"))
