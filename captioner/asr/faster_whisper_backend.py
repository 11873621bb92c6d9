"""The faster-whisper backend (CTranslate2): the default, several times faster than openai-whisper on a CPU."""

from __future__ import annotations

import os

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from ..cues import Segment, Word
from ..errors import CaptionerError
from ..media.audio import SAMPLE_RATE
from ..system import available_cores
from ..text.arabic import APPEND_PUNCTUATION
from .base import ChunkedRecognizer, Decoded, ProgressCallback, default_workers
from .chunks import Chunk
from .models import download_failure, repo_of, resolve_model
from .registry import check_compute_type, register_recognizer, resolve_device


@register_recognizer
class FasterWhisperRecognizer(ChunkedRecognizer):
    """faster-whisper (CTranslate2) with word timestamps, Silero VAD and Arabic-aware punctuation."""

    backend = "faster-whisper"
    # CTranslate2's types per device.  On a CPU int8 is the fast path; with the same
    # weights, float32 gives the same words as openai-whisper: quantizing shifts a
    # few.  On a GPU float16 is the fast path (the weights are stored in float16);
    # int16 is CPU-only, the bfloat16 types need a GPU of compute capability 8.0 or later.
    compute_types = {
        "cpu": ("int8", "int8_float32", "int16", "float32"),
        "cuda": ("float16", "int8_float16", "int8_float32", "int8", "bfloat16", "int8_bfloat16", "float32"),
    }
    default_compute_types = {"cpu": "int8", "cuda": "float16"}
    gpu_engine = "CTranslate2"

    @classmethod
    def cuda_devices(cls) -> int:
        return int(ctranslate2.get_cuda_device_count())

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
        self.model_name = model
        self.beam_size = beam_size
        self.seed = seed
        self.device = resolve_device(self.backend, device)
        self.compute_type = check_compute_type(self.backend, compute_type, self.device)
        path = resolve_model(model)
        cores = available_cores()
        # On a GPU one replica per visible GPU (each is parallel inside); on a CPU one per core, up to four.
        gpus = self.cuda_devices() if self.device == "cuda" else 0
        self.workers = workers or (gpus or default_workers(path, cores))
        self.cpu_threads = cpu_threads or max(1, cores // self.workers)
        try:
            self._models = [
                WhisperModel(
                    path,
                    device=self.device,
                    device_index=i % gpus if gpus else 0,
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                    local_files_only=os.path.isdir(path),
                )
                for i in range(self.workers)
            ]
        except (OSError, RuntimeError, ValueError) as exc:
            if not os.path.isdir(path):  # a name faster-whisper had to download
                raise CaptionerError(download_failure(model, repo_of(model), exc)) from None
            raise CaptionerError(f"cannot load model {model!r}: {exc}") from None

    def _prompt_tokens(self, text: str) -> int:
        return len(self._models[0].hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    @property
    def whisper_model(self) -> WhisperModel:
        """The first loaded faster-whisper model (what :func:`captioner.asr.align.align_words` can reuse)."""
        return self._models[0]

    def _seed(self) -> None:
        # Whisper's temperature fallback samples.  CTranslate2 seeds each worker
        # thread's generator when it first samples, so this makes a fresh process
        # (one CLI run) reproducible; later calls in the same process continue
        # that random stream.
        ctranslate2.set_random_seed(self.seed)

    def _detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        language, probability, _ = self._models[0].detect_language(audio, vad_filter=True)
        return language, float(probability)

    def _recognize(
        self, model, audio: np.ndarray, chunk: Chunk, language: str | None, report: ProgressCallback,
        prompt: str | None = None, hotwords: str | None = None,
    ) -> tuple[list[Decoded], str, float]:
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
            # The prompt is the chunk's first window's context; hotwords go before every window's.
            initial_prompt=prompt,
            hotwords=hotwords,
        )
        decoded: list[Decoded] = []
        for segment in segments:
            words = [Word(w.word.strip(), offset + float(w.start), offset + float(w.end), float(w.probability))
                     for w in segment.words or ()]
            decoded.append((segment_signals(segment, offset), words))
            report(float(segment.end))
        report((chunk.end - chunk.start) / SAMPLE_RATE)
        return decoded, info.language, float(info.language_probability)


def segment_signals(segment, offset: float) -> Segment:
    """A faster-whisper segment's review signals (its decoding window's), times moved by ``offset``."""
    return Segment(
        start=offset + float(segment.start),
        end=offset + float(segment.end),
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
        compression_ratio=float(segment.compression_ratio),
        temperature=float(segment.temperature or 0.0),
    )
