"""Small clips for batch tests: a test pattern with a few seconds of the project's own Arabic sample speech."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, make_video, run_ffmpeg

SAMPLE = ROOT / "samples" / "createforgood-ar.mp4"
# Where each caption of the sample starts (samples/createforgood-ar.reviewed.srt): every window has speech.
SPEECH_STARTS = (0.1, 5.65, 11.75, 17.73)
SIZE = (216, 384)


def speech_clip(path: Path, variant: int = 0, duration: float = 3.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    start = SPEECH_STARTS[variant % len(SPEECH_STARTS)]
    w, h = SIZE
    run_ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r=30:d={duration}",
        "-ss", f"{start}", "-t", f"{duration}", "-i", str(SAMPLE),
        "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-shortest", str(path),
    )
    return path


def broken_clips(folder: Path) -> dict[str, str]:
    """The broken inputs of a campaign, by relative path, with a word their failure reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is not a video\n")
    make_video(folder / "no-audio.mp4", duration=1.0, size=SIZE, audio=None)
    # Silence: an audio stream with nothing to recognise.
    w, h = SIZE
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r=30:d=2", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
               "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
               str(folder / "silent.mp4"))
    # Cut short, as an interrupted upload is: the index (moov) at the end of the file is missing.
    whole = speech_clip(folder / ".whole.mp4", 1)
    data = whole.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    whole.unlink()
    return {
        "empty.mp4": "empty file",
        "notes.mp4": "not a readable media file",
        "no-audio.mp4": "no audio stream",
        "silent.mp4": "no speech",
        "truncated.mp4": "not a readable media file",
    }


def events(out: Path) -> dict[str, list[dict]]:
    """Each job's event log (start, commit, failed...), by the output's relative path stem."""
    logs = {}
    for log in (out / ".captioner" / "jobs").glob("*.log"):
        logs[log.stem] = [json.loads(line) for line in log.read_text().splitlines()]
    return logs


def commits_by_output(out: Path) -> dict[str, int]:
    """How many times each captioned output was committed, from the records and the event logs."""
    counts = {}
    for record in (out / ".captioner" / "jobs").glob("*.json"):
        data = json.loads(record.read_text())
        if data["status"] != "ok":
            continue
        log = record.with_suffix(".log")
        lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        counts[data["output"]] = sum(e["event"] == "commit" for e in lines)
    return counts


def partial_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".part" in p.name or p.name.endswith(".tmp")]
