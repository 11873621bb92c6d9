"""Burning captions into video with ffmpeg + libass, in one encode.

Each cue is rendered once by libass into a caption track (:mod:`captioner.track`)
and the track is overlaid on the video in the same pass that encodes it.  All
of it happens in a private temporary folder where ffmpeg runs, so the filter
graphs only ever name ``render.ass``, ``fonts`` and ``captions.ffconcat``: a
user's path with spaces, quotes, colons, brackets, commas or Arabic letters never
enters a graph and cannot inject filter options (rtl-and-peers L11).  Input and
output reach ffmpeg as ``file:`` URLs, so a name such as ``concat:x.mp4`` is
never read as a protocol.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cues import Cue
from .errors import CaptionerError, InputError
from .inset import Inset, SignOptions, overlay_position, sign_stream
from .media import MediaInfo
from .reframe import Frame, reframe_stream
from .track import CaptionTrack, render_track
from .style import CaptionStyle

# Codecs each container takes as they are; anything else is re-encoded to AAC.
_COPYABLE_AUDIO = {
    "mp4": {"aac", "mp3", "alac", "opus", "flac", "ac3", "eac3"},
    "mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_f32le"},
    "matroska": None,  # takes everything
}
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


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
    try:
        import imageio_ffmpeg
    except ImportError:
        raise CaptionerError("imageio-ffmpeg is missing: pip install imageio-ffmpeg") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def container_for(path: Path) -> str:
    try:
        return _CONTAINERS[path.suffix.lower()]
    except KeyError:
        raise InputError(f"{path}: output must end in .mp4, .m4v, .mov or .mkv") from None


def build_command(
    info: MediaInfo,
    output: Path,
    container: str,
    *,
    filters: Sequence[tuple[str, dict]] = (),
    track: CaptionTrack | None = None,
    encoder: EncoderSettings = EncoderSettings(),
    frame: Frame | None = None,
    sign: tuple[SignOptions, Inset] | None = None,
) -> list[str]:
    """ffmpeg's argument list for one pass: reframe the first video stream, overlay the
    interpreter and the caption track on it, encode it, copy the first audio."""
    import ffmpeg

    source = ffmpeg.input(f"file:{info.path.resolve()}")
    video = source["v:0"]
    for name, options in filters:
        video = video.filter(name, **options)
    if frame is not None and frame.mode != "none":
        video = reframe_stream(video, frame)
    elif info.display_width % 2 or info.display_height % 2:
        # 4:2:0 H.264 needs even sizes: one black pixel row/column, not a rescale.
        video = video.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")
    if sign is not None:
        options, inset = sign
        x, y = overlay_position(inset)
        video = ffmpeg.overlay(
            video, sign_stream(ffmpeg, options, inset), x=x, y=y,
            eof_action="repeat" if options.hold else "pass", format="yuv420",
        )
    if track is not None:
        # Relative to ffmpeg's working folder, which holds the track (see burn_cues).
        captions = ffmpeg.input(track.concat.name, f="concat", safe=0)["v"]
        video = ffmpeg.overlay(video, captions, x=track.x, y=track.y, eof_action="pass", format="yuv420")
    streams = [video]
    out_args = dict(encoder.args())
    if info.has_audio:
        streams.append(source["a:0"])
        copyable = _COPYABLE_AUDIO[container]
        out_args["c:a"] = "copy" if copyable is None or info.audio_codec in copyable else "aac"
        if out_args["c:a"] == "aac":
            out_args["b:a"] = "192k"
    out_args.update({"fps_mode": "passthrough", "map_metadata": 0, "f": container})
    if container in ("mp4", "mov"):
        out_args["movflags"] = "+faststart"
    node = ffmpeg.output(*streams, f"file:{output.resolve()}", **out_args)
    # With an interpreter the graph scales and overlays a second video; splitting each of
    # those small frames into slices across threads that decoding and x264 already keep
    # busy costs more than it saves (measured with the inset's one-thread decode: ~4%).
    graph_threads = ["-filter_complex_threads", "1"] if sign is not None else []
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
            *graph_threads, *node.get_args(), "-y"]


def run_ffmpeg(
    command: Sequence[str], *, cwd: Path | None, duration: float, progress: Callable[[float], None] | None
) -> None:
    """Run ffmpeg, report progress in seconds of output, raise with its last error line."""
    # stderr goes to a file: reading it only after stdout closes could deadlock on a full pipe.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        with subprocess.Popen(
            list(command), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True
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
            lines = [line for line in errors.read().strip().splitlines() if line.strip()]
            raise CaptionerError(f"ffmpeg failed: {lines[-1] if lines else f'exit code {code}'}")


def burn_cues(
    info: MediaInfo,
    cues: Sequence[Cue],
    style: CaptionStyle,
    output: Path,
    *,
    encoder: EncoderSettings = EncoderSettings(),
    progress: Callable[[float], None] | None = None,
    frame: Frame | None = None,
    sign: tuple[SignOptions, Inset] | None = None,
    highlight: bool = False,
) -> None:
    """Burn cues into ``info.path`` and write the result to ``output`` (a temporary name).

    ``style`` is laid out for the output frame (``frame``, after any reframing),
    with its caption band already narrowed for the interpreter inset ``sign``.
    """
    container = container_for(output)
    with tempfile.TemporaryDirectory(prefix="captioner-") as tmp:
        work = Path(tmp)
        (work / "fonts").mkdir()
        # Copied under a plain name: libass reads every font in the folder.
        shutil.copyfile(style.font_path, work / "fonts" / f"caption{style.font_path.suffix}")
        track = render_track(cues, style, work, ffmpeg_exe(), highlight=highlight)
        command = build_command(info, output, container, track=track, encoder=encoder, frame=frame, sign=sign)
        run_ffmpeg(command, cwd=work, duration=info.duration, progress=progress)
