"""The recogniser interface, and the chunked parallel recognition both Whisper backends share.

A recogniser turns 16 kHz mono audio into a :class:`~captioner.cues.Transcript`
of timed words.  Backends (one module each, registered by name in
:mod:`captioner.asr.registry`) subclass :class:`ChunkedRecognizer` and recognise
one chunk; chunking, language detection, parallel workers and the word clean-up
are the same for all of them, so every backend gives the same kind of transcript.
Backends return their decoded segments with their signals (mean log-probability,
no-speech probability, compression ratio, temperature), which the transcript
keeps for the review flags (:mod:`captioner.captions.flags`), with each word's
segment and the Silero speech probability under it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import ClassVar, Protocol

import numpy as np

from ..cues import Segment, Transcript, Word, WordSignals
from ..errors import InputError
from ..media.audio import SAMPLE_RATE
from .chunks import Chunk, speech_chunks
from .vad import peak_speech, speech_probabilities, trim_to_speech
from .words import clean_indexed

ProgressCallback = Callable[[float], None]  # seconds of audio done
# One decoded segment with its words, times in the whole audio: what a backend's chunk gives.
Decoded = tuple[Segment, list[Word]]

# Weights above this size are not worth holding once per worker by default.
REPLICATE_MAX_BYTES = 1 << 30
# Whisper reads at most this many prompt tokens before a window (n_text_ctx // 2 - 1, both backends).
MAX_PROMPT_TOKENS = 223
_SMALL_MODELS = {"tiny", "base", "small"}


class Recognizer(Protocol):
    def transcribe(
        self, audio: np.ndarray, *, language: str | None, progress: ProgressCallback | None = None,
        prompt: str | None = None, hotwords: str | None = None,
    ) -> Transcript: ...


class ChunkedRecognizer:
    """What both backends share: chunks cut at pauses, one model replica per worker.

    Long audio is cut at pauses into chunks of one Whisper window each, and the
    chunks are recognised in parallel, one model replica per worker.  On a CPU,
    beam search barely gains from a second thread (small matrices, one decoding
    step after another), so two single-threaded replicas recognise a minute of
    speech in about half the time of one replica on two threads.  Each worker
    takes a fixed share of the chunks (i, i + n, …), so with the seed the words
    are the same on every run with the same number of workers.  Subclasses load
    ``self._models`` and recognise one chunk; words of every backend go through
    the same :func:`clean_words`.
    """

    #: The name ``--backend`` takes; the registry keys backends by it.
    backend: ClassVar[str]
    #: Compute types the backend runs on each device (``cpu``, ``cuda``), and the one ``auto`` means there.
    compute_types: ClassVar[dict[str, tuple[str, ...]]]
    default_compute_types: ClassVar[dict[str, str]]
    #: The library whose view of the GPUs decides ``--device auto`` (named in the ``--device cuda`` refusal).
    gpu_engine: ClassVar[str]

    workers: int
    _models: list

    @classmethod
    def cuda_devices(cls) -> int:
        """How many CUDA GPUs this backend's engine sees (0: none, or no CUDA build)."""
        raise NotImplementedError

    def _prompt_tokens(self, text: str) -> int:
        """How many tokens ``text`` is to this model's tokenizer, as Whisper reads a prompt (with a leading space)."""
        raise NotImplementedError

    def check_prompt(self, prompt: str | None, hotwords: str | None) -> None:
        """Refuse (one line, exit 2) a prompt and hotwords longer than Whisper reads: half its text context.

        Whisper's decoder takes at most 223 tokens of prompt before its own start
        tokens (``n_text_ctx // 2 - 1``); faster-whisper would silently cut the
        hotwords' end and the prompt's start, and openai-whisper keep only the
        last 223 tokens.  Refused before any audio is recognised.
        """
        texts = [t for t in (hotwords, prompt) if t]
        if not texts:
            return
        count = sum(self._prompt_tokens(t) for t in texts)
        if count > MAX_PROMPT_TOKENS:
            given = " and ".join(name for name, t in (("--hotwords", hotwords), ("--prompt", prompt)) if t)
            raise InputError(f"{given}: {count} tokens, more than the {MAX_PROMPT_TOKENS} Whisper reads before a "
                             "window; keep the names and terms said in the clip")

    def _seed(self) -> None:
        raise NotImplementedError

    def _before(self, parallel: int) -> None:
        """Called once chunks are known: ``parallel`` workers will run at once."""

    def _detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        raise NotImplementedError

    def _recognize(
        self, model, audio: np.ndarray, chunk: Chunk, language: str | None, report: ProgressCallback,
        prompt: str | None = None, hotwords: str | None = None,
    ) -> tuple[list[Decoded], str, float]:
        """The chunk's decoded segments with their words (times in the whole audio), language, its probability.

        ``prompt`` is text said before the chunk (Whisper's ``initial_prompt``: its
        first window's context); ``hotwords`` are names and terms to prefer, given
        to every window.
        """
        raise NotImplementedError

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, progress: ProgressCallback | None = None,
        prompt: str | None = None, hotwords: str | None = None,
    ) -> Transcript:
        prompt, hotwords = (prompt or "").strip() or None, (hotwords or "").strip() or None
        self.check_prompt(prompt, hotwords)
        self._seed()
        chunks = speech_chunks(audio, self.workers)
        self._before(min(self.workers, len(chunks)))
        probability = 1.0
        try:
            if language is None and len(chunks) > 1:
                # Detect once for the whole clip, so that every chunk agrees.
                language, probability = self._detect_language(audio)
            done = [0.0] * len(chunks)
            lock = threading.Lock()

            def report(i: int, seconds: float) -> None:
                if progress:
                    with lock:
                        done[i] = seconds
                        progress(sum(done))

            def run_share(worker: int) -> dict[int, tuple[list[Decoded], str, float]]:
                model = self._models[worker]
                return {
                    i: self._recognize(model, audio, chunks[i], language, partial(report, i), prompt, hotwords)
                    for i in range(worker, len(chunks), self.workers)
                }

            if len(chunks) == 1:
                results = run_share(0)
            else:
                results = {}
                with ThreadPoolExecutor(min(self.workers, len(chunks)), thread_name_prefix="asr") as pool:
                    for share in pool.map(run_share, range(min(self.workers, len(chunks)))):
                        results.update(share)
        except ValueError as exc:  # unknown language code and similar
            raise InputError(str(exc)) from None
        segments: list[Segment] = []
        words: list[Word] = []
        owner: list[int] = []  # each raw word's segment
        for i in range(len(chunks)):
            for segment, seg_words in results[i][0]:
                segments.append(segment)
                words += seg_words
                owner += [len(segments) - 1] * len(seg_words)
        if len(chunks) == 1:
            language, probability = results[0][1], results[0][2]
        kept = clean_indexed(words)
        # Silero over the whole file: the speech under each word (a review signal), and word edges that Whisper
        # stretched over silence cut back to the speech, so no caption shows before anybody speaks.
        speech = speech_probabilities(audio) if kept else None
        trimmed = []
        for i, w, cut in kept:
            start, end = trim_to_speech(w.start, w.end, speech)
            trimmed.append((i, replace(w, start=start, end=end), cut))
        kept = trimmed
        return Transcript(
            language=language or "",
            language_probability=float(probability),
            duration=len(audio) / SAMPLE_RATE,
            words=tuple(w for _, w, _ in kept),
            segments=tuple(segments),
            signals=tuple(WordSignals(owner[i], cut, peak_speech(w.start, w.end, speech)) for i, w, cut in kept),
        )


def default_workers(model_path: str, cores: int) -> int:
    """One recogniser per core, up to four, unless the weights are large."""
    try:
        size = os.path.getsize(os.path.join(model_path, "model.bin"))
    except OSError:  # a name faster-whisper will download
        size = 0 if model_path.split(".")[0] in _SMALL_MODELS else REPLICATE_MAX_BYTES + 1
    return max(1, min(cores, 4)) if size <= REPLICATE_MAX_BYTES else 1
