"""Cutting long audio at pauses into chunks of one Whisper window each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from ..media.audio import SAMPLE_RATE

# Whisper reads audio in 30 s windows.  A chunk close to 30 s often leaves a
# second or two over, which Whisper then decodes as a window of its own, and such
# a sliver is where it loops and falls back through every temperature (measured
# on the shared set: 30 s chunks took 2-3x as long as 25 s chunks, at equal or
# worse WER).  25 s leaves room for the last words.
CHUNK_SECONDS = 25.0
# More chunks balance the workers but cost an encoder pass each and give the
# decoder less context: never below about 10 s per chunk.
MIN_CHUNK_SECONDS = 10


@dataclass(frozen=True)
class Chunk:
    """A span of the audio, in samples, cut where nobody speaks."""

    start: int
    end: int


def speech_chunks(audio: np.ndarray, workers: int = 1, max_seconds: float = CHUNK_SECONDS) -> list[Chunk]:
    """Cut the audio into consecutive chunks that each fit in one Whisper window.

    Cuts fall in the middle of pauses that Silero VAD finds (a long speech run is
    split at its last pause of 100 ms or more, as in faster-whisper's batched
    pipeline), so no word is cut in two and each chunk can be recognised on its
    own.  The number of chunks is the fewest that fit, rounded up to a multiple
    of ``workers``, and the cuts are placed so that the longest chunk is as short
    as it can be: a minute of speech on two workers becomes four chunks of about
    15 s rather than 25 + 28 + 7 s.  The chunks cover the whole audio; silence
    inside a chunk is left to the recogniser's own VAD.
    """
    total = len(audio)
    limit = int(max_seconds * SAMPLE_RATE)
    if total <= limit and workers <= 1:
        return [Chunk(0, total)]
    # Runs shorter than a chunk, so that their pads still fit.
    vad = VadOptions(max_speech_duration_s=max_seconds - 1.0, min_silence_duration_ms=160)
    runs = [(r["start"], r["end"]) for r in get_speech_timestamps(audio, vad)]
    if len(runs) < 2:
        return [Chunk(0, total)]

    # Cut points: the middle of each pause between speech runs, and both ends.
    bounds = [0] + [(a[1] + b[0]) // 2 for a, b in zip(runs, runs[1:])] + [total]

    def groups(longest: int) -> list[int]:
        """Cut indexes packing runs greedily into chunks of at most ``longest`` samples."""
        cuts = [0]
        for j in range(2, len(bounds)):
            if bounds[j] - bounds[cuts[-1]] > longest:
                cuts.append(j - 1)
        return cuts + [len(bounds) - 1]

    fewest = len(groups(limit)) - 1
    wanted = max(fewest, min(-(-fewest // workers) * workers, total // (MIN_CHUNK_SECONDS * SAMPLE_RATE)))
    best = groups(limit)
    if wanted > fewest:
        low, high = 0, limit  # the shortest longest-chunk with at most `wanted` chunks
        while high - low > SAMPLE_RATE // 10:
            mid = (low + high) // 2
            if len(groups(mid)) - 1 <= wanted:
                high = mid
            else:
                low = mid
        best = groups(high)
    cuts = [bounds[i] for i in best]
    return [Chunk(a, b) for a, b in zip(cuts, cuts[1:])]
