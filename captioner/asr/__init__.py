"""Speech recognition: audio in, timed words out.

- :mod:`.registry`: the backends by name, devices and compute types, language codes, :func:`make_recognizer`;
- :mod:`.base`: the recogniser interface and the chunked, parallel recognition every backend shares;
- :mod:`.chunks`: long audio cut at pauses; :mod:`.words`: the words' clean-up (repetition loops);
- one module per backend: :mod:`.faster_whisper_backend` (default), :mod:`.openai_whisper_backend` (extra);
- :mod:`.models`: the embedded model, model names, ``models pull``; :mod:`.catalog`: the model registry (data);
  :mod:`.convert`: CTranslate2 → openai-whisper weights.

Importing this package registers every backend.
"""

from . import faster_whisper_backend, openai_whisper_backend  # noqa: F401  (register the backends)
from .base import Recognizer
from .registry import DEVICES, backends, check_compute_type, check_language, compute_types, make_recognizer

__all__ = ["DEVICES", "Recognizer", "backends", "check_compute_type", "check_language", "compute_types",
           "make_recognizer"]
