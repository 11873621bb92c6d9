"""captioner benchmark: speed, memory and accuracy of the pipeline, run by hand.

    python bench/bench.py                 # full run (about 10 minutes on 2 cores)
    python bench/bench.py --quick         # smoke run (about 2-3 minutes)
    python bench/bench.py --json out.json # also write every figure as JSON
    python bench/bench.py --presets superfast,ultrafast   # extra end-to-end runs per x264 preset

What it measures (targets in brackets):

1. Recognition real-time factor: transcription time / audio duration on the shared
   Arabic set, for captioner's recognizer (word timestamps, VAD, loop guard) and
   for raw faster-whisper (int8, 2 threads, language ar, beam 5) side by side.
2. Burn overhead: ``burn_cues`` time / plain re-encode time with the same
   ``EncoderSettings`` [<= 1.05], on a 1080x1920 clip with two-line Arabic
   captions on screen the whole time.  Baseline and burn alternate in this one
   process; the ratio is of the medians of N runs each (3 full, 1 quick).  The
   ratio of ffmpeg CPU time (user+sys from RUSAGE_CHILDREN) is printed too: it
   is far less sensitive than wall time to other work on the machine.
3. End-to-end ``caption()`` time / clip duration with a preloaded recognizer,
   on the same clip with real Arabic speech [<= 0.5], run in a fresh Python
   subprocess; stage times come from a timing ``Progress``.
4. Peak memory of that subprocess [<= 1.5 GB]: the Python process's high-water
   RSS (VmHWM from /proc/self/status) plus ffmpeg's (VmHWM read from /proc every
   50 ms while it runs) - an upper bound, since the two peaks need not coincide -
   and, beside it, the highest sum of the process tree's current RSS, sampled alike.
   getrusage's ru_maxrss (SELF and CHILDREN) is recorded but not used: Linux
   carries a parent's high-water mark into its child across fork/vfork + exec,
   so a child started by a 600 MB process reports at least 600 MB even for
   ``true`` - the bench's own parent would be counted in the Python figure and
   the Python figure again in the ffmpeg one.
5. WER and CER over the whole shared set (jiwer on lists) after
   ``captioner.text.normalise_for_scoring``: captioner's words against raw
   faster-whisper computed in the same run (the data's README quotes raw
   faster-whisper 1.2.1 base int8 as WER 0.62, CER 0.22).

The test clip is built once in a temporary folder (``--workdir`` keeps and
reuses it): the shared WAVs concatenated, looped and trimmed to the clip length,
over ffmpeg's moving ``testsrc2`` pattern at 1080x1920, 30 fps, encoded as
H.264 + AAC.  The shared data is read from ``/work/shared/data/arabic-speech/msa``
(or ``--data``) and never copied into the repository; without it the WER part
is skipped and the clip carries a tone instead of speech.

Absolute times are noisy on a small shared machine; the ratios in 2 are taken
in one process with alternating runs, and the CPU-time ratio is the steadier one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

DEFAULT_DATA = Path(os.environ.get("CAPTIONER_SPEECH_DATA", "/work/shared/data/arabic-speech/msa"))
README_RAW = {"wer": 0.62, "cer": 0.22, "rtf": 0.19}
TARGETS = {"burn_ratio": 1.05, "full_ratio": 1.15, "e2e_ratio": 0.5, "peak_mb": 1536.0}


# --- helpers ---------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def read_manifest(data: Path) -> list[dict]:
    with open(data / "manifest.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if (data / r["file"]).is_file()]


def ffmpeg_version() -> str:
    from captioner.render.ffmpeg import ffmpeg_exe

    try:
        out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].split(" Copyright")[0] if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("captioner", "faster-whisper", "ctranslate2", "av", "numpy", "jiwer", "imageio-ffmpeg", "onnxruntime"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "-"
    out["ffmpeg"] = ffmpeg_version()
    return out


def machine() -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gb = float("nan")
    return {
        "platform": platform.platform(),
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_gb": round(mem_gb, 1),
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


# --- the test clip ---------------------------------------------------------------------------


def build_clip(data: Path | None, rows: list[dict], workdir: Path, seconds: float) -> Path:
    """A 1080x1920 30 fps H.264/AAC clip: moving testsrc2 under the shared speech, looped to ``seconds``."""
    from captioner.render.ffmpeg import ffmpeg_exe

    clip = workdir / f"clip_{int(seconds)}s.mp4"
    if clip.is_file() and clip.stat().st_size > 0:
        log(f"reusing {clip}")
        return clip
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    args += ["-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=30:d={seconds}"]
    if data is not None and rows:
        listing = workdir / "speech.txt"
        total, lines = 0.0, []
        for r in rows:
            path = str((data / r["file"]).resolve()).replace("'", "'\\''")
            lines.append(f"file '{path}'")
            total += float(r.get("duration_s") or 8.0)
            if total >= seconds + 2:
                break
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args += ["-f", "concat", "-safe", "0", "-i", str(listing)]
        audio = f"[1:a]aloop=loop=-1:size=2000000000,atrim=0:{seconds},aresample=48000[a]"
    else:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:d={seconds}"]
        audio = "[1:a]aresample=48000[a]"
    args += ["-filter_complex", audio, "-map", "0:v", "-map", "[a]", "-t", str(seconds)]
    # superfast keeps CABAC and deblocking (a phone-like High-profile stream) but builds quickly.
    args += ["-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", "60"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", "-y", str(clip)]
    t = time.perf_counter()
    subprocess.run(args, check=True)
    log(f"built {clip.name} in {time.perf_counter() - t:.1f}s")
    return clip


def build_interpreter(workdir: Path, seconds: float) -> Path:
    """A 720x1280 25 fps "interpreter": a moving pattern in front of a studio green screen."""
    from captioner.render.ffmpeg import ffmpeg_exe

    clip = workdir / f"interpreter_{int(seconds)}s.mp4"
    if clip.is_file() and clip.stat().st_size > 0:
        return clip
    graph = (f"color=c=0x00B140:s=720x1280:r=25:d={seconds}[bg];testsrc2=s=320x700:r=25:d={seconds}[fg];"
             "[bg][fg]overlay=x='200+60*sin(t)':y=300")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", graph,
                    "-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-pix_fmt", "yuv420p", "-y", str(clip)],
                   check=True)
    return clip


def synthetic_cues(rows: list[dict], style, duration: float, every: float = 3.0):
    """Two-line Arabic cues back to back for the whole clip, each line fitted to the caption band."""
    from captioner.cues import Cue

    words: list[str] = []
    for r in rows:
        words.extend(r["reference"].split())
    if not words:
        words = "هذا نص تجريبي لقياس سرعة حرق الترجمة في الفيديو على الهاتف".split()
    width, max_w, max_chars = style.measurer().width, style.max_line_width, style.preset.max_chars
    k = 0

    def next_line() -> str:
        nonlocal k
        line = words[k % len(words)]
        k += 1
        while True:
            cand = line + " " + words[k % len(words)]
            if len(cand) > max_chars or width(cand) > max_w:
                return line
            line = cand
            k += 1

    cues, t = [], 0.0
    while t < duration - 1e-6:
        end = min(duration, t + every)
        cues.append(Cue(round(t, 3), round(end, 3), (next_line(), next_line())))
        t = end
    return cues


# --- 1 + 5: recognition speed and accuracy -----------------------------------------------------


def bench_recognition(data: Path, rows: list[dict], rec) -> dict:
    import jiwer
    from faster_whisper import WhisperModel

    from captioner.media.audio import SAMPLE_RATE, load_audio
    from captioner.asr.models import ensure_embedded_model
    from captioner.pipeline import transcribe
    from captioner.text.scoring import normalise_for_scoring

    t = time.perf_counter()
    raw = WhisperModel(str(ensure_embedded_model()), device="cpu", compute_type="int8", cpu_threads=2)
    raw_load = time.perf_counter() - t
    refs, hyp_pipe, hyp_raw = [], [], []
    t_pipe = t_raw = audio_s = 0.0
    for i, r in enumerate(rows):
        path = data / r["file"]
        # Alternate the order so neither side always runs on a warmer cache / quieter machine.
        order = ("pipe", "raw") if i % 2 == 0 else ("raw", "pipe")
        for side in order:
            t = time.perf_counter()
            if side == "pipe":
                text = transcribe(path, lang="ar", recognizer=rec).text  # what captioner produces
                t_pipe += time.perf_counter() - t
                hyp_pipe.append(normalise_for_scoring(text))
            else:
                audio = load_audio(path)
                segments, _ = raw.transcribe(audio, language="ar", beam_size=5)
                text = " ".join(s.text.strip() for s in segments)
                t_raw += time.perf_counter() - t
                hyp_raw.append(normalise_for_scoring(text))
                audio_s += len(audio) / SAMPLE_RATE
        refs.append(normalise_for_scoring(r["reference"]))
        log(f"  asr {i + 1}/{len(rows)}  pipeline {t_pipe:.1f}s  raw {t_raw:.1f}s  audio {audio_s:.1f}s")

    def score(hyps: list[str]) -> dict:
        keep = [(r, h) for r, h in zip(refs, hyps) if r]
        rr, hh = [r for r, _ in keep], [h for _, h in keep]
        out = jiwer.process_words(rr, hh)
        return {
            "wer": jiwer.wer(rr, hh),
            "cer": jiwer.cer(rr, hh),
            "sub": out.substitutions,
            "del": out.deletions,
            "ins": out.insertions,
            "ref_words": sum(len(r.split()) for r in rr),
            "hyp_words": sum(len(h.split()) for h in hh),
            "empty_hyps": sum(1 for h in hh if not h),
        }

    return {
        "clips": len(rows),
        "audio_s": audio_s,
        "pipeline": {**score(hyp_pipe), "time_s": t_pipe, "rtf": t_pipe / audio_s, "threads": os.cpu_count()},
        "raw": {**score(hyp_raw), "time_s": t_raw, "rtf": t_raw / audio_s, "threads": 2, "load_s": raw_load},
        "examples": [
            {"file": r["file"], "ref": ref, "pipeline": hp, "raw": hr}
            for r, ref, hp, hr in list(zip(rows, refs, hyp_pipe, hyp_raw))[:3]
        ],
    }


# --- 2: burn overhead ------------------------------------------------------------------------


def bench_burn(clip: Path, rows: list[dict], workdir: Path, reps: int) -> dict:
    from captioner.render.ffmpeg import EncoderSettings, run_ffmpeg
    from captioner.render.libass import build_command, burn_cues
    from captioner.media.probe import probe
    from captioner.styles.presets import get_preset
    from captioner.styles.style import CaptionStyle

    from captioner.render.inset import SignOptions
    from captioner.render.compose import compose

    info = probe(clip)
    style = CaptionStyle.for_frame(get_preset("tiktok"), info.display_width, info.display_height)
    cues = synthetic_cues(rows, style, info.duration)
    enc = EncoderSettings()
    # Issue 3's full pass: captions with the spoken word highlighted and an interpreter inset
    # (framed, the default look), and the same with the interpreter's green screen keyed out.
    interpreter = build_interpreter(workdir, info.duration)
    layout = compose(info, get_preset("tiktok"), sign=SignOptions(interpreter, border=True))
    keyed = compose(info, get_preset("tiktok"), sign=SignOptions(interpreter, key="green"))
    names = ("base", "burn", "floor", "full", "keyed")
    times: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}

    def plain(out: Path) -> None:
        cmd = build_command(info, out, "mp4", filters=[], encoder=enc)
        run_ffmpeg(cmd, cwd=None, duration=info.duration, progress=None)

    def floor(out: Path) -> None:
        # The least any inset of this interpreter can cost: the plain re-encode, plus decoding the
        # interpreter in the same pass (as the inset does, deblocking skipped) and throwing it away.
        cmd = build_command(info, out, "mp4", filters=[], encoder=enc)
        at = cmd.index("-i") + 2
        cmd[at:at] = ["-skip_loop_filter", "all", "-i", f"file:{interpreter.resolve()}",
                      "-filter_complex", "[1:v:0]nullsink;[0:v:0]null[v]"]
        cmd[cmd.index("0:v:0")] = "[v]"
        run_ffmpeg(cmd, cwd=None, duration=info.duration, progress=None)

    def burned(out: Path) -> None:
        burn_cues(info, cues, style, out, encoder=enc)

    def full(out: Path) -> None:
        burn_cues(info, cues, layout.style, out, encoder=enc, sign=layout.sign, highlight=True)

    def full_keyed(out: Path) -> None:
        burn_cues(info, cues, keyed.style, out, encoder=enc, sign=keyed.sign, highlight=True)

    # Every candidate run sits between two plain re-encodes and is divided by their mean: this
    # shared machine's speed drifts by 10-20% over minutes, which a ratio of medians taken
    # over the whole run would mix into the result.
    candidates = (("burn", burned), ("floor", floor), ("full", full), ("keyed", full_keyed))
    paired: dict[str, list[float]] = {name: [] for name, _ in candidates}
    paired_cpu: dict[str, list[float]] = {name: [] for name, _ in candidates}

    def timed(name: str, fn, i: int) -> tuple[float, float]:
        out = workdir / f"{name}_{i}.mp4"
        c0, t0 = children_cpu(), time.perf_counter()
        fn(out)
        times[name].append(time.perf_counter() - t0)
        cpus[name].append(children_cpu() - c0)
        out.unlink(missing_ok=True)
        log(f"  {name} run {i + 1}/{reps}: {times[name][-1]:.1f}s wall, {cpus[name][-1]:.1f}s ffmpeg cpu")
        return times[name][-1], cpus[name][-1]

    for i in range(reps):
        order = candidates[i % len(candidates) :] + candidates[: i % len(candidates)]  # no variant always first
        before = timed("base", plain, i)
        for name, fn in order:
            wall, cpu = timed(name, fn, i)
            after = timed("base", plain, i)
            paired[name].append(wall / ((before[0] + after[0]) / 2))
            paired_cpu[name].append(cpu / ((before[1] + after[1]) / 2))
            before = after
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = {k: statistics.median(v) for k, v in paired.items()}
    cpu_ratio = {k: statistics.median(v) for k, v in paired_cpu.items()}
    return {
        "duration_s": info.duration,
        "encoder": enc.args(),
        "cues": len(cues),
        "reps": reps,
        "method": "each candidate divided by the mean of the plain re-encodes just before and after it; medians",
        "base_s": times["base"],
        "base_cpu_s": cpus["base"],
        "base_median_s": med["base"],
        "burn_s": times["burn"],
        "burn_cpu_s": cpus["burn"],
        "burn_median_s": med["burn"],
        "paired_ratios": paired,
        "paired_cpu_ratios": paired_cpu,
        "ratio": ratio["burn"],
        "cpu_ratio": cpu_ratio["burn"],
        "full_s": times["full"],
        "full_cpu_s": cpus["full"],
        "full_ratio": ratio["full"],
        "full_cpu_ratio": cpu_ratio["full"],
        "floor_s": times["floor"],
        "floor_cpu_s": cpus["floor"],
        "floor_ratio": ratio["floor"],
        "floor_cpu_ratio": cpu_ratio["floor"],
        "keyed_s": times["keyed"],
        "keyed_ratio": ratio["keyed"],
        "keyed_cpu_ratio": cpu_ratio["keyed"],
        "base_rtf": med["base"] / info.duration,
    }


# --- 3 + 4: end to end, in a child process -----------------------------------------------------


class TimingProgress:
    """A captioner Progress that records how long each stage (transcribing, burning) took."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def task(self, description: str, total: float | None):
        t = time.perf_counter()
        try:
            yield lambda done: None
        finally:
            self.stages[description] = self.stages.get(description, 0.0) + time.perf_counter() - t


def _rss_kb(pid: int | str, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for k in kids:
                out.append(int(k))
                todo.append(int(k))
    return out


class RssSampler(threading.Thread):
    """Highest total RSS of this process and its descendants, sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak_kb, self.peak_child_kb = interval, 0, 0
        self._halt = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._halt.is_set():
            kids = _descendants(me)
            child = sum(_rss_kb(k) for k in kids)
            self.peak_child_kb = max(self.peak_child_kb, max((_rss_kb(k, "VmHWM") for k in kids), default=0))
            self.peak_kb = max(self.peak_kb, _rss_kb(me) + child)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def child_e2e(clip: Path, outdir: Path, preset: str) -> None:
    """Run in a fresh interpreter: load the recognizer, run caption() once, print one JSON line."""
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    from captioner.render.ffmpeg import EncoderSettings
    from captioner.pipeline import caption
    from captioner.asr.faster_whisper_backend import FasterWhisperRecognizer

    t_import = time.perf_counter() - t0
    t = time.perf_counter()
    rec = FasterWhisperRecognizer("base")
    t_load = time.perf_counter() - t
    rss_after_load = _rss_kb(os.getpid())
    progress = TimingProgress()
    cpu0, ccpu0 = self_cpu(), children_cpu()
    t = time.perf_counter()
    result = caption(clip, outdir / "e2e.mp4", recognizer=rec, force=True, encoder=EncoderSettings(preset=preset), progress=progress)
    t_caption = time.perf_counter() - t
    cpu_py, cpu_ff = self_cpu() - cpu0, children_cpu() - ccpu0
    sampler.stop()
    hwm_self = _rss_kb(os.getpid(), "VmHWM")
    ru_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ru_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    transcript = result.transcript
    print(
        json.dumps(
            {
                "preset": preset,
                "import_s": t_import,
                "load_s": t_load,
                "caption_s": t_caption,
                "stages": progress.stages,
                "python_cpu_s": cpu_py,
                "ffmpeg_cpu_s": cpu_ff,
                "words": len(transcript.words),
                "cues": len(result.cues),
                "violations": len(result.violations),
                "transcript_duration": transcript.duration,
                "rss_after_load_mb": rss_after_load / 1024,
                "python_hwm_mb": hwm_self / 1024,
                "maxrss_self_mb": ru_self / 1024,
                "maxrss_children_mb": ru_child / 1024,
                "sampled_peak_tree_mb": sampler.peak_kb / 1024,
                "sampled_peak_child_hwm_mb": sampler.peak_child_kb / 1024,
                "output_bytes": result.video.stat().st_size,
                "text_head": transcript.text[:120],
            },
            ensure_ascii=False,
        )
    )


def bench_e2e(clip: Path, workdir: Path, preset: str) -> dict:
    from captioner.media.probe import probe

    duration = probe(clip).duration
    outdir = workdir / f"e2e_{preset}"
    outdir.mkdir(exist_ok=True)
    cmd = [sys.executable, os.path.abspath(__file__), "--child-e2e", str(clip), str(outdir), preset]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"end-to-end child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for f in outdir.iterdir():
        f.unlink()
    res["duration_s"] = duration
    res["ratio"] = res["caption_s"] / duration
    res["cold_ratio"] = (res["import_s"] + res["load_s"] + res["caption_s"]) / duration
    res["process_wall_s"] = wall
    res["ffmpeg_peak_mb"] = res["sampled_peak_child_hwm_mb"]
    res["peak_mb"] = res["python_hwm_mb"] + res["ffmpeg_peak_mb"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # What the run would take if every CPU-second it used ran in parallel on this many free cores.
    res["cpu_floor_ratio"] = (res["python_cpu_s"] + res["ffmpeg_cpu_s"]) / cpus / duration
    res["cpus"] = cpus
    log(
        f"  e2e [{preset}]: caption() {res['caption_s']:.1f}s for {duration:.0f}s "
        f"(transcribing {res['stages'].get('transcribing', 0):.1f}s, burning {res['stages'].get('burning', 0):.1f}s), "
        f"peak {res['peak_mb']:.0f} MB"
    )
    return res


# --- report ----------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISS"


def print_report(report: dict) -> None:
    m, v = report["machine"], report["versions"]
    print()
    print(f"machine : {m['cpu_count']} CPUs ({m['cpu_model']}), {m['mem_gb']} GB RAM, load avg at start "
          f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'] or ())}")
    print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if k != "ffmpeg"))
    print(f"ffmpeg  : {v['ffmpeg']}")
    print(f"mode    : {'quick' if report['quick'] else 'full'}; clip {report['clip_seconds']:.0f} s 1080x1920 30 fps; "
          f"wall {report['total_s']:.0f} s")
    rows: list[tuple[str, str, str, str]] = []
    asr = report.get("recognition")
    if asr:
        p, r = asr["pipeline"], asr["raw"]
        rows += [
            (f"1. ASR RTF, captioner ({asr['clips']} clips, {asr['audio_s']:.0f} s)", f"{p['rtf']:.3f}", "-", f"{p['time_s']:.1f} s, {p['threads']} threads"),
            ("1. ASR RTF, raw faster-whisper", f"{r['rtf']:.3f}", "-", f"{r['time_s']:.1f} s, 2 threads (README: {README_RAW['rtf']})"),
        ]
    else:
        rows.append(("1. ASR RTF", "skipped", "-", report.get("recognition_skipped", "")))
    b = report.get("burn")
    rows += [] if not b else [
        ("2. burn / plain re-encode (wall, median)", f"{b['ratio']:.3f}", f"<= {TARGETS['burn_ratio']}",
         f"{verdict(b['ratio'], TARGETS['burn_ratio'])}: {b['burn_median_s']:.1f} s / {b['base_median_s']:.1f} s, n={b['reps']} paired"),
        ("2. burn / plain re-encode (ffmpeg CPU)", f"{b['cpu_ratio']:.3f}", f"<= {TARGETS['burn_ratio']}",
         f"{verdict(b['cpu_ratio'], TARGETS['burn_ratio'])}: {statistics.median(b['burn_cpu_s']):.1f} / {statistics.median(b['base_cpu_s']):.1f} cpu-s"),
        ("2b. burn + inset + highlight / re-encode", f"{b['full_ratio']:.3f}", f"<= {TARGETS['full_ratio']}",
         f"{verdict(b['full_ratio'], TARGETS['full_ratio'])}: {statistics.median(b['full_s']):.1f} s wall; "
         f"CPU ratio {b['full_cpu_ratio']:.3f}"),
        ("2d. floor: re-encode + decoding the interpreter", f"{b['floor_ratio']:.3f}", "-",
         f"{statistics.median(b['floor_s']):.1f} s wall; CPU ratio {b['floor_cpu_ratio']:.3f}; no inset can cost less"),
        ("2c. the same with a green-keyed inset", f"{b['keyed_ratio']:.3f}", "-",
         f"{statistics.median(b['keyed_s']):.1f} s wall; CPU ratio {b['keyed_cpu_ratio']:.3f}"),
        ("   plain re-encode alone / clip duration", f"{b['base_rtf']:.3f}", "-", f"encoder {b['encoder']['c:v']} {b['encoder']['preset']} crf {b['encoder']['crf']}"),
    ]
    for i, e in enumerate(report.get("e2e", [])):
        st = e["stages"]
        tag = f"[{e['preset']}]"
        target = f"<= {TARGETS['e2e_ratio']}"
        rows.append(
            (f"3. caption() / duration {tag}", f"{e['ratio']:.3f}", target,
             f"{verdict(e['ratio'], TARGETS['e2e_ratio'])}: {e['caption_s']:.1f} s = transcribe {st.get('transcribing', 0):.1f} "
             f"+ burn {st.get('burning', 0):.1f} + other {e['caption_s'] - sum(st.values()):.1f}")
        )
        rows.append(
            (f"   CPU-s / ({e['cpus']} cores x duration) {tag}", f"{e['cpu_floor_ratio']:.3f}", target,
             f"{verdict(e['cpu_floor_ratio'], TARGETS['e2e_ratio'])}: floor on idle cores; python {e['python_cpu_s']:.1f} + ffmpeg {e['ffmpeg_cpu_s']:.1f} cpu-s, "
             f"output {e['output_bytes'] / 2**20:.0f} MiB")
        )
        if i == 0:
            rows += [
                ("   with import + model load (cold CLI)", f"{e['cold_ratio']:.3f}", "-", f"import {e['import_s']:.1f} s, load {e['load_s']:.1f} s"),
                ("   transcribing stage RTF on the clip", f"{st.get('transcribing', 0) / e['duration_s']:.3f}", "-", f"{e['words']} words, {e['cues']} cues, {e['violations']} lint violations"),
                ("   burning stage / clip duration", f"{st.get('burning', 0) / e['duration_s']:.3f}", "-", ""),
                (f"4. peak RSS, python + ffmpeg {tag}", f"{e['peak_mb']:.0f} MB", f"<= {TARGETS['peak_mb']:.0f} MB",
                 f"{verdict(e['peak_mb'], TARGETS['peak_mb'])}: python VmHWM {e['python_hwm_mb']:.0f} + ffmpeg VmHWM {e['ffmpeg_peak_mb']:.0f}"),
                ("   peak sampled tree RSS (concurrent)", f"{e['sampled_peak_tree_mb']:.0f} MB", "-",
                 f"python after model load {e['rss_after_load_mb']:.0f} MB"),
                ("   getrusage ru_maxrss SELF / CHILDREN (unused)", f"{e['maxrss_self_mb']:.0f} / {e['maxrss_children_mb']:.0f} MB", "-",
                 "inflated: Linux carries the parent's high-water mark across exec"),
            ]
    if asr:
        p, r = asr["pipeline"], asr["raw"]
        for name, s in (("captioner", p), ("raw faster-whisper", r)):
            rows.append((f"5. WER / CER, {name}", f"{s['wer']:.3f} / {s['cer']:.3f}", "-",
                         f"S {s['sub']} D {s['del']} I {s['ins']} of {s['ref_words']} ref words; {s['hyp_words']} hyp words, {s['empty_hyps']} empty"))
        rows.append(("5. README raw faster-whisper base", f"{README_RAW['wer']:.2f} / {README_RAW['cer']:.2f}", "-", "30 clips, int8, 2 threads, beam 5"))
    else:
        rows.append(("5. WER / CER", "skipped", "-", report.get("recognition_skipped", "")))
    widths = [max(len(r[i]) for r in rows + [("metric", "value", "target", "notes")]) for i in range(3)]
    header = ("metric", "value", "target", "notes")
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  " + header[3]
    print()
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[3])


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer WER clips, 1 repetition, a 20 s clip")
    ap.add_argument("--json", type=Path, help="write every figure to this JSON file")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared Arabic speech folder (manifest.tsv)")
    ap.add_argument("--workdir", type=Path, help="keep the test clip here and reuse it (default: a temporary folder)")
    ap.add_argument("--reps", type=int, help="baseline/burn repetitions (default 3, quick 1)")
    ap.add_argument("--wer-clips", type=int, help="how many clips to score (default all, quick 6)")
    ap.add_argument("--clip-seconds", type=float, help="test clip length (default 60, quick 20)")
    ap.add_argument("--presets", default="", help="extra x264 presets to run end to end, e.g. superfast,ultrafast")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: asr,burn,e2e")
    ap.add_argument("--child-e2e", nargs=3, metavar=("CLIP", "OUTDIR", "PRESET"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child_e2e:
        child_e2e(Path(args.child_e2e[0]), Path(args.child_e2e[1]), args.child_e2e[2])
        return 0

    t_start = time.perf_counter()
    reps = args.reps or (1 if args.quick else 3)
    seconds = args.clip_seconds or (20.0 if args.quick else 60.0)
    n_wer = args.wer_clips or (6 if args.quick else None)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    from captioner.render.ffmpeg import EncoderSettings

    report: dict = {"machine": machine(), "versions": versions(), "quick": args.quick, "clip_seconds": seconds}
    data: Path | None = args.data
    rows: list[dict] = []
    if data is None or not (data / "manifest.tsv").is_file():
        report["recognition_skipped"] = f"no speech data at {data} (pass --data)"
        log(report["recognition_skipped"] + ": WER/CER and ASR RTF skipped; the clip gets a tone")
        data = None
    else:
        rows = read_manifest(data)

    with tempfile.TemporaryDirectory(prefix="captioner-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tmp)
        clip = build_clip(data, rows, workdir, seconds)

        if data is not None and "asr" not in skip:
            from captioner.asr.faster_whisper_backend import FasterWhisperRecognizer

            t = time.perf_counter()
            rec = FasterWhisperRecognizer("base")
            log(f"recognizer loaded in {time.perf_counter() - t:.1f}s; scoring {n_wer or len(rows)} clips")
            report["recognition"] = bench_recognition(data, rows[:n_wer] if n_wer else rows, rec)
            del rec
        elif data is not None:
            report["recognition_skipped"] = "skipped (--skip asr)"

        if "burn" not in skip:
            log(f"burn vs plain re-encode, {reps} run(s) each, alternating")
            report["burn"] = bench_burn(clip, rows, scratch, reps)

        report["e2e"] = []
        if "e2e" not in skip:
            presets = [EncoderSettings().effective_preset] + [p.strip() for p in args.presets.split(",") if p.strip()]
            for preset in dict.fromkeys(presets):
                log(f"end to end caption() in a subprocess, x264 preset {preset}")
                report["e2e"].append(bench_e2e(clip, scratch, preset))

    report["total_s"] = time.perf_counter() - t_start
    report["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
