"""Signals and child processes: a run stops the same way whatever stops it, and leaves no child behind.

- SIGTERM (what ``timeout``, CI runners, docker and Ray send) and SIGHUP (a
  closed terminal) raise :class:`Terminated`, a :class:`KeyboardInterrupt`, so
  every cleanup a Ctrl-C runs (temporary outputs taken back, temporary folders
  removed, ffmpeg and worker processes stopped) runs for them too; the CLI then
  exits 128 + the signal's number (143 for SIGTERM), as shells report it.
- Every ffmpeg captioner starts gets :func:`child_options`: on Linux the kernel
  kills it the moment the thread that started it dies (``PR_SET_PDEATHSIG``), so
  no ffmpeg keeps encoding after a ``kill -9`` of captioner.  The flag survives
  ``execve`` of an ordinary binary (imageio-ffmpeg's static build included).  A
  pipe it reads from or writes to also closes with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator

_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class Terminated(KeyboardInterrupt):
    """A stop signal other than Ctrl-C (SIGTERM, SIGHUP), raised where the run is, cleaned up like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_received: list[int] = []


def _raise_terminated(signum: int, frame) -> None:
    # Once: a second SIGTERM while the first one's cleanup runs must not cut that cleanup short.
    if not _received:
        _received.append(signum)
        raise Terminated(signum)


def received_stop_signal() -> int | None:
    """The stop signal (SIGTERM, SIGHUP) this process received, if any."""
    return _received[0] if _received else None


def install_stop_handlers() -> None:
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (call from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(signum, _raise_terminated)


def interrupt_exit_code(exc: BaseException | None = None) -> int:
    """The exit status for an interrupted run: 130 for Ctrl-C, 128 + N for stop signal N."""
    if isinstance(exc, Terminated):
        return 128 + exc.signum
    return 128 + _received[0] if _received else 130


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# Resolved once here, so that the child between fork and exec only makes one foreign call.
_PRCTL = _load_prctl()


def die_with_parent(signum: int = signal.SIGKILL, parent: int | None = None) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux; False elsewhere).

    ``parent`` is the process id the caller expects as its parent: if it is
    already gone (it died before this call), this process exits at once.
    """
    if _PRCTL is None:
        return False
    if _PRCTL(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        return False
    if parent is not None and os.getppid() != parent:
        os._exit(1)
    return True


def child_options() -> dict:
    """``subprocess.Popen`` keyword arguments for a child (ffmpeg) that must not outlive captioner."""
    if _PRCTL is None:
        return {}
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: one foreign call, nothing more
        die_with_parent(signal.SIGKILL, parent)

    return {"preexec_fn": preexec}


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Run a block (cleanup, the last report) to its end: Ctrl-C and stop signals are ignored meanwhile.

    Only in the main thread (where Python handles signals); elsewhere the block just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {}
    for signum in (signal.SIGINT, *_STOP_SIGNALS):
        try:
            kept[signum] = signal.signal(signum, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    try:
        yield
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """Put this process's Python signal handlers back after a block that replaces them underneath.

    ``ray.init`` installs Ray's own C-level handler for SIGTERM (it logs a stack
    trace and exits 1); with this, SIGTERM still stops a batch as Ctrl-C does.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, *_STOP_SIGNALS)}
    try:
        yield
    finally:
        for signum, handler in kept.items():
            if handler is not None:
                signal.signal(signum, handler)
