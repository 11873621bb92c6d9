"""Running ffmpeg: which binary, how its errors read, the encoder settings, what a container takes.

Every ffmpeg captioner runs goes through here, so a failure always reads the
same way: one line, ffmpeg's last error line, never its whole log.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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


# --quality: each name is an (x264 preset, CRF) pair chosen from the measured table of encode time, file size and
# SSIM against the input (bench/encode.py, README "Picture quality and file size").
QUALITIES: dict[str, tuple[str, int]] = {
    "fast": ("ultrafast", 20),
    "balanced": ("veryfast", 23),
    "small": ("medium", 26),
}
DEFAULT_QUALITY = "balanced"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# The GPU's H.264 encoder (NVIDIA NVENC) for the same names: its presets run p1 (fastest) to p7, and its constant
# quality (-cq, 0-51, lower is better) stands in for the CRF.  Not measured: no GPU on the project's machine.
NVENC_PRESETS: dict[str, str] = {"fast": "p2", "balanced": "p4", "small": "p6"}
GPU_H264 = "h264_nvenc"


@dataclass(frozen=True)
class EncoderSettings:
    """Video encoder settings; the benchmark re-encodes with the same ones.

    ``quality`` (``fast``, ``balanced``, ``small``) picks an x264 preset and CRF
    from :data:`QUALITIES`; an explicit ``preset`` or ``crf`` wins over it.
    ``codec`` is ``libx264`` or, on a GPU, ``h264_nvenc`` (:meth:`for_device`).
    """

    codec: str = "libx264"
    preset: str | None = None  # None: the quality's
    crf: int | None = None  # None: the quality's
    pix_fmt: str = "yuv420p"
    threads: int = 0
    quality: str = DEFAULT_QUALITY

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise InputError(f"unknown quality {self.quality!r} (use one of: {', '.join(QUALITIES)})")
        if self.preset is not None and self.preset not in X264_PRESETS:
            raise InputError(f"unknown x264 preset {self.preset!r} (use one of: {', '.join(X264_PRESETS)})")
        if self.crf is not None and not (isinstance(self.crf, int) and not isinstance(self.crf, bool)
                                         and 0 <= self.crf <= 51):
            raise InputError(f"crf must be a whole number from 0 to 51, not {self.crf!r}")
        if self.codec not in ("libx264", GPU_H264):
            raise InputError(f"unknown video encoder {self.codec!r} (use libx264 or {GPU_H264})")

    @property
    def effective_preset(self) -> str:
        """The encoder preset this runs: x264's name, or NVENC's p1-p7."""
        if self.codec == GPU_H264:
            return NVENC_PRESETS[self.quality]
        return self.preset or QUALITIES[self.quality][0]

    @property
    def effective_crf(self) -> int:
        """The constant quality this runs (x264's CRF; NVENC's -cq)."""
        return self.crf if self.crf is not None else QUALITIES[self.quality][1]

    def for_device(self, device: str) -> tuple["EncoderSettings", str]:
        """These settings for a run on ``device`` (``cpu`` or ``cuda``), and one line saying why when a GPU
        run does not use the GPU's encoder ("" otherwise).

        On ``cuda`` the GPU's H.264 encoder replaces libx264 where this ffmpeg has it
        and it opens; an explicit x264 ``preset`` keeps libx264.
        """
        if device != "cuda" or self.codec != "libx264":
            return self, ""
        if self.preset is not None:
            return self, ""
        ok, why = gpu_h264_encoder()
        if not ok:
            return self, f"GPU H.264 encoder not used ({why}): encoding with libx264"
        return replace(self, codec=GPU_H264), ""

    def args(self) -> dict:
        if self.codec == GPU_H264:
            # Variable bit rate held at a constant quality, no bit-rate cap: NVENC's nearest to a CRF.
            args = {"c:v": GPU_H264, "preset": self.effective_preset, "rc": "vbr", "cq": self.effective_crf,
                    "b:v": 0, "pix_fmt": self.pix_fmt}
        else:
            args = {"c:v": self.codec, "preset": self.effective_preset, "crf": self.effective_crf,
                    "pix_fmt": self.pix_fmt}
        if self.threads and self.codec != GPU_H264:
            args["threads"] = self.threads
        return args


@functools.lru_cache(maxsize=None)
def _gpu_h264_encoder(exe: str) -> tuple[bool, str]:
    try:
        listed = subprocess.run([exe, "-hide_banner", "-nostdin", "-encoders"], capture_output=True, text=True,
                                timeout=30, stdin=subprocess.DEVNULL, **child_options())
        if not re.search(rf"^\s*V\S*\s+{GPU_H264}\s", listed.stdout, re.M):
            return False, f"this ffmpeg has no {GPU_H264}"
        # Listed is not enough: the encoder needs the NVIDIA driver's libraries and a free session.
        trial = subprocess.run(
            [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
             "color=c=black:s=256x256:r=30:d=0.2", "-c:v", GPU_H264, "-f", "null", "-"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, **child_options())
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"cannot run ffmpeg: {exc}"
    if trial.returncode != 0:
        # The first line says why (e.g. "Cannot load libcuda.so.1"); the last ones are its consequences.
        lines = [re.sub(r"^(\[[^]]*\]\s*)+", "", line).strip() for line in trial.stderr.splitlines()]
        why = next((line for line in lines if line), f"exit code {trial.returncode}")
        return False, f"{GPU_H264} does not open here: {why}"
    return True, ""


def gpu_h264_encoder() -> tuple[bool, str]:
    """Whether this ffmpeg's GPU H.264 encoder (NVENC) works here, and why not (checked once per process)."""
    return _gpu_h264_encoder(ffmpeg_exe())


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
