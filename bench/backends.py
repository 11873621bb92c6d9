"""faster-whisper against openai-whisper on the same weights, audio, beam size and threads.

    python bench/backends.py                  # 8 shared clips, 1 run each (about 5-10 minutes on 2 cores)
    python bench/backends.py --clips 4 --runs 2
    python bench/backends.py --json out.json

Both backends load the embedded Whisper base model: faster-whisper the CTranslate2
files, openai-whisper the checkpoint ``captioner models convert base`` makes from
them, so the weights are the very same.  Each runs through captioner's recognizer
(chunking at pauses, Silero VAD, beam 5, word timestamps, the same temperature
fallback) with one worker and the same thread count, after an untimed warm-up
call (openai-whisper's first call in a process compiles its DTW with numba,
which the figure of that call reports).  Three recognizers:

- ``openai-whisper``: PyTorch, float32 (what it runs on a CPU);
- ``faster-whisper float32``: the same arithmetic as openai-whisper;
- ``faster-whisper int8``: captioner's default.

Clips are recognised in turn by all three in one process, the order rotating
from clip to clip, so that other work on the machine slows them alike; the
figures are ratios of the summed times (wall and process CPU time) against
openai-whisper.  Transcripts are compared with jiwer after
``captioner.text.normalise_for_scoring``: openai-whisper against faster-whisper
(agreement) and each against the references of the shared set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = Path(os.environ.get("CAPTIONER_SPEECH_DATA", "/work/shared/data/arabic-speech/msa"))


def log(msg: str) -> None:
    print(f"[backends {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared speech set (manifest.tsv)")
    parser.add_argument("--clips", type=int, default=8, help="how many clips of the set (default 8)")
    parser.add_argument("--runs", type=int, default=1, help="runs per clip and recognizer; the median counts")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="threads for every recognizer")
    parser.add_argument("--beam", type=int, default=5, help="beam size for every recognizer")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()

    import jiwer

    from captioner.media.audio import load_audio
    from captioner.asr.faster_whisper_backend import FasterWhisperRecognizer
    from captioner.asr.openai_whisper_backend import OpenAIWhisperRecognizer
    from captioner.text.scoring import normalise_for_scoring

    with open(args.data / "manifest.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))[: args.clips]
    clips = [(r["file"], load_audio(args.data / r["file"]), r["reference"]) for r in rows]
    audio_s = sum(len(a) for _, a, _ in clips) / 16000
    log(f"{len(clips)} clips, {audio_s:.1f} s of audio, beam {args.beam}, {args.threads} threads, {args.runs} run(s)")

    common = {"workers": 1, "cpu_threads": args.threads, "beam_size": args.beam}
    recognizers = {
        "openai-whisper": OpenAIWhisperRecognizer("base", **common),
        "faster-whisper float32": FasterWhisperRecognizer("base", compute_type="float32", **common),
        "faster-whisper int8": FasterWhisperRecognizer("base", compute_type="int8", **common),
    }
    names = list(recognizers)
    # Untimed: the first call compiles openai-whisper's DTW (numba) and warms
    # torch's and CTranslate2's allocators; every CLI run pays that once.
    t0 = time.perf_counter()
    recognizers[names[0]].transcribe(clips[0][1][: 16000 * 5], language="ar")
    log(f"openai-whisper first call (numba JIT, warm-up) {time.perf_counter() - t0:.1f}s")
    for n in names[1:]:
        recognizers[n].transcribe(clips[0][1][: 16000 * 5], language="ar")
    wall = {n: 0.0 for n in names}
    cpu = {n: 0.0 for n in names}
    texts: dict[str, list[str]] = {n: [] for n in names}
    per_clip = []
    for i, (name, audio, _) in enumerate(clips):
        order = names[i % len(names):] + names[: i % len(names)]
        times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        last = {}
        for _ in range(args.runs):
            for n in order:
                t0, c0 = time.perf_counter(), time.process_time()
                last[n] = recognizers[n].transcribe(audio, language="ar")
                times[n].append((time.perf_counter() - t0, time.process_time() - c0))
        for n in names:
            wall[n] += statistics.median(t for t, _ in times[n])
            cpu[n] += statistics.median(c for _, c in times[n])
            texts[n].append(normalise_for_scoring(last[n].text))
        per_clip.append({"clip": name, **{n: round(statistics.median(t for t, _ in times[n]), 2) for n in names}})
        log(f"{name}: " + ", ".join(f"{n} {per_clip[-1][n]:.1f}s" for n in names))

    references = [normalise_for_scoring(ref) for _, _, ref in clips]
    ow = names[0]
    result = {
        "clips": len(clips),
        "audio_s": round(audio_s, 1),
        "threads": args.threads,
        "beam": args.beam,
        "wall_s": {n: round(wall[n], 1) for n in names},
        "cpu_s": {n: round(cpu[n], 1) for n in names},
        "rtf": {n: round(wall[n] / audio_s, 3) for n in names},
        "speedup_vs_openai_wall": {n: round(wall[ow] / wall[n], 2) for n in names[1:]},
        "speedup_vs_openai_cpu": {n: round(cpu[ow] / cpu[n], 2) for n in names[1:]},
        "wer_vs_openai": {n: round(jiwer.wer(texts[ow], texts[n]), 3) for n in names[1:]},
        "identical_transcripts_vs_openai": {n: sum(a == b for a, b in zip(texts[ow], texts[n])) for n in names[1:]},
        "wer_vs_reference": {n: round(jiwer.wer(references, texts[n]), 3) for n in names},
        "cer_vs_reference": {n: round(jiwer.cer(references, texts[n]), 3) for n in names},
        "per_clip_wall_s": per_clip,
    }
    print(f"\n{len(clips)} clips, {audio_s:.1f} s of Arabic speech, beam {args.beam}, {args.threads} threads, one worker")
    print(f"{'recognizer':<24} {'wall s':>7} {'RTF':>6} {'cpu s':>7} {'x faster (wall/cpu)':>20} "
          f"{'WER vs openai':>14} {'same text':>10} {'WER/CER vs ref':>15}")
    for n in names:
        fast = "-" if n == ow else f"{result['speedup_vs_openai_wall'][n]:.1f} / {result['speedup_vs_openai_cpu'][n]:.1f}"
        agree = "-" if n == ow else f"{result['wer_vs_openai'][n]:.3f}"
        same = "-" if n == ow else f"{result['identical_transcripts_vs_openai'][n]}/{len(clips)}"
        print(f"{n:<24} {wall[n]:>7.1f} {result['rtf'][n]:>6.3f} {cpu[n]:>7.1f} {fast:>20} {agree:>14} {same:>10} "
              f"{result['wer_vs_reference'][n]:>7.3f}/{result['cer_vs_reference'][n]:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
