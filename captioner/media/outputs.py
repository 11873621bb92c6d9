"""Writing outputs atomically: every file goes to a temporary name beside its
target and is renamed into place only when all of them are complete, so a
failure or Ctrl-C leaves neither a half-written file nor a partial set.

Temporary entries are named after their target, ``.STEM.TOKEN.partSUFFIX``
(and a renderer's work folder ``.STEM.TOKEN.partSUFFIX.work``), and while a
run uses them it holds a lock, ``.captioner.TOKEN.lock`` in the same folder
(``flock``: the kernel releases it the moment the process dies, even on
``kill -9``).  So the next run that writes the same outputs can tell what a
dead run left behind (:func:`remove_orphans`) from what a live one is still
writing, and removes only the former.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError

try:
    import fcntl
except ImportError:  # not POSIX: no liveness locks, orphans are not swept
    fcntl = None  # type: ignore[assignment]

_LOCK_RE = re.compile(r"^\.captioner\.([0-9a-f]{8})\.lock(?:-new)?$")


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write one file whole or not at all: a temporary name beside it, renamed into place.

    Text is written as UTF-8 without newline translation.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        if isinstance(data, str):
            data = data.encode("utf-8", "backslashreplace")  # a lone surrogate (a non-UTF-8 name) as \udcff
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_output_folder(folder: Path) -> None:
    if not folder.exists():
        raise InputError(f"{folder}: output folder does not exist")
    if not folder.is_dir():
        raise InputError(f"{folder}: output folder is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".captioner-write-test-", dir=folder)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write to the output folder ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


# --- liveness locks ----------------------------------------------------------------------------------------------

def _lock_path(folder: Path, token: str) -> Path:
    return folder / f".captioner.{token}.lock"


def hold_lock(folder: Path, token: str) -> int | None:
    """Create and hold ``.captioner.TOKEN.lock`` in ``folder``; the open descriptor, or None without flock.

    The file appears already locked (locked under another name, then renamed),
    so no sweeper ever sees it unheld while its owner lives.
    """
    if fcntl is None:
        return None
    final = _lock_path(folder, token)
    fresh = final.with_name(final.name + "-new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise
        except OSError:
            pass  # a filesystem without locks: the file stays, unheld, and sweepers then keep everything
        os.replace(fresh, final)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            fresh.unlink()
        raise
    return fd


def release_lock(folder: Path, token: str, fd: int | None) -> None:
    if fd is None:
        return
    with contextlib.suppress(OSError):
        _lock_path(folder, token).unlink()
    os.close(fd)


def _is_live(lock: Path, wait: float = 0.0) -> bool:
    """Whether a live process holds ``lock`` (waiting up to ``wait`` seconds for it to let go)."""
    if fcntl is None:
        return True  # cannot tell: never remove another run's files
    try:
        fd = os.open(lock, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return False
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return True
                time.sleep(0.05)
            except OSError:
                return True  # no locks on this filesystem: cannot tell, so never remove another run's files
    finally:
        os.close(fd)


_TEMPORARY_RE = re.compile(r"^\.(.+)\.([0-9a-f]{8})\.part")


def remove_orphans(folder: Path, stem: str | set[str], *, wait: float = 0.0) -> list[Path]:
    """Remove what dead runs left beside outputs named ``stem`` (one or a set) in ``folder``; return it.

    Temporary files and work folders (``.STEM.TOKEN.part*``) whose run still
    holds its lock are kept.  ``wait`` gives a process being killed that long
    to let go of its lock.  The folder is listed once, whatever the number of stems.
    """
    stems = {stem} if isinstance(stem, str) else set(stem)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    by_token: dict[str, list[str]] = {}
    for name in names:
        match = _TEMPORARY_RE.match(name)
        if match and match.group(1) in stems:
            by_token.setdefault(match.group(2), []).append(name)
    removed = []
    for token, entries in by_token.items():
        lock = _lock_path(folder, token)
        if _is_live(lock, wait):
            continue
        for name in entries:
            if _remove(folder / name):
                removed.append(folder / name)
        with contextlib.suppress(OSError):
            lock.unlink()
    remove_dead_locks(folder, names=names, skip=set(by_token))  # locks of dead runs whose files are gone
    return removed


def remove_dead_locks(folder: Path, *, wait: float = 0.0, names: list[str] | None = None,
                      skip: set[str] = frozenset()) -> None:
    """Remove the liveness locks in ``folder`` that no live process holds, waiting up to ``wait`` seconds in all.

    For a run that has just killed its workers: one killed before it wrote
    any temporary file leaves only its lock, which :func:`remove_orphans` (no
    files, so no wait) keeps while the process is still dying.  ``names``: the
    folder's listing when the caller has it; ``skip``: tokens already dealt with.
    """
    if names is None:
        try:
            names = os.listdir(folder)
        except OSError:
            return
    deadline = time.monotonic() + wait
    for name in names:
        match = _LOCK_RE.match(name)
        if match and match.group(1) not in skip and \
                not _is_live(folder / name, max(0.0, deadline - time.monotonic())):
            with contextlib.suppress(OSError):
                (folder / name).unlink()


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return False


class FolderInUse(InputError):
    """Another live process holds the lock of a folder (``captioner batch`` on the same ``--out``)."""


@contextlib.contextmanager
def exclusive_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing) while the block runs.

    A second holder fails at once with :class:`FolderInUse`, naming the
    process that holds it.  The lock is ``flock``'s, so the kernel releases it
    when its process dies, however it dies: a crashed run never leaves it stuck.
    """
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise FolderInUse(f"{what}: in use by another captioner batch ({owner}); wait for it to finish "
                              "or use another folder") from None
        except OSError:
            pass  # a filesystem without locks: nothing to hold
        note = f"pid {os.getpid()} on {socket.gethostname()}".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, note, 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would let two runs lock two files)


@contextlib.contextmanager
def work_folder(beside: Path) -> Iterator[Path]:
    """A private temporary folder beside an output file, removed when done (ffmpeg's working folder).

    Beside an :class:`OutputSet` temporary name it is that name plus ``.work``,
    so it falls under the same lock and the same orphan sweep; anywhere else it
    is a hidden folder named after the file.
    """
    name = f"{beside.name}.work" if beside.name.startswith(".") else f".{beside.name}.{secrets.token_hex(4)}.work"
    folder = beside.with_name(name)
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class OutputSet:
    """A set of output files committed together.

    >>> with OutputSet(force=False, inputs=[video]) as out:
    ...     tmp = out.add(Path("clip.captioned.mp4"))
    ...     write(tmp)
    ... # renamed into place here, or removed if the block raised
    """

    def __init__(self, *, force: bool, inputs: list[Path] = ()) -> None:
        self.force = force
        self._inputs = [Path(p).resolve() for p in inputs]
        self._pending: dict[Path, Path] = {}
        self.token = secrets.token_hex(4)
        self._locks: dict[Path, int | None] = {}

    def add(self, target: str | os.PathLike) -> Path:
        target = Path(target)
        resolved = target.resolve()
        if resolved in self._inputs:
            raise InputError(f"{target}: output would overwrite the input")
        if resolved in {t.resolve() for t in self._pending}:
            raise InputError(f"{target}: the same output is named twice")
        if target.is_dir():
            raise InputError(f"{target}: is a folder")
        try:
            mode = target.lstat().st_mode
        except OSError:
            mode = None
        if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            # Renaming over /dev/null, a FIFO or a socket would replace it with a file: never, even with --force.
            raise InputError(f"{target}: not a regular file (a device, pipe or socket); name a file to write")
        if target.exists() and not self.force:
            raise InputError(f"{target}: already exists (use --force to overwrite)")
        folder = target.parent if str(target.parent) else Path(".")
        check_output_folder(folder)
        remove_orphans(folder, target.stem)  # what a killed earlier run left beside these outputs
        if folder not in self._locks:
            self._locks[folder] = hold_lock(folder, self.token)
        tmp = target.with_name(f".{target.stem}.{self.token}.part{target.suffix}")
        self._pending[target] = tmp
        return tmp

    def _release(self) -> None:
        for folder, fd in self._locks.items():
            release_lock(folder, self.token, fd)
        self._locks.clear()

    def commit(self) -> None:
        try:
            for target in list(self._pending):
                os.replace(self._pending.pop(target), target)
        except BaseException:
            self.rollback()
            raise
        self._release()

    def rollback(self) -> None:
        for tmp in self._pending.values():
            _remove(tmp)
            _remove(tmp.with_name(tmp.name + ".work"))
        self._pending.clear()
        self._release()

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
