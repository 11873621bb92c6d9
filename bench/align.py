"""Alignment speed: timing edited words by the audio (``captioner align``) against the clip's duration.

    python bench/align.py                 # the first 10 shared clips joined with 2 s pauses, 3 rounds
    python bench/align.py --clips 30 --rounds 1

The shared MSA clips are joined with 2 s pauses; each clip's reference
transcript is one cue, timed 0.8 s into the pauses (as a creator's SRT would
be).  Each round aligns every cue (``align_words``, the model loaded once) and,
for scale, recognises the same audio with captioner's recogniser (the model a
``caption`` run uses), alternating, so that both see the same machine load.
Printed: seconds, real-time factors (seconds per second of audio) and their ratio,
medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import speech_manifest  # noqa: E402

from captioner.asr.align import align_words  # noqa: E402
from captioner.asr.faster_whisper_backend import FasterWhisperRecognizer  # noqa: E402
from captioner.cues import Cue  # noqa: E402
from captioner.media.audio import SAMPLE_RATE, load_audio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pause = np.zeros(int(2 * SAMPLE_RATE), np.float32)
    pieces, cues, at = [pause], [], 2.0
    for wav, reference, _ in speech_manifest()[: args.clips]:
        audio = load_audio(wav)
        cues.append(Cue(at - 0.8, at + len(audio) / SAMPLE_RATE + 0.8, (reference,)))
        pieces += [audio, pause]
        at += len(audio) / SAMPLE_RATE + 2.0
    audio = np.concatenate(pieces)
    duration = len(audio) / SAMPLE_RATE
    recognizer = FasterWhisperRecognizer("base")
    whisper = recognizer.whisper_model
    align_words(audio[: 10 * SAMPLE_RATE], cues[:1], whisper=whisper)  # warm-up (VAD model, caches)
    aligned, recognised = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        result = align_words(audio, cues, whisper=whisper)
        aligned.append(time.perf_counter() - started)
        started = time.perf_counter()
        recognizer.transcribe(audio, language="ar")
        recognised.append(time.perf_counter() - started)
    a, r = statistics.median(aligned), statistics.median(recognised)
    words = sum(len(c.words) for c in result)
    print(f"{args.clips} clips, {duration:.1f} s of audio ({len(cues)} cues, {words} words), {args.rounds} rounds")
    print(f"alignment:   {a:.2f} s = {a / duration:.3f} x real time   (rounds: {', '.join(f'{x:.2f}' for x in aligned)})")
    print(f"recognition: {r:.2f} s = {r / duration:.3f} x real time   (rounds: {', '.join(f'{x:.2f}' for x in recognised)})")
    print(f"alignment / recognition: {a / r:.2f}")


if __name__ == "__main__":
    main()
