"""Renderer benchmark: ``burn --renderer pillow`` time against ``--renderer libass``.

    python bench/renderers.py                    # 60 s 1080x1920 clip, 3 runs each (about 5 minutes on 2 cores)
    python bench/renderers.py --runs 1 --seconds 20
    python bench/renderers.py --composite        # also moviepy's generic CompositeVideoClip, once

The same clip (ffmpeg's moving ``testsrc2`` at 1080x1920, 30 fps, H.264 + AAC)
and the same cues (two Arabic lines, a new cue every 2 s, on screen the whole
time) are burned by both renderers with the same ``EncoderSettings``
(x264 ultrafast, CRF 20).  Runs alternate libass, pillow, libass, ... in this
one process, so both see the same machine load; the figure is the ratio of the
medians.  The ratio of CPU seconds (this process plus its ffmpeg children) is
printed too: it is steadier than wall time on a shared machine, and shows what
the pillow renderer costs in total, not only on the critical path.

``--composite`` also times what a moviepy user gets from
``captioner.moviepy.caption_clip`` (a ``CompositeVideoClip`` with one
``ImageClip`` per cue), encoded with the same settings, to show why the burn
blends cue images into the frames itself instead.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captioner.render.ffmpeg import EncoderSettings, ffmpeg_exe# noqa: E402
from captioner.cues import Cue  # noqa: E402
from captioner.media.probe import probe# noqa: E402
from captioner.pipeline import burn  # noqa: E402

LINES = [
    ("هل انضممت إلى التحدي؟", "شارك الآن!"),
    ("تابعونا على TikTok اليوم!", "لدينا 30 متطوعًا."),
    ("أَهْلًا وَسَهْلًا بِكُمْ.", "نلتقي مجددا في عام 2026"),
    ("مع أصدقائنا الجدد.", "مرحبا بكم جميعا!"),
]


def log(msg: str) -> None:
    print(f"[renderers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_clip(path: Path, seconds: float) -> Path:
    import subprocess

    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
         "-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(path), "-y"],
        check=True,
    )
    return path


def cues_for(seconds: float) -> list[Cue]:
    return [Cue(t, min(t + 2.0, seconds), LINES[k % len(LINES)]) for k, t in enumerate(range(0, int(seconds), 2))]


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="clip length (default: 60)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each renderer (default: 3)")
    parser.add_argument("--composite", action="store_true", help="also time a CompositeVideoClip, once")
    args = parser.parse_args()

    encoder = EncoderSettings()
    with tempfile.TemporaryDirectory(prefix="captioner-bench-") as tmp:
        work = Path(tmp)
        clip = make_clip(work / "clip.mp4", args.seconds)
        cues = cues_for(args.seconds)
        log(f"clip: {args.seconds:g} s 1080x1920 30 fps, {len(cues)} cues; x264 {encoder.effective_preset} crf {encoder.effective_crf}; "
            f"{os.cpu_count()} cores")
        results: dict[str, list[tuple[float, float]]] = {"libass": [], "pillow": []}
        for run in range(args.runs):
            for renderer in results:
                out = work / f"{renderer}.mp4"
                wall, cpu = timed(lambda: burn(clip, cues, out, renderer=renderer, force=True, encoder=encoder))
                results[renderer].append((wall, cpu))
                log(f"run {run + 1}: {renderer:7s} {wall:6.1f} s wall, {cpu:6.1f} s CPU")
        med = {r: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for r, v in results.items()}
        print(f"libass  median: {med['libass'][0]:.1f} s wall, {med['libass'][1]:.1f} s CPU "
              f"({med['libass'][0] / args.seconds:.2f} x clip duration)")
        print(f"pillow  median: {med['pillow'][0]:.1f} s wall, {med['pillow'][1]:.1f} s CPU "
              f"({med['pillow'][0] / args.seconds:.2f} x clip duration)")
        print(f"pillow / libass: {med['pillow'][0] / med['libass'][0]:.2f} wall, "
              f"{med['pillow'][1] / med['libass'][1]:.2f} CPU")

        if args.composite:
            from captioner.render.pillow.composite import open_video, write_clip
            from captioner.moviepy import caption_clip

            info = probe(clip)

            def composite() -> None:
                video = open_video(clip)
                try:
                    write_clip(caption_clip(video, cues), info, work / "composite.mp4", encoder=encoder)
                finally:
                    video.close()

            wall, cpu = timed(composite)
            print(f"CompositeVideoClip (once): {wall:.1f} s wall, {cpu:.1f} s CPU; "
                  f"{wall / med['libass'][0]:.2f} x libass wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
