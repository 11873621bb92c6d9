"""Speech recognition backends.

A backend turns 16 kHz mono audio into a :class:`~captioner.cues.Transcript`
of timed words.  faster-whisper (CTranslate2) is the default: several times
faster than openai-whisper on CPU, with the same weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

from .cues import Transcript, Word
from .errors import CaptionerError, InputError
from .media import SAMPLE_RATE
from .models import resolve_model
from .text import APPEND_PUNCTUATION, normalise_line

ProgressCallback = Callable[[float], None]  # seconds of audio done

# Longest n-gram and the most consecutive repeats kept before a run counts as a
# Whisper repetition loop (rtl-and-peers W3: "spamming a word like 50 times").
_LOOP_MAX_NGRAM = 6
_LOOP_MAX_REPEATS = 3


class Recognizer(Protocol):
    def transcribe(
        self, audio: np.ndarray, *, language: str | None, progress: ProgressCallback | None = None
    ) -> Transcript: ...


class FasterWhisperRecognizer:
    """faster-whisper with word timestamps, Silero VAD and Arabic-aware punctuation."""

    def __init__(
        self,
        model: str = "base",
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        seed: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_name = model
        self.beam_size = beam_size
        self.seed = seed
        path = resolve_model(model)
        try:
            self._model = WhisperModel(
                path,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads or _available_cores(),
                local_files_only=os.path.isdir(path),
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise CaptionerError(f"cannot load model {model!r}: {exc}") from None

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, progress: ProgressCallback | None = None
    ) -> Transcript:
        import ctranslate2

        # Whisper's temperature fallback samples.  CTranslate2 seeds each worker
        # thread's generator when it first samples, so this makes a fresh process
        # (one CLI run) reproducible; later calls in the same process continue
        # that random stream.
        ctranslate2.set_random_seed(self.seed)
        try:
            segments, info = self._model.transcribe(
                audio,
                language=language,
                beam_size=self.beam_size,
                word_timestamps=True,
                vad_filter=True,
                # Arabic loops feed on their own context (rtl-and-peers W3).
                condition_on_previous_text=False,
                append_punctuations=APPEND_PUNCTUATION,
            )
            words: list[Word] = []
            for segment in segments:
                for w in segment.words or ():
                    words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
                if progress:
                    progress(float(segment.end))
        except ValueError as exc:  # unknown language code and similar
            raise InputError(str(exc)) from None
        return Transcript(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=len(audio) / SAMPLE_RATE,
            words=tuple(clean_words(words)),
        )


def _available_cores() -> int:
    # The cores this process may run on (a container's CPU set), not the machine's.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def clean_words(words: Iterable[Word]) -> list[Word]:
    """Normalise word text, drop empty words and collapse repetition loops."""
    cleaned = []
    for w in words:
        text = normalise_line(w.text)
        if text:
            end = max(w.end, w.start)
            cleaned.append(Word(text, w.start, end, w.probability))
    return drop_repetition_loops(cleaned)


def drop_repetition_loops(words: list[Word]) -> list[Word]:
    """Cut any n-gram (n ≤ 6) repeated more than three times in a row down to one occurrence.

    Real speech repeats a word or phrase two or three times ("لا لا لا"); Whisper's
    decoding loops repeat it dozens of times, usually over silence or music.
    """
    keys = [w.text.strip(".,!?؟،؛…") for w in words]
    out: list[Word] = []
    i = 0
    while i < len(words):
        cut = False
        for n in range(1, _LOOP_MAX_NGRAM + 1):
            gram = keys[i : i + n]
            if len(gram) < n:
                break
            repeats = 1
            while keys[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > _LOOP_MAX_REPEATS:
                out.extend(words[i : i + n])
                i += repeats * n
                cut = True
                break
        if not cut:
            out.append(words[i])
            i += 1
    return out


def make_recognizer(backend: str = "faster-whisper", model: str = "base", **options) -> Recognizer:
    if backend == "faster-whisper":
        return FasterWhisperRecognizer(model, **options)
    raise InputError(f"unknown backend {backend!r} (available: faster-whisper)")
