"""The optional extras, each imported here and nowhere else.

captioner's core (faster-whisper, ffmpeg with libass, PyAV, pysubs2, HarfBuzz)
needs none of them.  A feature that does asks this module for the modules of its
extra; one check per extra either returns them or raises the same
:class:`~captioner.errors.MissingExtraError`, one line naming the pip extra:

- ``openai``: openai-whisper and torch (``--backend openai-whisper``, ``models convert``);
- ``moviepy``: moviepy, Pillow, arabic-reshaper and python-bidi (``--renderer pillow``, :mod:`captioner.moviepy`);
- ``ray``: Ray (``batch --engine ray``).

wordfreq is a core dependency, but it is imported here too, lazily: its Arabic
list costs about 1 s and 100 MB to load, which only the review flags need, and
they fall back to a model without the lexicon when it is missing (:func:`wordfreq`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtraError

# extra -> the modules it provides, in the order they are checked.
EXTRAS: dict[str, tuple[str, ...]] = {
    "openai": ("torch", "whisper"),
    "moviepy": ("moviepy", "PIL", "arabic_reshaper", "bidi"),
    "ray": ("ray",),
}


def _load(extra: str, module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name if exc.name and exc.name.split(".")[0] == module.split(".")[0] else module
        raise MissingExtraError(what, extra, missing) from None


def installed(extra: str) -> bool:
    """Whether every module of ``extra`` imports (a cheap check for ``doctor`` and ``models list``)."""
    try:
        for module in EXTRAS[extra]:
            importlib.import_module(module)
    except ImportError:
        return False
    return True


def openai_whisper(what: str = "the openai-whisper backend") -> ModuleType:
    """openai-whisper's ``whisper`` module (torch imported first, as it needs)."""
    _load("openai", "torch", what)
    whisper = _load("openai", "whisper", what)
    if not hasattr(whisper, "load_model"):  # another distribution's ``whisper`` module
        raise MissingExtraError(what, "openai", "whisper.load_model")
    return whisper


def torch(what: str = "the openai-whisper backend") -> ModuleType:
    return _load("openai", "torch", what)


def moviepy(what: str = "the pillow renderer") -> ModuleType:
    return _load("moviepy", "moviepy", what)


def pillow(what: str = "the pillow renderer") -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """Pillow's ``Image``, ``ImageDraw``, ``ImageFont`` and ``features`` modules."""
    return tuple(_load("moviepy", f"PIL.{name}", what) for name in ("Image", "ImageDraw", "ImageFont", "features"))


def arabic_reshaper(what: str = "the pillow renderer's Arabic shaping without Raqm") -> ModuleType:
    return _load("moviepy", "arabic_reshaper", what)


def bidi(what: str = "the pillow renderer's Arabic shaping without Raqm") -> ModuleType:
    return _load("moviepy", "bidi", what)


def ray(what: str = "the ray engine") -> ModuleType:
    return _load("ray", "ray", what)


def wordfreq() -> ModuleType | None:
    """wordfreq (the review flags' word lexicon), or None when it is not installed: the flags then fall back."""
    try:
        return importlib.import_module("wordfreq")
    except ImportError:
        return None
