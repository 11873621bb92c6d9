"""x264 preset x CRF table for captioner's burn: encode time, CPU time, file size and picture quality.

    python bench/encode.py                        # both clips, the full grid (about 1.5-2 h on 2 shared cores)
    python bench/encode.py --clips camera --presets ultrafast,veryfast --crfs 20,23
    python bench/encode.py --json table.json --workdir /tmp/encode   # keep the clips between runs
    python bench/encode.py --table-from table.json                   # print an earlier run's table

This is the table ``--quality fast|balanced|small`` was chosen from (README, "Picture quality and file size").
Per test clip:

* Burns the same two-line Arabic cues (a new cue every 3 s, on screen the whole time, the ``tiktok`` preset,
  caption band bottom at y 1420) with captioner's own ``burn_cues``: the very ffmpeg command captioner runs
  (libx264, yuv420p, audio copied, +faststart); only ``EncoderSettings(preset=..., crf=...)`` changes.
* Runs every candidate between two runs of the baseline (ultrafast, CRF 20: the old default) and divides its
  wall time and ffmpeg CPU time (RUSAGE_CHILDREN user+sys) by the mean of those two: the machine is shared and
  drifts 10-20% over minutes, so only paired ratios are comparable.
* Measures the file size, and SSIM and PSNR of the output against the source *outside the caption band*:
  rows 0-1099 and 1420-1919 (the captions sit in 1100-1419 and differ from the caption-less source by design).
  ``outside`` is the area-weighted mean of the two regions.

Test clips (built once under --workdir, 1080x1920, 30 fps, H.264 + AAC):

* ``camera``: camera-like footage. A still "scene" (Mandelbrot detail blended with Perlin texture, 1400x2400)
  panned like a hand-held phone, a moving textured subject, and temporal sensor grain (``noise=alls=8:allf=t``),
  encoded at a phone-like 16 Mb/s.
* ``graphics``: the repository's sample ``samples/createforgood-ar.mp4`` (a flat gradient card with speech,
  377 kb/s) looped to the clip length: the easy, low-detail case.
* ``synthetic``: ffmpeg's moving ``testsrc2`` pattern plus the same grain (bench.py's clip with grain), a
  sharp-edged worst case for motion search.

The audio is the shared Arabic speech (looped) or a tone when the data is absent.  Written for issue 15 by the
research helper (its runs are the README's figures) and moved here onto the package's current layout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench import synthetic_cues  # noqa: E402 - the same two-line cues as the burn benchmark

DATA = Path(os.environ.get("CAPTIONER_SPEECH_DATA", ROOT.parent / "shared" / "data" / "arabic-speech" / "msa"))
SAMPLE = ROOT / "samples" / "createforgood-ar.mp4"
BASELINE = ("ultrafast", 20)
BAND = (1100, 1420)  # caption rows excluded from the quality measure
CAPTION_TEXT = (
    "نصنع محتوى يصل إلى الجميع بما فيهم الصم وضعاف السمع ونكتب كل كلمة تقال في الفيديو بخط واضح "
    "على خلفية داكنة حتى يسهل قراءتها على شاشة الهاتف ونراجع الكلمات قبل النشر"
).split()


def log(msg: str) -> None:
    print(f"[encode {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ffmpeg() -> str:
    from captioner.render.ffmpeg import ffmpeg_exe

    return ffmpeg_exe()


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(args: list[str]) -> None:
    subprocess.run([ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", *args], check=True)


# --- test clips --------------------------------------------------------------------------------


def speech_inputs(workdir: Path, seconds: float) -> tuple[list[str], str]:
    """ffmpeg input args and an audio filter giving ``seconds`` of the shared speech (or a tone)."""
    manifest = DATA / "manifest.tsv"
    if manifest.is_file():
        import csv

        rows = list(csv.DictReader(manifest.open(encoding="utf-8"), delimiter="\t"))
        listing = workdir / "speech.txt"
        listing.write_text("".join(f"file '{(DATA / r['file']).resolve()}'\n" for r in rows), encoding="utf-8")
        return (["-f", "concat", "-safe", "0", "-i", str(listing)],
                f"aloop=loop=-1:size=2000000000,atrim=0:{seconds},aresample=48000")
    return ["-f", "lavfi", "-i", f"sine=frequency=440:d={seconds}"], "aresample=48000"


# How the built test clips are encoded: as a phone records (16 Mb/s H.264, 2 s GOP, AAC stereo).
PHONE_ENCODE = ("-c:v", "libx264", "-preset", "veryfast", "-b:v", "16M", "-maxrate", "20M", "-bufsize", "32M",
                "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                "-movflags", "+faststart", "-y")


def build_camera(workdir: Path, seconds: float) -> Path:
    clip = workdir / f"camera_{int(seconds)}s.mp4"
    if clip.is_file() and clip.stat().st_size:
        return clip
    still = workdir / "scene.png"
    if not still.is_file():
        # One frame of each generator: Mandelbrot gives sharp edges and fine detail, Perlin
        # noise soft organic texture; both are far too slow to render at 30 fps for a minute.
        run(["-filter_complex",
             "mandelbrot=s=1400x2400:r=1:start_x=-0.743643887037151:start_y=0.13182590420533:"
             "start_scale=0.004:end_scale=0.004:maxiter=2000:outer=normalized_iteration_count,format=gbrp[m];"
             "perlin=s=1400x2400:r=1:octaves=7:persistence=0.6:xscale=5:yscale=8:random_mode=seed:random_seed=7,"
             "format=gbrp[p];[m][p]blend=all_mode=softlight:all_opacity=0.7,gblur=sigma=0.7",
             "-frames:v", "1", "-y", str(still)])
    audio_in, audio_f = speech_inputs(workdir, seconds)
    # Hand-held pan over the still, a textured subject crossing the frame, slow light changes
    # (hue), then per-frame sensor grain: the detail, motion and noise of phone footage.
    graph = (
        "[0:v]"
        "crop=1080:1920:x='160+140*sin(t/2.3)+12*sin(7*t)':y='240+200*sin(t/3.1)+10*sin(9*t)',"
        "hue=H='0.15*sin(t/5)':s='1+0.1*sin(t/4)'[bg];"
        f"testsrc2=s=420x420:r=30:d={seconds},gblur=sigma=1[subj];"
        "[bg][subj]overlay=x='330+300*sin(t/1.7)':y='700+500*sin(t/2.9)':shortest=1,"
        "noise=alls=8:allf=t,format=yuv420p[v];"
        f"[1:a]{audio_f}[a]"
    )
    run(["-loop", "1", "-framerate", "30", "-t", str(seconds), "-i", str(still), *audio_in, "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
         "-t", str(seconds), *PHONE_ENCODE, str(clip)])
    return clip


def build_graphics(workdir: Path, seconds: float) -> Path:
    clip = workdir / f"graphics_{int(seconds)}s.mp4"
    if clip.is_file() and clip.stat().st_size:
        return clip
    # The sample's own streams, looped: no re-encode, so the source is exactly what a creator posts.
    run(["-stream_loop", "-1", "-i", str(SAMPLE), "-t", str(seconds), "-c", "copy",
         "-movflags", "+faststart", "-y", str(clip)])
    return clip


def build_synthetic(workdir: Path, seconds: float) -> Path:
    clip = workdir / f"synthetic_{int(seconds)}s.mp4"
    if clip.is_file() and clip.stat().st_size:
        return clip
    audio_in, audio_f = speech_inputs(workdir, seconds)
    graph = f"testsrc2=s=1080x1920:r=30:d={seconds},noise=alls=8:allf=t,format=yuv420p[v];[0:a]{audio_f}[a]"
    run([*audio_in, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-t", str(seconds), *PHONE_ENCODE,
         str(clip)])
    return clip


BUILDERS = {"camera": build_camera, "graphics": build_graphics, "synthetic": build_synthetic}


# --- measuring ---------------------------------------------------------------------------------


_STAT = re.compile(r"\[(ssim|psnr)@(top|bot) @ [^\]]*\] (?:SSIM|PSNR) (.*)")


def quality(output: Path, source: Path) -> dict:
    """SSIM and PSNR of ``output`` against ``source`` above and below the caption band."""
    top, bottom = BAND
    h_bot = 1920 - bottom
    # ssim and psnr each consume a pair; split both sides of both regions.
    graph = (
        "[0:v]split=4[o1][o2][o3][o4];[1:v]split=4[s1][s2][s3][s4];"
        f"[o1]crop=1080:{top}:0:0[a1];[s1]crop=1080:{top}:0:0[b1];[a1][b1]ssim@top;"
        f"[o2]crop=1080:{top}:0:0[a2];[s2]crop=1080:{top}:0:0[b2];[a2][b2]psnr@top;"
        f"[o3]crop=1080:{h_bot}:0:{bottom}[a3];[s3]crop=1080:{h_bot}:0:{bottom}[b3];[a3][b3]ssim@bot;"
        f"[o4]crop=1080:{h_bot}:0:{bottom}[a4];[s4]crop=1080:{h_bot}:0:{bottom}[b4];[a4][b4]psnr@bot"
    )
    proc = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "info", "-i", str(output), "-i", str(source),
         "-filter_complex", graph, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    stats: dict = {}
    for kind, region, rest in _STAT.findall(proc.stderr):
        values = dict(re.findall(r"(\w+):(inf|[\d.]+)", rest))
        if kind == "ssim":
            stats[f"ssim_{region}"] = float(values["All"])
            stats[f"ssim_y_{region}"] = float(values["Y"])
        else:
            stats[f"psnr_{region}"] = float(values["average"]) if values["average"] != "inf" else 99.0
            stats[f"psnr_y_{region}"] = float(values["y"]) if values["y"] != "inf" else 99.0
    w_top, w_bot = top / (top + h_bot), h_bot / (top + h_bot)
    for key in ("ssim", "ssim_y", "psnr", "psnr_y"):
        stats[f"{key}_outside"] = w_top * stats[f"{key}_top"] + w_bot * stats[f"{key}_bot"]
    return stats


def measure_clip(name: str, clip: Path, grid: list[tuple[str, int]], workdir: Path, reps: int) -> list[dict]:
    from captioner.media.probe import probe
    from captioner.render.ffmpeg import EncoderSettings
    from captioner.render.libass import burn_cues
    from captioner.styles.presets import get_preset
    from captioner.styles.style import CaptionStyle

    info = probe(clip)
    style = CaptionStyle.for_frame(get_preset("tiktok"), info.display_width, info.display_height)
    cues = synthetic_cues([{"reference": " ".join(CAPTION_TEXT)}], style, info.duration)
    outdir = workdir / f"out_{name}"
    outdir.mkdir(exist_ok=True)

    def timed(preset: str, crf: int, out: Path) -> tuple[float, float]:
        c0, t0 = children_cpu(), time.perf_counter()
        burn_cues(info, cues, style, out, encoder=EncoderSettings(preset=preset, crf=crf))
        return time.perf_counter() - t0, children_cpu() - c0

    base_out = outdir / f"{BASELINE[0]}_crf{BASELINE[1]}.mp4"
    prev = timed(*BASELINE, base_out)
    log(f"{name}: baseline {BASELINE} {prev[0]:.1f} s wall, {prev[1]:.1f} s CPU")
    rows = {BASELINE: {"clip": name, "preset": BASELINE[0], "crf": BASELINE[1], "wall_ratios": [1.0],
                       "cpu_ratios": [1.0], "base_walls": [prev[0]], "base_cpus": [prev[1]], "out": base_out}}
    for rep in range(reps):
        for preset, crf in grid:
            if (preset, crf) == BASELINE:
                continue
            out = outdir / f"{preset}_crf{crf}.mp4"
            wall, cpu = timed(preset, crf, out)
            after = timed(*BASELINE, base_out)
            ref_wall, ref_cpu = (prev[0] + after[0]) / 2, (prev[1] + after[1]) / 2
            row = rows.setdefault((preset, crf), {"clip": name, "preset": preset, "crf": crf, "wall_ratios": [],
                                                   "cpu_ratios": [], "walls": [], "out": out})
            row["wall_ratios"].append(wall / ref_wall)
            row["cpu_ratios"].append(cpu / ref_cpu)
            row["walls"].append(wall)
            rows[BASELINE]["base_walls"].append(after[0])
            rows[BASELINE]["base_cpus"].append(after[1])
            log(f"{name}: {preset} crf {crf}: {wall:.1f} s wall ({wall / ref_wall:.2f}x), "
                f"{cpu:.1f} s CPU ({cpu / ref_cpu:.2f}x); baseline after {after[0]:.1f} s")
            prev = after
    results = []
    base_size = base_out.stat().st_size
    base_wall = statistics.median(rows[BASELINE]["base_walls"])
    for (preset, crf), row in rows.items():
        size = row["out"].stat().st_size
        q = quality(row["out"], clip)
        wall_ratio = statistics.median(row["wall_ratios"])
        results.append({
            "clip": name, "duration_s": info.duration, "preset": preset, "crf": crf,
            "wall_ratio": wall_ratio, "cpu_ratio": statistics.median(row["cpu_ratios"]),
            "wall_ratio_range": [min(row["wall_ratios"]), max(row["wall_ratios"])], "n": len(row["wall_ratios"]),
            "baseline_wall_s": base_wall, "est_wall_s": wall_ratio * base_wall,
            "size_mb": size / 1e6, "size_ratio": size / base_size,
            "video_kbps": 8 * size / info.duration / 1000, **q,
        })
        log(f"{name}: {preset} crf {crf}: {size / 1e6:.1f} MB, SSIM outside band {q['ssim_outside']:.5f}")
    for row in rows.values():
        if row["out"] != base_out:
            row["out"].unlink(missing_ok=True)
    return results


def print_table(results: list[dict]) -> None:
    from captioner.render.ffmpeg import QUALITIES

    names = {pair: name for name, pair in QUALITIES.items()}
    print("| clip | --quality | preset | CRF | wall ÷ ultrafast-20 | CPU ÷ ultrafast-20 | burn ÷ clip duration | MB | size ÷ ultrafast-20 "
          "| SSIM outside band (All) | SSIM Y | PSNR-Y dB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: (r["clip"], r["size_ratio"])):
        print(f"| {r['clip']} | {names.get((r['preset'], r['crf']), '')} | {r['preset']} | {r['crf']} | {r['wall_ratio']:.2f} | {r['cpu_ratio']:.2f} | "
              f"{r['est_wall_s'] / r['duration_s']:.2f} | {r['size_mb']:.1f} | {r['size_ratio']:.2f} | "
              f"{r['ssim_outside']:.5f} | {r['ssim_y_outside']:.5f} | {r['psnr_y_outside']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "captioner-encode-bench")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clips", default="camera,graphics")
    ap.add_argument("--presets", default="ultrafast,superfast,veryfast,faster,medium")
    ap.add_argument("--crfs", default="20,23,26")
    ap.add_argument("--skip", default="medium:20", help="preset:crf pairs left out, comma-separated")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table-from", type=Path, help="print the table of an earlier --json and exit")
    args = ap.parse_args()
    if args.table_from:
        print_table(json.loads(args.table_from.read_text()))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    skip = {(s.split(":")[0], int(s.split(":")[1])) for s in args.skip.split(",") if s}
    grid = [(p, int(c)) for p in args.presets.split(",") for c in args.crfs.split(",") if (p, int(c)) not in skip]
    results = []
    for name in args.clips.split(","):
        t = time.perf_counter()
        clip = BUILDERS[name](args.workdir, args.seconds)
        log(f"clip {clip.name} ready ({time.perf_counter() - t:.0f} s)")
        results += measure_clip(name, clip, grid, args.workdir, args.reps)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    print_table(results)


if __name__ == "__main__":
    main()
