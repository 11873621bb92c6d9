"""Batch throughput: clips per minute for ``captioner batch`` against one ``captioner caption`` per clip.

    python bench/batch.py                  # ten 30 s 1080x1920 clips (about 10 minutes on 2 cores)
    python bench/batch.py --quick          # four 10 s 540x960 clips (about 2 minutes)
    python bench/batch.py --workers 1,2,4 --rounds 2 --json out.json

What it runs, on the same clips, in this one process (the baseline and every
candidate alternate, ``--rounds`` times, so that drift on a shared machine hits
all of them alike):

- **loop**: ``captioner caption CLIP -o OUT -q`` once per clip, one after the
  other, as a shell loop would (each run starts Python and loads the model);
- **batch N**: ``captioner batch CLIPS --out OUT --workers N -q`` (N worker
  processes, each loading the model once; every clip redone with ``--force``).

Clips per minute = clips / wall-clock minutes; the ratio to the loop is the
speed-up.  Clips are a moving ``testsrc2`` pattern with the project's own Arabic
sample speech (``samples/createforgood-ar.mp4``) looped to length, each starting
at a different point of it, H.264 + AAC.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "createforgood-ar.mp4"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_clips(folder: Path, count: int, duration: float, size: tuple[int, int]) -> list[Path]:
    from captioner.render.ffmpeg import ffmpeg_exe

    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(count):
        clip = folder / f"clip{i:02d}.mp4"
        clips.append(clip)
        if clip.exists():
            continue
        w, h = size
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
             "-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r=30:d={duration}",
             "-stream_loop", "-1", "-ss", f"{(i * 7.3) % 20:.2f}", "-i", str(SAMPLE),
             "-map", "0:v", "-map", "1:a", "-t", str(duration), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-y", str(clip)],
            check=True,
        )
    return clips


def run_loop(clips: list[Path], out: Path) -> float:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for clip in clips:
        subprocess.run([sys.executable, "-m", "captioner", "caption", str(clip), "-o", str(out / clip.name), "--force",
                        "-q"], check=True, capture_output=True)
    return time.perf_counter() - started


def run_batch(clips_dir: Path, out: Path, workers: int) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "captioner", "batch", str(clips_dir), "--out", str(out), "--workers",
                             str(workers), "--force", "-q"], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"batch with {workers} workers failed: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="four 10 s 540x960 clips")
    parser.add_argument("--clips", type=int, help="number of clips (default 10, quick 4)")
    parser.add_argument("--duration", type=float, help="seconds per clip (default 30, quick 10)")
    parser.add_argument("--workers", default="1,2", help="batch worker counts to measure (default: 1,2)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of every variant (default: 1)")
    parser.add_argument("--workdir", type=Path, help="keep the clips and outputs here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    count = args.clips or (4 if args.quick else 10)
    duration = args.duration or (10.0 if args.quick else 30.0)
    size = (540, 960) if args.quick else (1080, 1920)
    workers = [int(w) for w in args.workers.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="captioner-batch-bench-"))
    clips_dir = work / "clips"
    log(f"making {count} clips of {duration:g} s at {size[0]}x{size[1]} in {clips_dir}")
    clips = make_clips(clips_dir, count, duration, size)

    times: dict[str, list[float]] = {"loop": []}
    times.update({f"batch {n}": [] for n in workers})
    for r in range(args.rounds):
        for name in times:
            if name == "loop":
                seconds = run_loop(clips, work / "out-loop")
            else:
                seconds = run_batch(clips_dir, work / f"out-batch{name.split()[1]}", int(name.split()[1]))
            times[name].append(seconds)
            log(f"round {r + 1}: {name}: {seconds:.1f} s, {count / seconds * 60:.2f} clips/min")

    loop = statistics.median(times["loop"])
    figures = {
        "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version(), "cpu": platform.processor()},
        "clips": count, "duration_s": duration, "size": f"{size[0]}x{size[1]}", "rounds": args.rounds, "results": {},
    }
    print(f"{count} clips of {duration:g} s, {size[0]}x{size[1]}, median of {args.rounds} round(s)")
    print(f"{'variant':<10} {'seconds':>8} {'clips/min':>10} {'vs loop':>8}")
    for name, values in times.items():
        seconds = statistics.median(values)
        figures["results"][name] = {"seconds": values, "clips_per_minute": count / seconds * 60, "speedup": loop / seconds}
        print(f"{name:<10} {seconds:>8.1f} {count / seconds * 60:>10.2f} {loop / seconds:>7.2f}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
