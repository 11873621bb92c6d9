"""Speech recognition backends.

A backend turns 16 kHz mono audio into a :class:`~captioner.cues.Transcript`
of timed words.  faster-whisper (CTranslate2) is the default: several times
faster than openai-whisper on CPU, with the same weights.  openai-whisper
(PyTorch, the ``openai`` extra) is the reference implementation; both backends
share chunking, VAD, decoding options and post-processing, so they give the
same kind of transcript.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np

from .cues import Transcript, Word
from .errors import CaptionerError, InputError
from .media import SAMPLE_RATE
from .models import BACKENDS, COMPUTE_TYPES, DEFAULT_COMPUTE_TYPE, resolve_model
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


# Whisper reads audio in 30 s windows.  A chunk close to 30 s often leaves a
# second or two over, which Whisper then decodes as a window of its own, and such
# a sliver is where it loops and falls back through every temperature (measured
# on the shared set: 30 s chunks took 2-3x as long as 25 s chunks, at equal or
# worse WER).  25 s leaves room for the last words.
_CHUNK_S = 25.0
# Weights above this size are not worth holding once per worker by default.
_REPLICATE_MAX_BYTES = 1 << 30
_SMALL_MODELS = {"tiny", "base", "small"}
_MIN_CHUNK_S = 10


@dataclass(frozen=True)
class Chunk:
    """A span of the audio, in samples, cut where nobody speaks."""

    start: int
    end: int


def speech_chunks(audio: np.ndarray, workers: int = 1, max_seconds: float = _CHUNK_S) -> list[Chunk]:
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
    from faster_whisper.vad import VadOptions, get_speech_timestamps

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
    # More chunks balance the workers but cost an encoder pass each and give the
    # decoder less context: never below about 10 s per chunk.
    wanted = max(fewest, min(-(-fewest // workers) * workers, total // (_MIN_CHUNK_S * SAMPLE_RATE)))
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

    workers: int
    _models: list

    def _seed(self) -> None:
        raise NotImplementedError

    def _before(self, parallel: int) -> None:
        """Called once chunks are known: ``parallel`` workers will run at once."""

    def _detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        raise NotImplementedError

    def _recognize(
        self, model, audio: np.ndarray, chunk: Chunk, language: str | None, report: ProgressCallback
    ) -> tuple[list[Word], str, float]:
        raise NotImplementedError

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, progress: ProgressCallback | None = None
    ) -> Transcript:
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

            def run_share(worker: int) -> dict[int, tuple[list[Word], str, float]]:
                model = self._models[worker]
                return {
                    i: self._recognize(model, audio, chunks[i], language, partial(report, i))
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
        words = [w for i in range(len(chunks)) for w in results[i][0]]
        if len(chunks) == 1:
            language, probability = results[0][1], results[0][2]
        return Transcript(
            language=language or "",
            language_probability=float(probability),
            duration=len(audio) / SAMPLE_RATE,
            words=tuple(clean_words(words)),
        )


class FasterWhisperRecognizer(ChunkedRecognizer):
    """faster-whisper (CTranslate2) with word timestamps, Silero VAD and Arabic-aware punctuation."""

    backend = "faster-whisper"

    def __init__(
        self,
        model: str = "base",
        *,
        device: str = "cpu",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        workers: int = 0,
        beam_size: int = 5,
        seed: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_name = model
        self.beam_size = beam_size
        self.seed = seed
        self.compute_type = check_compute_type(self.backend, compute_type)
        path = resolve_model(model)
        cores = _available_cores()
        self.workers = workers or default_workers(path, cores)
        self.cpu_threads = cpu_threads or max(1, cores // self.workers)
        try:
            self._models = [
                WhisperModel(
                    path,
                    device=device,
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                    local_files_only=os.path.isdir(path),
                )
                for _ in range(self.workers)
            ]
        except (OSError, RuntimeError, ValueError) as exc:
            raise CaptionerError(f"cannot load model {model!r}: {exc}") from None

    def _seed(self) -> None:
        import ctranslate2

        # Whisper's temperature fallback samples.  CTranslate2 seeds each worker
        # thread's generator when it first samples, so this makes a fresh process
        # (one CLI run) reproducible; later calls in the same process continue
        # that random stream.
        ctranslate2.set_random_seed(self.seed)

    def _detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        language, probability, _ = self._models[0].detect_language(audio, vad_filter=True)
        return language, float(probability)

    def _recognize(
        self, model, audio: np.ndarray, chunk: Chunk, language: str | None, report: ProgressCallback
    ) -> tuple[list[Word], str, float]:
        offset = chunk.start / SAMPLE_RATE
        segments, info = model.transcribe(
            audio[chunk.start : chunk.end],
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
                words.append(Word(w.word.strip(), offset + float(w.start), offset + float(w.end), float(w.probability)))
            report(float(segment.end))
        report((chunk.end - chunk.start) / SAMPLE_RATE)
        return words, info.language, float(info.language_probability)


# faster-whisper's decoding defaults, passed to openai-whisper explicitly so that
# both backends search and fall back alike: candidates when sampling, and the
# temperatures, compression ratio, mean log-probability and no-speech limits of
# the fallback.
_BEST_OF = 5
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
_COMPRESSION_RATIO_THRESHOLD = 2.4
_LOGPROB_THRESHOLD = -1.0
_NO_SPEECH_THRESHOLD = 0.6


class OpenAIWhisperRecognizer(ChunkedRecognizer):
    """openai-whisper (PyTorch), decoding exactly as :class:`FasterWhisperRecognizer` does.

    Same chunks cut at pauses, same Silero VAD inside a chunk (faster-whisper's,
    as openai-whisper has none: speech is kept with faster-whisper's defaults and
    word times are mapped back), beam 5, the same temperature fallback, word
    timestamps, ``condition_on_previous_text=False`` and Arabic punctuation, and
    the same post-processing.  ``--model base`` runs the embedded weights,
    converted once (:func:`captioner.models.convert_embedded_for_openai`), so both
    backends run the very same weights.  float32 on the CPU; torch's thread count
    is process-wide and set to ``cpu_threads`` (default: cores / workers).
    """

    backend = "openai-whisper"

    def __init__(
        self,
        model: str = "base",
        *,
        device: str = "cpu",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        workers: int = 0,
        beam_size: int = 5,
        seed: int = 0,
    ) -> None:
        import copy

        from .models import load_openai_model, require_openai_whisper

        self.compute_type = check_compute_type(self.backend, compute_type)
        require_openai_whisper()
        import torch

        self.model_name = model
        self.beam_size = beam_size
        self.seed = seed
        self.device = device
        first = load_openai_model(model, device)
        cores = _available_cores()
        size = sum(p.numel() * p.element_size() for p in first.parameters())
        self.workers = workers or (max(1, min(cores, 4)) if size <= _REPLICATE_MAX_BYTES else 1)
        self._cores = cores
        self._fixed_threads = cpu_threads
        self.cpu_threads = cpu_threads or max(1, cores // self.workers)
        torch.set_num_threads(self.cpu_threads)
        # openai-whisper's decoder installs kv-cache hooks on the model for each
        # decode, so a model serves one thread at a time: one copy per worker.
        self._models = [first] + [copy.deepcopy(first) for _ in range(self.workers - 1)]

    def _seed(self) -> None:
        import torch

        # The temperature fallback samples from torch's global generator.  With
        # one worker (or one chunk) a run is reproducible; parallel workers that
        # both fall back to sampling draw from it in whatever order they reach it.
        torch.manual_seed(self.seed)

    def _before(self, parallel: int) -> None:
        import torch

        # Unlike CTranslate2's, torch's thread count can change between calls: a
        # clip short enough for one chunk gets every core instead of one worker's share.
        if not self._fixed_threads:
            self.cpu_threads = max(1, self._cores // max(1, parallel))
            torch.set_num_threads(self.cpu_threads)

    @staticmethod
    def _speech(audio: np.ndarray) -> list[dict]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        # faster-whisper's vad_filter=True with its default options.
        return get_speech_timestamps(audio, VadOptions())

    def _language_of(self, model, speech_audio: np.ndarray) -> tuple[str, float]:
        import torch
        import whisper

        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(speech_audio), model.dims.n_mels).to(model.device)
        with torch.no_grad():
            _, probs = model.detect_language(mel)
        language = max(probs, key=probs.get)
        return language, float(probs[language])

    def _detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        speech = self._speech(audio)
        kept = np.concatenate([audio[s["start"] : s["end"]] for s in speech]) if speech else audio
        return self._language_of(self._models[0], kept)

    def _recognize(
        self, model, audio: np.ndarray, chunk: Chunk, language: str | None, report: ProgressCallback
    ) -> tuple[list[Word], str, float]:
        import torch
        from faster_whisper.vad import SpeechTimestampsMap

        offset = chunk.start / SAMPLE_RATE
        piece = audio[chunk.start : chunk.end]
        speech = self._speech(piece)
        if not speech:
            report(len(piece) / SAMPLE_RATE)
            return [], language or "", 1.0 if language else 0.0
        kept = np.ascontiguousarray(np.concatenate([piece[s["start"] : s["end"]] for s in speech]), dtype=np.float32)
        probability = 1.0
        if language is None:
            language, probability = self._language_of(model, kept)
        with torch.no_grad():
            result = model.transcribe(
                kept,
                language=language,
                task="transcribe",
                verbose=None,  # no printing, no tqdm bar
                beam_size=self.beam_size,
                best_of=_BEST_OF,
                temperature=_TEMPERATURES,
                compression_ratio_threshold=_COMPRESSION_RATIO_THRESHOLD,
                logprob_threshold=_LOGPROB_THRESHOLD,
                no_speech_threshold=_NO_SPEECH_THRESHOLD,
                # Arabic loops feed on their own context (rtl-and-peers W3).
                condition_on_previous_text=False,
                word_timestamps=True,
                append_punctuations=APPEND_PUNCTUATION,
                fp16=False,
            )
        # Times in the speech-only audio → times in the chunk, as faster-whisper's
        # restore_speech_timestamps does: both ends of a word from the part its middle is in.
        times = SpeechTimestampsMap(speech, SAMPLE_RATE)
        words: list[Word] = []
        for segment in result["segments"]:
            for w in segment.get("words") or ():
                part = times.get_chunk_index((w["start"] + w["end"]) / 2)
                start = float(times.get_original_time(w["start"], part))
                end = float(times.get_original_time(w["end"], part))
                words.append(Word(w["word"].strip(), offset + start, offset + end, float(w["probability"])))
            report(float(times.get_original_time(segment["end"], is_end=True)))
        report(len(piece) / SAMPLE_RATE)
        return words, language, probability


def default_workers(model_path: str, cores: int) -> int:
    """One recogniser per core, up to four, unless the weights are large."""
    try:
        size = os.path.getsize(os.path.join(model_path, "model.bin"))
    except OSError:  # a name faster-whisper will download
        size = 0 if model_path.split(".")[0] in _SMALL_MODELS else _REPLICATE_MAX_BYTES + 1
    return max(1, min(cores, 4)) if size <= _REPLICATE_MAX_BYTES else 1


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


def check_compute_type(backend: str, compute_type: str) -> str:
    """The concrete compute type ``backend`` runs for ``compute_type`` ("auto" is the backend's default)."""
    if compute_type not in COMPUTE_TYPES:
        raise InputError(f"unknown compute type {compute_type!r} (use one of: {', '.join(COMPUTE_TYPES)})")
    concrete = DEFAULT_COMPUTE_TYPE.get(backend, "float32") if compute_type == "auto" else compute_type
    if backend == "openai-whisper" and concrete != "float32":
        raise InputError(f"openai-whisper computes in float32 only; --compute-type {compute_type} is for faster-whisper")
    return concrete


def make_recognizer(backend: str = "faster-whisper", model: str = "base", **options) -> Recognizer:
    """A recognizer of ``backend`` (one of :data:`BACKENDS`) loaded with ``model``.

    ``options`` go to the backend's class: ``compute_type``, ``workers``, ``cpu_threads``, ``beam_size``, ``seed``.
    """
    if backend == "faster-whisper":
        return FasterWhisperRecognizer(model, **options)
    if backend == "openai-whisper":
        return OpenAIWhisperRecognizer(model, **options)
    raise InputError(f"unknown backend {backend!r} (available: {', '.join(BACKENDS)})")
