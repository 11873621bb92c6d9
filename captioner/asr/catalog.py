"""The Whisper models captioner knows: the registry kept as data in ``models/registry.toml``.

The repository's ``models/registry.toml`` is the source of truth; the package
ships a byte-for-byte copy beside this module (``model_registry.toml``), so an
installed wheel reads the same list.  Each model has its source (embedded, or a
Hugging Face repository and revision), files with size and SHA-256 where known,
licence, and Arabic accuracy: the Whisper paper's and what was measured here.
The file is data: every field is type-checked when read, unknown fields are
refused, nothing in it is imported or run.  ``captioner models list`` shows it;
``captioner models pull NAME`` (:mod:`captioner.asr.models`) downloads by it and
checks the SHA-256s it gives.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CaptionerError, InputError
from ..styles.presets import tomllib  # the one guarded import of tomllib (tomli on Python 3.10)

REGISTRY = Path(__file__).with_name("model_registry.toml")
SCHEMA = 1
NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{0,63}")
REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}")
SHA256 = re.compile(r"[0-9a-f]{64}")
REVISION = re.compile(r"[0-9a-f]{40}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
SOURCES = ("embedded", "hugging-face")
_TEXT = {"description", "parameters", "licence", "source", "repo", "revision", "provenance", "weights"}
_REQUIRED = {"description", "licence", "source", "repo", "files"}
_ARABIC_NUMBERS = {"paper_wer_common_voice_9", "paper_wer_fleurs", "readme_wer_common_voice_15", "readme_wer_fleurs",
                   "wer", "cer", "rtf_cpu"}


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: its name, its size in bytes and SHA-256 where known (else ``approx_size`` text)."""

    name: str
    size: int | None = None
    sha256: str | None = None
    approx_size: str | None = None


@dataclass(frozen=True)
class ArabicFigures:
    """Arabic accuracy: the Whisper paper's WER (%, Common Voice 9 and FLEURS), openai/whisper's README figure
    for models after the paper, and WER / CER (0-1) and real-time factor on a CPU measured here."""

    paper_wer_common_voice_9: float | None = None
    paper_wer_fleurs: float | None = None
    readme_wer_common_voice_15: float | None = None
    readme_wer_fleurs: float | None = None
    wer: float | None = None
    cer: float | None = None
    rtf_cpu: float | None = None
    measured: str = ""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    description: str
    licence: str
    source: str  # embedded | hugging-face
    repo: str
    files: tuple[ModelFile, ...]
    arabic: ArabicFigures
    parameters: str = ""
    revision: str | None = None  # a commit of ``repo``; None: its main branch
    provenance: str = ""
    weights: str = ""

    @property
    def embedded(self) -> bool:
        return self.source == "embedded"

    @property
    def size(self) -> int | None:
        """Bytes of all its files, when every size is known."""
        sizes = [f.size for f in self.files]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]

    @property
    def approx_size(self) -> str:
        """The size to show: exact when known, else the model file's approximate size."""
        if self.size is not None:
            return _human(self.size)
        model = next(f for f in self.files if f.name == "model.bin")
        if model.size is not None:  # the other files are small: their sizes do not change the figure
            return "~" + _human(sum(f.size for f in self.files if f.size is not None))
        return "~" + model.approx_size if model.approx_size else "unknown"


def _human(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def _bad(where: str, what: str) -> CaptionerError:
    return CaptionerError(f"model registry {REGISTRY.name}: {where}: {what}")


def _text(value, where: str, pattern: re.Pattern | None = None) -> str:
    if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
        raise _bad(where, f"not a valid value: {str(value)[:80]!r}")
    return value


def _file(raw, where: str) -> ModelFile:
    if not isinstance(raw, dict) or set(raw) - {"name", "size", "sha256", "approx_size"} or "name" not in raw:
        raise _bad(where, "a file is {name, size, sha256, approx_size}")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise _bad(where, f"size must be a positive whole number of bytes, not {size!r}")
    return ModelFile(
        name=_text(raw["name"], where, FILE_NAME),
        size=size,
        sha256=_text(raw["sha256"], where, SHA256) if "sha256" in raw else None,
        approx_size=_text(raw["approx_size"], where) if "approx_size" in raw else None,
    )


def _arabic(raw, where: str) -> ArabicFigures:
    if not isinstance(raw, dict) or set(raw) - _ARABIC_NUMBERS - {"measured"}:
        raise _bad(where, f"unknown field in [arabic]: {sorted(set(raw) - _ARABIC_NUMBERS - {'measured'})}")
    numbers = {}
    for key in _ARABIC_NUMBERS & set(raw):
        value = raw[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 100:
            raise _bad(where, f"{key} must be a number from 0 to 100, not {value!r}")
        numbers[key] = float(value)
    return ArabicFigures(**numbers, measured=_text(raw.get("measured", ""), where))


def parse_registry(data) -> dict[str, ModelEntry]:
    """The models of a registry's TOML data, checked field by field (a bad field: :class:`CaptionerError`)."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or set(data) - {"schema", "models"}:
        raise _bad("top level", f"expected schema = {SCHEMA} and [models.NAME] tables")
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise _bad("top level", "no [models.NAME] tables")
    entries = {}
    for name, raw in models.items():
        where = f"[models.{name}]"
        if not NAME.fullmatch(name) or not isinstance(raw, dict):
            raise _bad(where, "a model name is lower-case letters, digits, '.' and '-'")
        unknown = set(raw) - _TEXT - {"files", "arabic"}
        if unknown or _REQUIRED - set(raw):
            raise _bad(where, f"unknown {sorted(unknown)} or missing {sorted(_REQUIRED - set(raw))} fields")
        text = {key: _text(raw[key], f"{where} {key}") for key in _TEXT & set(raw)}
        if text["source"] not in SOURCES:
            raise _bad(where, f"source must be one of {', '.join(SOURCES)}")
        _text(text["repo"], f"{where} repo", REPO)
        if "revision" in text:
            _text(text["revision"], f"{where} revision", REVISION)
        files = raw["files"]
        if not isinstance(files, list) or not files:
            raise _bad(where, "files must be a list of {name, size, sha256}")
        parsed = tuple(_file(f, f"{where} files") for f in files)
        if "model.bin" not in {f.name for f in parsed}:
            raise _bad(where, "files must include model.bin")
        entries[name] = ModelEntry(name=name, files=parsed, arabic=_arabic(raw.get("arabic", {}), f"{where}.arabic"),
                                   **text)
    return entries


@functools.lru_cache(maxsize=None)
def known_models(path: Path = REGISTRY) -> dict[str, ModelEntry]:
    """Every model of the registry, by name, in its order (read once per process)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaptionerError(f"model registry {path}: cannot read it ({exc}); reinstall captioner") from None
    return parse_registry(data)


def find_model(name: str) -> ModelEntry | None:
    """The registry's entry for ``name`` (a registry name, or its Hugging Face repository), or None."""
    models = known_models()
    if name in models:
        return models[name]
    return next((m for m in models.values() if m.repo == name), None)


def model_entry(name: str) -> ModelEntry:
    """The registry's entry for ``name``, or one line naming the models it knows."""
    entry = find_model(name)
    if entry is None:
        raise InputError(f"unknown model {name!r} (known: {', '.join(known_models())}; or a Hugging Face "
                         "repository such as Systran/faster-whisper-small)")
    return entry
