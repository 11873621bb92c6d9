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
# Where recognition runs: ``auto`` is CUDA when the backend's engine sees a GPU, else the CPU.
DEVICES = (AUTO, "cpu", "cuda")


def register_recognizer(cls: type) -> type:
    """Class decorator: make ``cls`` the recogniser of ``--backend cls.backend``."""
    RECOGNIZERS[cls.backend] = cls
    return cls


def backends() -> tuple[str, ...]:
    return tuple(RECOGNIZERS)


def compute_types(backend: str | None = None) -> tuple[str, ...]:
    """``auto`` and every compute type some backend (or ``backend``) runs on some device, in a stable order."""
    seen = [AUTO]
    for cls in RECOGNIZERS.values() if backend is None else [recognizer_class(backend)]:
        seen += [t for t in _all_types(cls) if t not in seen]
    return tuple(seen)


def recognizer_class(backend: str) -> type:
    try:
        return RECOGNIZERS[backend]
    except KeyError:
        raise InputError(f"unknown backend {backend!r} (available: {', '.join(RECOGNIZERS)})") from None


def check_compute_type(backend: str, compute_type: str, device: str = "cpu") -> str:
    """The concrete compute type ``backend`` runs on ``device`` for ``compute_type`` ("auto": the device's default).

    ``device`` is ``cpu`` or ``cuda`` (a resolved device); ``auto`` accepts a type
    that either device runs (a Ray driver does not know its workers' devices).
    """
    cls = recognizer_class(backend)
    if compute_type not in compute_types():
        raise InputError(f"unknown compute type {compute_type!r} (use one of: {', '.join(compute_types())})")
    if device == AUTO:
        if compute_type != AUTO and not any(compute_type in types for types in cls.compute_types.values()):
            raise InputError(f"{backend} computes in {', '.join(_all_types(cls))} only; --compute-type "
                             f"{compute_type} is for {' and '.join(_backends_with(compute_type))}")
        return compute_type
    check_device_name(device)
    runs = cls.compute_types[device]
    concrete = cls.default_compute_types[device] if compute_type == AUTO else compute_type
    if concrete not in runs:
        others = _backends_with(concrete, device)
        devices = [d for d, types in cls.compute_types.items() if concrete in types]
        if others:
            where = " and ".join(others)
        elif devices:
            where = "--device " + " or ".join(devices)
        else:
            where = " and ".join(_backends_with(concrete)) + " on --device " + \
                " or ".join(d for d in DEVICES[1:] if _backends_with(concrete, d))
        on = f" on {device}" if device == "cuda" or not others else ""
        raise InputError(f"{backend}{on} computes in {', '.join(runs)} only; --compute-type {compute_type} is for {where}")
    return concrete


def _all_types(cls) -> list[str]:
    seen: list[str] = []
    for types in cls.compute_types.values():
        seen += [t for t in types if t not in seen]
    return seen


def _backends_with(compute_type: str, device: str | None = None) -> list[str]:
    return [name for name, other in RECOGNIZERS.items()
            if any(compute_type in types for dev, types in other.compute_types.items() if device in (None, dev))]


def check_device_name(device: str) -> str:
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r} (use one of: {', '.join(DEVICES)})")
    return device


def resolve_device(backend: str, device: str = AUTO) -> str:
    """``cpu`` or ``cuda``: where ``backend`` recognises for ``--device device``.

    ``auto`` is ``cuda`` when the backend's engine sees a CUDA GPU (CTranslate2 for
    faster-whisper, torch for openai-whisper), else ``cpu``; ``cuda`` on a machine
    where it sees none is bad usage, refused before any work.
    """
    check_device_name(device)
    if device == "cpu":
        return "cpu"
    cls = recognizer_class(backend)
    gpus = cls.cuda_devices()
    if gpus:
        return "cuda"
    if device == "cuda":
        raise InputError(f"--device cuda: {cls.gpu_engine} sees no CUDA GPU on this machine "
                         "(use --device cpu, or auto to use a GPU only where there is one)")
    return "cpu"


def cuda_devices(backend: str = "faster-whisper") -> int:
    """How many CUDA GPUs ``backend``'s engine sees here (0 without a GPU or a CUDA build)."""
    return recognizer_class(backend).cuda_devices()


def check_language(lang: str | None) -> str | None:
    """``auto`` (or nothing) → None, detect; otherwise a Whisper language code, checked before any slow work."""
    if lang in (None, "", AUTO):
        return None
    if lang not in WHISPER_LANGUAGES:
        raise InputError(f"unknown language code {lang!r} (use a Whisper code such as ar, en, fr, or auto)")
    return lang


def make_recognizer(backend: str = "faster-whisper", model: str = "base", **options):
    """A recogniser of ``backend`` loaded with ``model``.

    ``options`` go to the backend's class: ``device`` (``cpu`` or ``cuda``), ``compute_type``, ``workers``,
    ``cpu_threads``, ``beam_size``, ``seed``.
    """
    return recognizer_class(backend)(model, **options)
