"""One settings object for a caption job.

Every option that shapes a captioned video lives in :class:`CaptionSettings`,
as faster-whisper's ``TranscriptionOptions`` carries its decoding settings: the
CLI builds it from its flags, the API takes it (or its fields as keywords), and
a batch sends it to every worker and hashes it into the fingerprint that
decides what a rerun redoes.  A new option is a new field here (and a flag in
the CLI); nothing else has to learn about it.
"""

from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .asr.registry import check_compute_type, check_device_name, check_language, recognizer_class, resolve_device
from .errors import InputError
from .render.ffmpeg import EncoderSettings
from .render.inset import SignOptions
from .render.reframe import MODES as REFRAME_MODES
from .render.registry import get_renderer
from .styles.presets import Preset, get_preset, load_style

HIGHLIGHT_MODES = ("none", "word")
# A prompt or hotword list longer than this is not what Whisper can read (223 tokens; the backend counts them).
MAX_PROMPT_CHARS = 2000


def prompt_text(name: str, value) -> str | None:
    """A prompt or hotword list as Whisper gets it: whitespace runs (a manifest cell's line breaks) made one
    space; empty is None; not text, control characters or more than :data:`MAX_PROMPT_CHARS` are refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, not {type(value).__name__}")
    text = " ".join(value.split())
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        raise InputError(f"{name} holds a control character or bytes that are not UTF-8; give plain text")
    if len(text) > MAX_PROMPT_CHARS:
        raise InputError(f"{name} is {len(text)} characters long; Whisper reads at most 223 tokens of it "
                         f"(keep it under {MAX_PROMPT_CHARS} characters: the names and terms said in the clip)")
    return text or None


@dataclass(frozen=True)
class CaptionSettings:
    """Everything that decides what a caption job makes (not where: input, output and ``force`` are per call).

    Plain, picklable values only: a batch sends the settings to worker
    processes and Ray nodes.  Files named here (``style``, ``sign``) count by
    their content in a batch's fingerprint; ``encoder.threads`` changes only
    how fast, so it does not count.
    """

    # Recognition.
    lang: str | None = "ar"  # a Whisper language code, or "auto" / None to detect
    model: str = "base"  # the embedded model, a name, or a local model folder
    backend: str = "faster-whisper"
    compute_type: str = "auto"
    # Where recognition (and, on a GPU, the H.264 encode) runs: auto (a CUDA GPU when the backend sees one), cpu, cuda.
    device: str = "auto"
    # Text that steers recognition: a prompt (what was said before: register, spelling) and hotwords (names and
    # terms said in the clip).  Both go to Whisper before its own tokens; a batch manifest's hotwords column
    # overrides hotwords for its row.
    prompt: str | None = None
    hotwords: str | None = None
    # Review flags: also flag any word recognised with a probability below this (0: the combined decision only).
    review_below: float = 0.0
    # Captions: the platform preset (or a Preset), a house-style TOML file over it, the reading speed.
    preset: str | Preset = "tiktok"
    style: str | None = None
    cps: float | None = None
    # The sign-language interpreter inset (sign: its video) and the output frame.
    sign: str | None = None
    sign_position: str = "auto"
    sign_size: float | None = None
    sign_offset: float = 0.0
    sign_key: str = "none"
    sign_border: bool = False
    sign_hold: bool = False
    reframe: str = "auto"
    highlight: str = "none"
    # Rendering and encoding.
    renderer: str = "libass"
    shaping: str = "auto"  # the pillow renderer's Arabic shaping: auto, raqm or fallback
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    # Burning a subtitle file: keep its lines exactly (refuse one that does not fit) instead of
    # re-flowing; align edited words to the audio when word timings are needed (issue 11).
    keep_lines: bool = False
    align: bool = True

    def __post_init__(self) -> None:
        for name in ("style", "sign"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        if self.cps is not None and not (isinstance(self.cps, (int, float)) and math.isfinite(self.cps) and self.cps > 0):
            raise InputError(f"reading speed must be a positive number of characters per second, not {self.cps!r}")
        if not (isinstance(self.review_below, (int, float)) and 0 <= self.review_below <= 1):
            raise InputError(f"review_below must be a probability from 0 to 1, not {self.review_below!r}")
        for name in ("prompt", "hotwords"):
            object.__setattr__(self, name, prompt_text(name, getattr(self, name)))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def with_options(self, **options) -> "CaptionSettings":
        """These settings with some fields replaced (the API's keyword arguments).

        ``sign`` may be a :class:`~captioner.render.inset.SignOptions`, whose
        fields become the ``sign_*`` settings.
        """
        sign = options.get("sign")
        if isinstance(sign, SignOptions):
            options.update(sign=str(sign.path), sign_position=sign.position, sign_size=sign.size,
                           sign_offset=sign.offset, sign_key=sign.key, sign_border=sign.border, sign_hold=sign.hold)
        unknown = sorted(set(options) - set(self.names()))
        if unknown:
            raise InputError(f"unknown caption setting {unknown[0]!r} (known: {', '.join(self.names())})")
        return replace(self, **options)

    # -- checks made before any slow work ---------------------------------------------------------------------

    def check_recognition(self, *, here: bool = True) -> str | None:
        """The language to recognise (None: detect); a bad language, backend, device or compute type fails here.

        ``here``: recognition runs on this machine, so ``--device cuda`` without a
        GPU is refused and the compute type checked for the device it resolves to;
        a Ray driver passes False (its workers' machines decide).
        """
        language = check_language(self.lang)
        recognizer_class(self.backend)
        device = self.resolved_device() if here else check_device_name(self.device)
        check_compute_type(self.backend, self.compute_type, device)
        return language

    def resolved_device(self) -> str:
        """``cpu`` or ``cuda``: where this machine runs the recognition (:func:`~captioner.asr.registry.resolve_device`)."""
        return resolve_device(self.backend, self.device)

    def check_rendering(self) -> None:
        """A bad renderer, shaping, highlight or reframe mode, or interpreter option, fails here."""
        get_renderer(self.renderer).check_available(self.shaping)
        if self.highlight not in HIGHLIGHT_MODES:
            raise InputError(f"highlight must be one of {', '.join(HIGHLIGHT_MODES)}, not {self.highlight!r}")
        if self.reframe not in REFRAME_MODES:
            raise InputError(f"reframe must be one of {', '.join(REFRAME_MODES)}, not {self.reframe!r}")
        self.sign_options()

    def check(self, *, here: bool = True) -> None:
        self.check_recognition(here=here)
        self.check_rendering()
        self.resolved_preset()

    # -- derived ----------------------------------------------------------------------------------------------

    @property
    def highlight_words(self) -> bool:
        return self.highlight == "word"

    def resolved_preset(self) -> Preset:
        """The preset by name, with the house-style file's fields over it."""
        base = get_preset(self.preset) if isinstance(self.preset, str) else self.preset
        return load_style(self.style, base) if self.style else base

    def sign_options(self) -> SignOptions | None:
        """The interpreter inset asked for, or None without a ``sign`` video."""
        if not self.sign:
            return None
        return SignOptions(Path(self.sign), position=self.sign_position, size=self.sign_size,
                           offset=self.sign_offset, key=self.sign_key, border=self.sign_border, hold=self.sign_hold)

    # -- read back --------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict) -> "CaptionSettings":
        """Settings saved as plain JSON values (a batch record's or report's ``settings``), checked field by field.

        Unknown keys are ignored; a value of the wrong kind is an
        :class:`~captioner.errors.InputError` naming the field.
        """
        if not isinstance(data, dict):
            raise InputError("settings must be a JSON object")

        def kind_ok(value, default) -> bool:
            if isinstance(default, bool) or isinstance(value, bool):
                return isinstance(value, bool) and isinstance(default, bool)
            if isinstance(default, (int, float)):
                return isinstance(value, (int, float))
            return isinstance(value, type(default))

        defaults, values = cls(), {}
        optional = {"lang": "", "style": "", "sign": "", "cps": 0.0, "sign_size": 0.0}  # None allowed
        for f in fields(cls):
            if f.name == "encoder" or f.name not in data:
                continue
            value = data[f.name]
            default = optional.get(f.name, getattr(defaults, f.name))
            if not ((value is None and f.name in optional) or kind_ok(value, default)):
                raise InputError(f"settings: {f.name} has a value of the wrong kind ({value!r})")
            values[f.name] = value
        encoder = data.get("encoder")
        if isinstance(encoder, dict):
            base = EncoderSettings()
            options = {k: v for k, v in encoder.items() if k in ("codec", "preset", "crf", "pix_fmt")}
            for name, value in options.items():
                if not kind_ok(value, getattr(base, name)):
                    raise InputError(f"settings: encoder {name} has a value of the wrong kind ({value!r})")
            values["encoder"] = replace(base, **options)
        return cls(**values)
