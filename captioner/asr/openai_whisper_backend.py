"""The openai-whisper backend (PyTorch, the ``openai`` extra): the reference implementation, decoding as faster-whisper does."""

from __future__ import annotations

import copy
import inspect
from pathlib import Path

import numpy as np
from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

from .. import extras
from ..cues import Segment, Word
from ..errors import CaptionerError, InputError
from ..media.audio import SAMPLE_RATE
from ..system import available_cores
from ..text.arabic import APPEND_PUNCTUATION
from .base import REPLICATE_MAX_BYTES, ChunkedRecognizer, Decoded, ProgressCallback
from .chunks import Chunk
from .convert import checkpoint_from_ct2, load_checkpoint_model
from .models import EMBEDDED_MODEL, convert_embedded_for_openai
from .registry import check_compute_type, register_recognizer, resolve_device

# faster-whisper's decoding defaults, passed to openai-whisper explicitly so that
# both backends search and fall back alike: candidates when sampling, and the
# temperatures, compression ratio, mean log-probability and no-speech limits of
# the fallback.
_BEST_OF = 5
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
_COMPRESSION_RATIO_THRESHOLD = 2.4
_LOGPROB_THRESHOLD = -1.0
_NO_SPEECH_THRESHOLD = 0.6


@register_recognizer
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
    # PyTorch has no int8 Whisper; float16 (openai-whisper's fp16) runs on a GPU only.
    compute_types = {"cpu": ("float32",), "cuda": ("float16", "float32")}
    default_compute_types = {"cpu": "float32", "cuda": "float16"}
    gpu_engine = "torch"

    @classmethod
    def cuda_devices(cls) -> int:
        torch = extras.torch()
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0

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
        extras.openai_whisper()
        torch = extras.torch()
        self.device = resolve_device(self.backend, device)
        self.compute_type = check_compute_type(self.backend, compute_type, self.device)

        self.model_name = model
        self.beam_size = beam_size
        self.seed = seed
        first = load_openai_model(model, self.device)
        cores = available_cores()
        size = sum(p.numel() * p.element_size() for p in first.parameters())
        # On a GPU one model (decoding is parallel inside it); on a CPU one per core, up to four.
        replicas = 1 if self.device == "cuda" else (max(1, min(cores, 4)) if size <= REPLICATE_MAX_BYTES else 1)
        self.workers = workers or replicas
        self._cores = cores
        self._fixed_threads = cpu_threads
        self.cpu_threads = cpu_threads or max(1, cores // self.workers)
        torch.set_num_threads(self.cpu_threads)
        # openai-whisper's decoder installs kv-cache hooks on the model for each
        # decode, so a model serves one thread at a time: one copy per worker.
        self._models = [first] + [copy.deepcopy(first) for _ in range(self.workers - 1)]

    def _prompt_tokens(self, text: str) -> int:
        whisper = extras.openai_whisper()
        model = self._models[0]
        tokenizer = whisper.tokenizer.get_tokenizer(model.is_multilingual, num_languages=model.num_languages)
        return len(tokenizer.encode(" " + text.strip()))

    def check_prompt(self, prompt: str | None, hotwords: str | None) -> None:
        if hotwords and "carry_initial_prompt" not in inspect.signature(extras.openai_whisper().transcribe).parameters:
            raise InputError("--hotwords: this openai-whisper has no hotwords and no carry_initial_prompt to give "
                             "them to every window (pip install -U openai-whisper, or use --prompt)")
        super().check_prompt(prompt, hotwords)

    def _seed(self) -> None:
        # The temperature fallback samples from torch's global generator.  With
        # one worker (or one chunk) a run is reproducible; parallel workers that
        # both fall back to sampling draw from it in whatever order they reach it.
        extras.torch().manual_seed(self.seed)

    def _before(self, parallel: int) -> None:
        # Unlike CTranslate2's, torch's thread count can change between calls: a
        # clip short enough for one chunk gets every core instead of one worker's share.
        if not self._fixed_threads:
            self.cpu_threads = max(1, self._cores // max(1, parallel))
            extras.torch().set_num_threads(self.cpu_threads)

    @staticmethod
    def _speech(audio: np.ndarray) -> list[dict]:
        # faster-whisper's vad_filter=True with its default options.
        return get_speech_timestamps(audio, VadOptions())

    def _language_of(self, model, speech_audio: np.ndarray) -> tuple[str, float]:
        torch, whisper = extras.torch(), extras.openai_whisper()
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
        self, model, audio: np.ndarray, chunk: Chunk, language: str | None, report: ProgressCallback,
        prompt: str | None = None, hotwords: str | None = None,
    ) -> tuple[list[Decoded], str, float]:
        torch = extras.torch()
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
                fp16=self.compute_type == "float16",
                **_prompting(prompt, hotwords),
            )
        # Times in the speech-only audio → times in the chunk, as faster-whisper's
        # restore_speech_timestamps does: both ends of a word from the part its middle is in.
        times = SpeechTimestampsMap(speech, SAMPLE_RATE)
        decoded: list[Decoded] = []
        for segment in result["segments"]:
            words: list[Word] = []
            for w in segment.get("words") or ():
                part = times.get_chunk_index((w["start"] + w["end"]) / 2)
                start = float(times.get_original_time(w["start"], part))
                end = float(times.get_original_time(w["end"], part))
                words.append(Word(w["word"].strip(), offset + start, offset + end, float(w["probability"])))
            seg_start = float(times.get_original_time(segment["start"]))
            seg_end = float(times.get_original_time(segment["end"], is_end=True))
            decoded.append((segment_signals(segment, offset + seg_start, offset + seg_end), words))
            report(seg_end)
        report(len(piece) / SAMPLE_RATE)
        return decoded, language, probability


def _prompting(prompt: str | None, hotwords: str | None) -> dict:
    """openai-whisper's prompt options for faster-whisper's ``initial_prompt`` and ``hotwords``.

    openai-whisper has no ``hotwords``.  faster-whisper puts them before every
    window's prompt; openai-whisper's ``carry_initial_prompt`` does the same with
    its ``initial_prompt``, so hotwords go first in a carried prompt, with the
    prompt after them (the same tokens; the prompt then reaches a chunk's later
    windows too, where faster-whisper gives it to the first only: a chunk is
    at most 25 s, usually one window).
    """
    if hotwords:
        return {"initial_prompt": f"{hotwords} {prompt}" if prompt else hotwords, "carry_initial_prompt": True}
    return {"initial_prompt": prompt} if prompt else {}


def segment_signals(segment: dict, start: float, end: float) -> Segment:
    """An openai-whisper result segment's review signals (the same keys as faster-whisper's), at ``start``-``end``."""
    return Segment(
        start=start,
        end=end,
        avg_logprob=float(segment.get("avg_logprob", 0.0)),
        no_speech_prob=float(segment.get("no_speech_prob", 0.0)),
        compression_ratio=float(segment.get("compression_ratio", 1.0)),
        temperature=float(segment.get("temperature") or 0.0),
    )


def load_openai_model(name: str, device: str = "cpu"):
    """An openai-whisper model for ``--model``: float32, eval mode.

    ``base`` is the embedded model, converted once (no download).  A ``.pt``
    file is an openai-whisper checkpoint; a folder with a CTranslate2
    ``model.bin`` is converted in memory.  Other names (``small``,
    ``large-v3``, …) are downloaded by openai-whisper on a machine with internet.
    """
    whisper = extras.openai_whisper()
    if name == EMBEDDED_MODEL:
        path = convert_embedded_for_openai()
        try:
            return load_checkpoint_model(path, device)
        except InputError:  # damaged behind the stamp's back: convert again
            return load_checkpoint_model(convert_embedded_for_openai(force=True), device)
    path = Path(name).expanduser()
    if path.is_dir():
        return load_checkpoint_model(checkpoint_from_ct2(path), device)
    if path.is_file():
        return load_checkpoint_model(path, device)
    if name.startswith((".", "/", "~")) or name.endswith(".pt"):
        raise InputError(f"model {name!r} not found (a .pt checkpoint or a CTranslate2 model folder)")
    if name not in whisper.available_models():
        raise InputError(f"unknown openai-whisper model {name!r} (available: {', '.join(whisper.available_models())})")
    try:
        return whisper.load_model(name, device=device)
    except (OSError, RuntimeError) as exc:
        raise CaptionerError(f"cannot load openai-whisper model {name!r}: {exc}") from None
