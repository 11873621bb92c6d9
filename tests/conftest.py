"""Shared fixtures: media the tests make themselves, the shared Arabic speech set, one recognizer."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEECH_DIR = Path(os.environ.get("CAPTIONER_SPEECH_DATA", ROOT.parent / "shared" / "data" / "arabic-speech" / "msa"))


def ffmpeg() -> str:
    from captioner.render.ffmpeg import ffmpeg_exe

    return ffmpeg_exe()


def run_ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", *args, "-y"], check=True)


def make_video(
    path: Path,
    *,
    duration: float = 3.0,
    size: tuple[int, int] = (1080, 1920),
    fps: int = 30,
    audio: Path | str | None = "sine",
    background: str = "testsrc2",
) -> Path:
    """A small H.264 clip: a moving test pattern, with a tone, a speech file, or no audio."""
    w, h = size
    sep = ":" if "=" in background else "="
    args = ["-f", "lavfi", "-i", f"{background}{sep}s={w}x{h}:r={fps}:d={duration}"]
    if audio == "sine":
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:d={duration}"]
    elif audio is not None:
        args += ["-i", str(audio)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio is not None:
        args += ["-c:a", "aac", "-b:a", "96k", "-t", str(duration)]
    run_ffmpeg(*args, str(path))
    return path


def speech_manifest() -> list[tuple[Path, str, float]]:
    """(wav, reference transcript, duration) for the shared MSA clips."""
    manifest = SPEECH_DIR / "manifest.tsv"
    with open(manifest, encoding="utf-8") as fh:
        return [(SPEECH_DIR / r["file"], r["reference"], float(r["duration_s"])) for r in csv.DictReader(fh, delimiter="\t")]


requires_speech = pytest.mark.skipif(
    not (SPEECH_DIR / "manifest.tsv").is_file(),
    reason=f"shared Arabic speech set not found at {SPEECH_DIR} (set CAPTIONER_SPEECH_DATA)",
)


@pytest.fixture(scope="session")
def recognizer():
    from captioner.asr.faster_whisper_backend import FasterWhisperRecognizer

    return FasterWhisperRecognizer("base")


@pytest.fixture(scope="session")
def shared_recognised(recognizer) -> dict:
    """The shared MSA clips recognised once per run (what ``pipeline.transcribe`` gets from the recogniser, before
    the review flags): the WER test and the review flags' held-out test read the same transcripts."""
    from captioner.media.audio import load_audio

    return {wav: recognizer.transcribe(load_audio(wav), language="ar") for wav, _, _ in speech_manifest()}


@pytest.fixture(scope="session")
def tiktok_style():
    from captioner.styles.presets import get_preset
    from captioner.styles.style import CaptionStyle

    return CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "captioner", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def interruptible() -> None:
    """``preexec_fn`` for a CLI run a test will Ctrl-C: SIGINT back to its default.

    A shell starts background jobs (``.ci/run &``, some CI runners) with SIGINT
    ignored, children inherit that, and Python then installs no KeyboardInterrupt
    handler, so the test's SIGINT would be lost instead of reaching captioner as a
    terminal's Ctrl-C does.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


# Measurements tests want a reader to see (WER, CER, ...), printed after the run.
MEASUREMENTS: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("captioner measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)
