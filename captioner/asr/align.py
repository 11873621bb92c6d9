"""Edited captions aligned to the audio: every word of a cue gets its start and end from the speech.

When a creator corrects the words of an SRT, the recogniser's word timestamps
no longer belong to the text.  :func:`align_words` times the edited text
against the audio with the same Whisper model, the way faster-whisper times
its own words (``WhisperModel.find_alignment``): CTranslate2's
``Whisper.align`` runs the decoder over the given text tokens against the
encoded audio, takes the cross-attention of the model's alignment heads, and a
dynamic-time-warping path through it says when each token starts.

- Silero VAD (faster-whisper's) finds the speech.  The speech of consecutive
  cues, up to a 30 s Whisper window of it, is cut out and joined without the
  pauses (as faster-whisper's ``vad_filter`` does), encoded once (the costly
  part), and their words aligned together as one text; times are mapped back
  across the removed pauses.  The warping path must cross every frame it is
  given, so a word next to a pause would otherwise absorb the pause.
- Each word is kept inside its own cue's span, in order, in speech, and on one
  side of a pause (the side where more of it lies).
- What is not spoken is not aligned: marks (a speaker dash, ♪) and sound labels
  in square brackets take the time of the next spoken word; a cue with nothing
  spoken, no speech in its time (music, noise) or more than a window of speech
  shares its time by reading length, with probability 0 (not aligned).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.vad import VadOptions, get_speech_timestamps

from ..captions.timing import cue_words, word_starts
from ..cues import Cue, Word
from ..errors import CaptionerError, InputError
from ..media.audio import SAMPLE_RATE
from ..system import available_cores
from .faster_whisper_backend import FasterWhisperRecognizer
from .models import resolve_model
from .registry import check_compute_type, check_language, resolve_device

WINDOW_SECONDS = 30.0  # one Whisper window
PAD_SECONDS = 0.3  # audio kept around the cues of a window, for words typed slightly off their speech
# Tokens one window may align: Whisper's decoder holds 448 positions, the start sequence included.
MAX_TOKENS = 400
# Speech as Silero VAD finds it, in runs split at pauses of 150 ms, each run padded by 80 ms.
_VAD = VadOptions(min_silence_duration_ms=150, speech_pad_ms=80)
ENCODE_BATCH = 2  # windows per encoder call
MIN_PAUSE = 0.3  # s: a word is never stretched across a pause this long


def aligner_settings(compute_type: str = "auto", device: str = "auto") -> tuple[str, str]:
    """The device and CTranslate2 compute type alignment runs with, for a caption job's ``--device`` and
    ``--compute-type``: alignment is CTranslate2 whatever the recognition backend, so a type it does not run on
    that device (openai-whisper's float32 on a GPU is fine, its float16 on a CPU is not) falls back to its default."""
    device = resolve_device("faster-whisper", device)
    return device, compute_type if compute_type in FasterWhisperRecognizer.compute_types[device] else "auto"


def load_aligner(model: str = "base", compute_type: str = "auto", cpu_threads: int = 0,
                 device: str = "cpu") -> WhisperModel:
    """The faster-whisper model whose CTranslate2 ``Whisper.align`` times words (``auto``: int8 on a CPU,
    float16 on a GPU)."""
    device = resolve_device("faster-whisper", device)
    compute = check_compute_type("faster-whisper", compute_type, device)
    path = resolve_model(model)
    try:
        return WhisperModel(path, device=device, compute_type=compute,
                            cpu_threads=cpu_threads or available_cores(), local_files_only=os.path.isdir(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise CaptionerError(f"cannot load model {model!r} for alignment: {exc}") from None


@dataclass
class _Window:
    """Cues aligned together: their speech, cut out of the audio and joined without the pauses."""

    start: float  # seconds: the span the window's cues cover (padded)
    end: float
    cues: list[int]  # indices into the cue list
    pieces: list[tuple[float, float]]  # the speech inside [start, end], in seconds

    @property
    def speech(self) -> float:
        return sum(b - a for a, b in self.pieces)

    def original_time(self, t: float, is_end: bool) -> float:
        """A time in the joined speech as a time of the audio; a word edge on a joint goes to its own side."""
        at = 0.0
        for k, (a, b) in enumerate(self.pieces):
            length = b - a
            last = k == len(self.pieces) - 1
            if t < at + length or (is_end and t <= at + length) or last:
                return a + min(max(t - at, 0.0), length)
            at += length
        return self.end


def _spoken(texts: Sequence[str]) -> list[bool]:
    """Which words of a cue are spoken: not a bare mark, not inside a [sound label]."""
    spoken, label = [], False
    for text in texts:
        opens = text.startswith("[")
        closes = text.endswith("]")
        inside = label or opens
        spoken.append(not inside and any(ch.isalnum() for ch in text))
        if opens and not closes:
            label = True
        elif closes:
            label = False
    return spoken


def speech_runs(audio: np.ndarray) -> list[tuple[float, float]]:
    """Where someone speaks, in seconds (Silero VAD)."""
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in get_speech_timestamps(audio, _VAD)]


def _speech_in(runs: Sequence[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """The speech between ``start`` and ``end`` (none: nobody speaks there)."""
    pieces = [(max(a, start), min(b, end)) for a, b in runs if b > start and a < end]
    return [(a, b) for a, b in pieces if b - a >= 0.02]


def align_words(
    audio: np.ndarray,
    cues: Sequence[Cue],
    *,
    model: str = "base",
    language: str | None = "ar",
    compute_type: str = "auto",
    device: str = "cpu",
    whisper: WhisperModel | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Cue]:
    """The cues, each with one :class:`~captioner.cues.Word` per word of its text, timed by the audio.

    ``audio`` is 16 kHz mono float32 (:func:`captioner.media.audio.load_audio`).
    Each returned cue has the same start, end and lines; its ``words`` follow
    :func:`captioner.captions.timing.cue_words` order, each inside the cue's
    span, with the mean probability of its tokens.  ``language`` None detects
    it; ``whisper`` reuses a loaded faster-whisper model instead of loading
    ``model``; ``progress`` gets the seconds of audio done.
    """
    language = check_language(language) if language is not None else None
    cues = list(cues)
    if not cues:
        return []
    wm = whisper or load_aligner(model, compute_type, device=device)
    if language is None:
        language, _, _ = wm.detect_language(audio, vad_filter=True)
    try:
        tokenizer = Tokenizer(wm.hf_tokenizer, wm.model.is_multilingual, task="transcribe", language=language)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    duration = len(audio) / SAMPLE_RATE
    runs = speech_runs(audio)

    texts = [[w for _, w in cue_words(cue)] for cue in cues]
    spoken = [_spoken(t) for t in texts]
    tokens = [[tokenizer.encode(" " + w) if s else [] for w, s in zip(t, sp)] for t, sp in zip(texts, spoken)]
    times: list[list[tuple[float, float, float] | None]] = [[None] * len(t) for t in texts]

    order = sorted(range(len(cues)), key=lambda k: (cues[k].start, cues[k].end))
    windows: list[_Window] = []
    for k in order:
        if not any(spoken[k]):
            continue
        start = max(0.0, cues[k].start - PAD_SECONDS)
        end = min(duration, cues[k].end + PAD_SECONDS)
        if end <= start:
            continue
        count = sum(len(t) for t in tokens[k])
        w = windows[-1] if windows else None
        if w is not None and _speech_in(runs, start, end):
            pieces = _speech_in(runs, w.start, max(w.end, end))
            joined = _Window(w.start, max(w.end, end), w.cues + [k], pieces)
            if joined.speech <= WINDOW_SECONDS and count + sum(len(t) for j in w.cues for t in tokens[j]) <= MAX_TOKENS:
                windows[-1] = joined
                continue
        alone = _Window(start, end, [k], _speech_in(runs, start, end))
        if 0 < alone.speech <= WINDOW_SECONDS and count <= MAX_TOKENS:
            windows.append(alone)
        # else: a cue with no speech in its time, or more than a window of it, keeps its words
        # shared by reading length (probability 0: not aligned).

    done = 0.0
    for b in range(0, len(windows), ENCODE_BATCH):
        batch = windows[b : b + ENCODE_BATCH]
        features, frames = [], []
        for w in batch:
            segment = np.concatenate([audio[int(a * SAMPLE_RATE) : int(e * SAMPLE_RATE)] for a, e in w.pieces])
            mel = wm.feature_extractor(segment)
            frames.append(min(mel.shape[-1], 3000))
            features.append(pad_or_trim(mel))
        encoded = wm.encode(np.ascontiguousarray(np.stack(features)))
        flat = [[t for k in w.cues for word in tokens[k] for t in word] for w in batch]
        results = wm.model.align(encoded, tokenizer.sot_sequence, flat, frames, median_filter_width=7)
        for w, result, text_tokens in zip(batch, results, flat):
            _place(w, result, text_tokens, tokens, times, cues, wm.tokens_per_second)
            done += w.end - w.start
            if progress:
                progress(done)
    return [_timed_cue(cue, text, mark) for cue, text, mark in zip(cues, texts, times)]


def _place(window: _Window, result, text_tokens: list[int], tokens, times, cues, tokens_per_second) -> None:
    """Word times of one window's alignment, mapped back across the removed pauses, kept inside their cues."""
    if not text_tokens or not result.alignments:
        return
    text_index = np.array([pair[0] for pair in result.alignments])
    time_index = np.array([pair[1] for pair in result.alignments])
    jumps = np.pad(np.diff(text_index), (1, 0), constant_values=1).astype(bool)
    jump_times = time_index[jumps] / tokens_per_second
    if len(jump_times) <= len(text_tokens):  # the end of the last word: the end of the speech
        jump_times = np.append(jump_times, [window.speech] * (len(text_tokens) + 1 - len(jump_times)))
    probs = np.asarray(result.text_token_probs, dtype=np.float64)
    at = 0
    for k in window.cues:
        cue = cues[k]
        last = cue.start
        for i, word_tokens in enumerate(tokens[k]):
            if not word_tokens:
                continue
            a, b = at, at + len(word_tokens)
            at = b
            start = window.original_time(float(jump_times[a]), is_end=False)
            end = window.original_time(float(jump_times[b]), is_end=True)
            start = min(max(start, cue.start, last), cue.end)
            end = min(max(end, start), cue.end)
            start, end = _in_speech(start, end, window.pieces)
            probability = float(probs[a:b].mean()) if b <= len(probs) and b > a else 0.0
            times[k][i] = (start, end, probability)
            last = start


def _in_speech(start: float, end: float, pieces: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """A word kept on one side of a pause, in speech.

    A word that the alignment stretched across a removed pause stays on the side
    where more of it lies; an edge that keeping it inside its cue moved into a
    pause moves to the speech on the word's side.
    """
    runs: list[list[float]] = []
    for a, b in pieces:  # a breath inside a phrase is not a pause
        if runs and a - runs[-1][1] < MIN_PAUSE:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    inside = [(max(a, start), min(b, end)) for a, b in runs if b > start and a < end]
    if not inside:
        return start, end  # no speech where the cue puts it: the cue's time is all there is
    return max(inside, key=lambda p: p[1] - p[0])


def _timed_cue(cue: Cue, texts: list[str], times: list) -> Cue:
    if all(t is None for t in times):
        # Nothing aligned (no speech in the text, or a cue longer than a window): shared by reading length.
        starts = word_starts(replace(cue, words=()))
        ends = starts[1:] + [cue.end]
        return replace(cue, words=tuple(Word(t, s, e, 0.0) for t, s, e in zip(texts, starts, ends)))
    words: list[Word] = []
    for i, text in enumerate(texts):
        if times[i] is not None:
            start, end, probability = times[i]
            words.append(Word(text, start, end, probability))
            continue
        # Not spoken: at the start of the next spoken word (or the end of the last one).
        after = next((t for t in times[i + 1 :] if t is not None), None)
        instant = after[0] if after else max((t[1] for t in times[:i] if t is not None), default=cue.start)
        words.append(Word(text, instant, instant, 1.0))
    return replace(cue, words=tuple(words))
