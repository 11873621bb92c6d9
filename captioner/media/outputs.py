"""Writing outputs atomically: every file goes to a temporary name beside its
target and is renamed into place only when all of them are complete, so a
failure or Ctrl-C leaves neither a half-written file nor a partial set."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from ..errors import InputError


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write one file whole or not at all: a temporary name beside it, renamed into place.

    Text is written as UTF-8 without newline translation.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8", newline="")
        else:
            tmp.write_bytes(data)
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

    def add(self, target: str | os.PathLike) -> Path:
        target = Path(target)
        resolved = target.resolve()
        if resolved in self._inputs:
            raise InputError(f"{target}: output would overwrite the input")
        if resolved in {t.resolve() for t in self._pending}:
            raise InputError(f"{target}: the same output is named twice")
        if target.exists() and not self.force:
            raise InputError(f"{target}: already exists (use --force to overwrite)")
        if target.is_dir():
            raise InputError(f"{target}: is a folder")
        check_output_folder(target.parent if str(target.parent) else Path("."))
        tmp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}")
        self._pending[target] = tmp
        return tmp

    def commit(self) -> None:
        for target, tmp in self._pending.items():
            os.replace(tmp, target)
        self._pending.clear()

    def rollback(self) -> None:
        for tmp in self._pending.values():
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        self._pending.clear()

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
