"""Files a user names, opened as local files and nothing else.

ffmpeg and PyAV read a name as a URL: typed as a file name,
``subfile,,start,0,end,0,,:other.mp4``, ``file:x.mp4``, ``concat:a.mp4|b.mp4``
or ``http:...`` would make them read another file or the network, and a valid
relative name with a colon (``2024-01-01T10:30.mp4``) would fail as an unknown
protocol.  A file's *content* can name other files too: an ffconcat script or
an HLS playlist saved as ``clip.mp4`` is opened by the demuxer its first bytes
match, which then reads the files or URLs it lists.  So every path that
reaches ffmpeg, PyAV or a font parser goes through here:

- :func:`local_file`: an existing, regular, readable local file (a folder, a
  FIFO or device, a symlink loop or an empty file fails in one line; a FIFO
  would block the reader forever, a device would never end);
- :func:`open_media`: a PyAV container on a file object captioner opened
  itself, with only the demuxers of real audio and video formats allowed
  (:data:`MEDIA_FORMATS`: no playlist, concat script or image sequence) and
  no protocol but ``file`` for anything a demuxer would open on its own;
- :func:`ffmpeg_url` and :func:`ffmpeg_input_options`: the same for an ffmpeg
  command line (an absolute ``file:`` URL and the same two allow-lists);
- :func:`read_data_file`: a subtitle file, style, manifest or record read
  whole, with a size cap, so a huge or endless file is one line too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import av

from ..errors import InputError

# Demuxers of audio and video containers (ffmpeg's names).  Not allowed: hls, dash,
# concat, image2 and the other formats whose content names further files or URLs.
MEDIA_FORMATS = (
    "mov", "mp4", "m4a", "3gp", "matroska", "webm", "avi", "mpegts", "mpeg", "asf", "flv", "dv", "mxf",
    "wav", "w64", "mp3", "flac", "ogg", "aac", "aiff", "caf", "amr", "ac3", "eac3", "wv",
)
_PROTOCOLS = "file"


def local_file(path: str | os.PathLike, what: str = "", *, allow_empty: bool = False,
               max_bytes: int | None = None) -> Path:
    """``path`` as a :class:`Path` if it names an existing, readable, regular local file.

    ``what`` names the file in the message (``"interpreter video"``); a path
    that fails is an :class:`~captioner.errors.InputError` with one line.
    """
    p = Path(path)
    label = f"{what} {p}" if what else str(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except OSError as exc:
        raise InputError(f"{label}: {_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{label}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{label}: not a regular file (a pipe, socket or device)")
    if st.st_size == 0 and not allow_empty:
        raise InputError(f"{label}: empty file (0 bytes)")
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputError(f"{label}: too large ({st.st_size / 1e6:.1f} MB; at most {max_bytes / 1e6:g} MB)")
    try:
        with _open_regular(p):
            pass
    except OSError as exc:
        raise InputError(f"{label}: {_reason(exc)}") from None
    return p


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symlink loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "not readable (permission denied)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    return f"cannot read it ({exc.strerror or exc})"


def _open_regular(path: Path, buffering: int = -1):
    """Open for reading without blocking on a FIFO swapped in after the check, and check it is a regular file.

    ``buffering=0`` gives PyAV the raw file: its own 32 KiB reads then cost what reading the path would
    (measured: a 60 s clip's audio decodes within 3% of the path's time; a buffered file object costs 15%).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def read_data_file(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The bytes of a small data file (subtitles, style, manifest, record), refused past ``max_bytes``."""
    p = local_file(path, what, allow_empty=True, max_bytes=max_bytes)
    try:
        with _open_regular(p) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{what} {p}: {_reason(exc)}") from None
    if len(data) > max_bytes:  # it grew after the check
        raise InputError(f"{what} {p}: too large (at most {max_bytes / 1e6:g} MB)")
    return data


def ffmpeg_url(path: str | os.PathLike) -> str:
    """An absolute ``file:`` URL: ffmpeg reads the local file, whatever its name looks like."""
    return "file:" + os.path.abspath(os.fspath(path))


def ffmpeg_input_options() -> dict[str, str]:
    """ffmpeg input options for a user's file: only media demuxers, only the ``file`` protocol."""
    return {"protocol_whitelist": _PROTOCOLS, "format_whitelist": ",".join(MEDIA_FORMATS)}


def open_media(path: str | os.PathLike):
    """A PyAV input container on the local file ``path``: one line (InputError) when it is not media.

    The file is opened by captioner and handed to PyAV as a file object, so
    its name is never parsed as a URL; the demuxer must be a media format of
    :data:`MEDIA_FORMATS`, and nothing it opens on its own can be a URL.
    """
    p = local_file(path)
    try:
        fh = _open_regular(p, buffering=0)
    except OSError as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None
    try:
        container = av.open(fh, mode="r", options=ffmpeg_input_options(), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        fh.close()
        raise InputError(f"{p}: not a readable media file ({_describe(p, exc)})") from None
    except BaseException:
        fh.close()
        raise
    return _Closing(container, fh)


def _describe(path: Path, exc: av.error.FFmpegError) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        head = b""
    if head[4:8] == b"ftyp":
        # An MP4/MOV whose index (moov) is missing: phones write it last, so the file was cut short.
        return "an MP4/MOV without its index: the file is incomplete (cut short, or still being copied)"
    if getattr(exc, "errno", None) == errno.EINVAL:  # the format whitelist refused the demuxer
        return "not an audio or video format captioner reads"
    return exc.strerror or type(exc).__name__


class _Closing:
    """A PyAV container that also closes the file object under it (``with open_media(p) as container``)."""

    def __init__(self, container, fh) -> None:
        self.container = container
        self._fh = fh

    def __getattr__(self, name):
        return getattr(self.container, name)

    def close(self) -> None:
        try:
            self.container.close()
        finally:
            self._fh.close()

    def __enter__(self):
        return self.container

    def __exit__(self, *exc) -> None:
        self.close()
