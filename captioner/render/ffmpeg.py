"""Running ffmpeg: which binary, how its errors read, the encoder settings, what a container takes.

Every ffmpeg captioner runs goes through here, so a failure always reads the
same way: one line, ffmpeg's last error line, never its whole log.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import imageio_ffmpeg

from ..errors import CaptionerError, InputError
from ..media.files import ffmpeg_input_options, ffmpeg_url
from ..media.probe import MediaInfo
from ..processes import child_options

# Codecs each container takes as they are; anything else is re-encoded to AAC.
_COPYABLE_AUDIO = {
    "mp4": {"aac", "mp3", "alac", "opus", "flac", "ac3", "eac3"},
    "mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_f32le"},
    "matroska": None,  # takes everything
}
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


@dataclass(frozen=True)
class EncoderSettings:
    """Video encoder settings; the benchmark re-encodes with the same ones.

    ``ultrafast`` keeps a 60 s 1080x1920 clip's whole caption run near half its
    duration on two cores (encoding is most of it); CRF 20 keeps the picture
    quality, at the cost of larger files than slower presets (README, Benchmarks).
    """

    codec: str = "libx264"
    preset: str = "ultrafast"
    crf: int = 20
    pix_fmt: str = "yuv420p"
    threads: int = 0

    def args(self) -> dict:
        args = {"c:v": self.codec, "preset": self.preset, "crf": self.crf, "pix_fmt": self.pix_fmt}
        if self.threads:
            args["threads"] = self.threads
        return args


def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``$CAPTIONER_FFMPEG``, else imageio-ffmpeg's static build (libass inside)."""
    if os.environ.get("CAPTIONER_FFMPEG"):
        return os.environ["CAPTIONER_FFMPEG"]
    return imageio_ffmpeg.get_ffmpeg_exe()


def container_for(path: Path) -> str:
    try:
        return CONTAINERS[path.suffix.lower()]
    except KeyError:
        raise InputError(f"{path}: output must end in .mp4, .m4v, .mov or .mkv") from None


def audio_args(info: MediaInfo, container: str) -> dict:
    """Output options for the input's first audio stream: copied where the container takes it, else AAC."""
    copyable = _COPYABLE_AUDIO[container]
    if copyable is None or info.audio_codec in copyable:
        return {"c:a": "copy"}
    return {"c:a": "aac", "b:a": "192k"}


# ffmpeg-python hashes every argument as UTF-8, but a Linux file name is bytes and need not be UTF-8
# (Python holds the odd bytes as surrogates).  Such a URL enters the graph as a placeholder and is
# put back when the command line is made (command_args).
_PLACEHOLDERS: dict[str, str] = {}


def _graph_safe(url: str) -> str:
    try:
        url.encode("utf-8")
        return url
    except UnicodeEncodeError:
        token = "file:/captioner-name-" + hashlib.sha256(os.fsencode(url)).hexdigest()
        _PLACEHOLDERS[token] = url
        return token


def media_input(path: str | os.PathLike, **options):
    """A user's media file as an ffmpeg-python input: an absolute ``file:`` URL, media demuxers only.

    Every input that names a user's file (the video, the interpreter) goes
    through here, never ``ffmpeg.input(path)``: see :mod:`captioner.media.files`.
    """
    return ffmpeg.input(_graph_safe(ffmpeg_url(path)), **ffmpeg_input_options(), **options)


def output_url(path: str | os.PathLike) -> str:
    """An output file for an ffmpeg command line, as an absolute ``file:`` URL."""
    return _graph_safe(ffmpeg_url(path))


def command_args(node) -> list[str]:
    """An ffmpeg-python node's arguments, with every file name as it really is."""
    return [_PLACEHOLDERS.get(arg, arg) for arg in node.get_args()]


def error_summary(stderr: str, code: int | None) -> str:
    """ffmpeg's last non-empty error line (its log can run to pages), or its exit code."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {code}"


def run_ffmpeg(
    command: Sequence[str], *, cwd: Path | None, duration: float, progress: Callable[[float], None] | None
) -> None:
    """Run ffmpeg, report progress in seconds of output, raise with its last error line."""
    # stderr goes to a file: reading it only after stdout closes could deadlock on a full pipe.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        with subprocess.Popen(
            list(command), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True,
            **child_options(),
        ) as proc:
            try:
                for line in proc.stdout:
                    key, _, value = line.strip().partition("=")
                    if key == "out_time_us" and progress and value.isdigit():
                        progress(min(duration, int(value) / 1e6))
                code = proc.wait()
            except BaseException:
                proc.kill()
                raise
        if code != 0:
            errors.seek(0)
            raise CaptionerError(f"ffmpeg failed: {error_summary(errors.read(), code)}")
