"""What a batch keeps in ``OUT/.captioner/``: fingerprints, one record and one event log per clip.

A rerun skips a job whose record says it succeeded with the same fingerprint
(the input's content and every setting) and whose outputs are all there.  The
record is written by the worker that did the job, right after its outputs were
renamed into place, so a Ray task retried after its node died finds the work
done and does not write the same output twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import time
from pathlib import Path

from ..version import __version__
from ..media.outputs import remove_orphans, write_atomic
from ..formats import sidecar_paths
from ..settings import CaptionSettings
from .schema import ClipResult, Job

# Settings that change how fast a clip is made, not what: a different --workers must not redo a campaign.
_SPEED_ONLY = {"threads"}
# Settings that name a file: the file's content counts, not its name.
_FILE_SETTINGS = ("style", "sign")


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def canonical(value):
    """Settings as plain JSON values, speed-only fields left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in _SPEED_ONLY}
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def settings_fingerprint(settings: CaptionSettings, file_hashes: dict[str, str] | None = None) -> str:
    """A hash of every setting; files named by a setting (style, sign) count by their content."""
    data = canonical(settings)
    for key in _FILE_SETTINGS:
        if data.get(key):
            path = data[key]
            data[key] = {"sha256": (file_hashes or {}).get(path) or file_sha256(path)}
    blob = json.dumps({"captioner": __version__, "settings": data}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def fingerprint(job: Job, previous: ClipResult | None, file_hashes: dict[str, str]) -> None:
    """Fill in the job's input hash and fingerprint; the input is hashed again only if its size or mtime changed."""
    st = os.stat(job.input)
    job.input_stat = (st.st_size, st.st_mtime_ns)
    if previous and previous.input_stat == job.input_stat and previous.input_sha256:
        job.input_sha256 = previous.input_sha256
    else:
        job.input_sha256 = file_sha256(job.input)
    settings = settings_fingerprint(job.settings, file_hashes)
    job.fingerprint = hashlib.sha256(f"{job.input_sha256}:{settings}".encode()).hexdigest()


def job_outputs(job: Job) -> list[Path]:
    """The captioned video and its sidecars."""
    video = Path(job.output)
    return [video, *sidecar_paths(video).values()]


MAX_RECORD_BYTES = 1_000_000  # a record is a few hundred bytes: a larger one was not written by captioner


def read_record(job: Job) -> ClipResult | None:
    return load_record(job.record_path)


def write_record(job: Job, result: ClipResult) -> None:
    job.record_path.parent.mkdir(parents=True, exist_ok=True)
    save_record(job.record_path, result)


def save_record(path: Path, result: ClipResult) -> None:
    """Write one record file whole or not at all."""
    # ASCII JSON: a name that is not UTF-8 (bytes a stranger's file system allowed) round-trips exactly.
    write_atomic(path, json.dumps(result.to_dict(), ensure_ascii=True, indent=1))


def load_record(path: Path) -> ClipResult | None:
    """One record file, or None when there is none or it is not one (damaged, tampered, huge, nested)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_RECORD_BYTES + 1)
        if len(data) > MAX_RECORD_BYTES:
            return None
        return ClipResult.from_dict(json.loads(data.decode("utf-8")))
    except (OSError, ValueError, RecursionError):
        return None


def is_done(job: Job, record: ClipResult | None) -> bool:
    """The job succeeded before with the same input and settings, and all its outputs are still there."""
    return bool(
        record
        and record.status == "ok"
        and record.fingerprint == job.fingerprint
        and record.output == job.output
        and all(p.is_file() for p in job_outputs(job))
    )


def log_event(job: Job, event: str, detail: str = "") -> None:
    """One line in the job's event log (appended, never rewritten): the audit trail of every attempt.

    A log that cannot be written (a full disk, a link planted in its place) costs the trail, never the clip.
    """
    line = json.dumps({"time": round(time.time(), 3), "event": event, "host": socket.gethostname(), "pid": os.getpid(),
                       "detail": detail}, ensure_ascii=True)
    try:
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(job.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC,
                     0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        pass


def remove_partial_outputs(job: Job, wait: float = 0.0) -> None:
    """Delete what a stopped attempt left beside the job's outputs: temporary files and its work folder.

    Only entries no live process holds (see :func:`captioner.media.outputs.remove_orphans`); ``wait``
    gives a process that is being killed (a Ray actor dies asynchronously) that long to let go.
    """
    target = Path(job.output)
    remove_orphans(target.parent, target.stem, wait=wait)


def remove_empty_folders(folder: Path, top: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``top`` while they are empty."""
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
