"""The recognisers captioner knows, by name, and the checks a run makes before any slow work.

A backend is a :class:`~captioner.asr.base.ChunkedRecognizer` subclass in a
module of its own, registered with :func:`register_recognizer` under its
``backend`` name; ``--backend`` choices, compute-type checks and
:func:`make_recognizer` all read this registry, so adding a backend is adding
its module (and importing it in :mod:`captioner.asr`).
"""

from __future__ import annotations

from faster_whisper.tokenizer import _LANGUAGE_CODES as WHISPER_LANGUAGES

from ..errors import InputError

RECOGNIZERS: dict[str, type] = {}
AUTO = "auto"


def register_recognizer(cls: type) -> type:
    """Class decorator: make ``cls`` the recogniser of ``--backend cls.backend``."""
    RECOGNIZERS[cls.backend] = cls
    return cls


def backends() -> tuple[str, ...]:
    return tuple(RECOGNIZERS)


def compute_types() -> tuple[str, ...]:
    """``auto`` and every compute type some backend runs, in a stable order."""
    seen = [AUTO]
    for cls in RECOGNIZERS.values():
        seen += [t for t in cls.compute_types if t not in seen]
    return tuple(seen)


def recognizer_class(backend: str) -> type:
    try:
        return RECOGNIZERS[backend]
    except KeyError:
        raise InputError(f"unknown backend {backend!r} (available: {', '.join(RECOGNIZERS)})") from None


def check_compute_type(backend: str, compute_type: str) -> str:
    """The concrete compute type ``backend`` runs for ``compute_type`` ("auto" is the backend's default)."""
    cls = recognizer_class(backend)
    if compute_type not in compute_types():
        raise InputError(f"unknown compute type {compute_type!r} (use one of: {', '.join(compute_types())})")
    concrete = cls.default_compute_type if compute_type == AUTO else compute_type
    if concrete not in cls.compute_types:
        others = [name for name, other in RECOGNIZERS.items() if concrete in other.compute_types]
        raise InputError(f"{backend} computes in {', '.join(cls.compute_types)} only; "
                         f"--compute-type {compute_type} is for {' and '.join(others)}")
    return concrete


def check_language(lang: str | None) -> str | None:
    """``auto`` (or nothing) → None, detect; otherwise a Whisper language code, checked before any slow work."""
    if lang in (None, "", AUTO):
        return None
    if lang not in WHISPER_LANGUAGES:
        raise InputError(f"unknown language code {lang!r} (use a Whisper code such as ar, en, fr, or auto)")
    return lang


def make_recognizer(backend: str = "faster-whisper", model: str = "base", **options):
    """A recogniser of ``backend`` loaded with ``model``.

    ``options`` go to the backend's class: ``compute_type``, ``workers``, ``cpu_threads``, ``beam_size``, ``seed``.
    """
    return recognizer_class(backend)(model, **options)
