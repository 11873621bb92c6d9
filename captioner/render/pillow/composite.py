"""The pillow renderer: cues drawn by :mod:`.draw`, composited with moviepy.

moviepy decodes the video and the caption images are blended over each frame
(straight-alpha "over", only inside the cue's rectangle, so a frame costs a
few hundred kilopixels of arithmetic, not a full-frame RGBA composite as
``CompositeVideoClip`` does).  The frames go to one ffmpeg process that
encodes them with the same :class:`~captioner.render.ffmpeg.EncoderSettings` as the
libass burn and copies the input's first audio stream as it is, in the same
pass: no second encode, no temporary video.
"""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import ffmpeg
import numpy as np

from ... import extras
from ...cues import Cue
from ...errors import CaptionerError, InputError
from ...media.files import ffmpeg_url, local_file, open_media
from ...media.probe import MediaInfo
from ...processes import child_options
from ...styles.style import CaptionStyle
from ..compose import Composition
from ..ffmpeg import (EncoderSettings, audio_args, command_args, container_for, error_summary, ffmpeg_exe, media_input,
                      output_url)
from ..registry import Renderer, register_renderer
from .draw import CueDrawer, CueImage, resolve_shaping


@dataclass(frozen=True)
class ShownImage:
    """A cue's image and when it is on screen: ``start <= t < end``."""

    start: float
    end: float
    image: CueImage

    def __post_init__(self) -> None:
        rgba = self.image.rgba.astype(np.uint16)
        alpha = rgba[..., 3:4]
        # In 8-bit integers, precomputed once: out = (rgb*a + 127 + frame*(255-a)) // 255,
        # which stays under 2**16 and rounds to nearest.
        object.__setattr__(self, "_premultiplied", rgba[..., :3] * alpha + 127)
        object.__setattr__(self, "_transmit", 255 - alpha)

    @property
    def rows(self) -> tuple[int, int]:
        return self.image.y, self.image.y + self.image.size[1]

    def blend_into(self, frame: np.ndarray, first_row: int = 0) -> None:
        """Composite the image over ``frame`` (rows from ``first_row`` of an H x W x 3 uint8 frame), in place."""
        x, y, (w, h) = self.image.x, self.image.y - first_row, self.image.size
        region = frame[max(y, 0) : y + h, x : x + w]
        skip = max(-y, 0)
        h, w = region.shape[:2]  # clipped at the edges
        mixed = self._premultiplied[skip : skip + h, :w] + region * self._transmit[skip : skip + h, :w]
        region[...] = mixed // 255


class CaptionLayer:
    """Every cue drawn once, looked up by time."""

    def __init__(
        self, cues: Sequence[Cue], style: CaptionStyle, *, shaping: str = "auto", drawer: CueDrawer | None = None
    ) -> None:
        self.drawer = drawer or CueDrawer(style, shaping)
        self.shaping = self.drawer.shaping
        self.shown: list[ShownImage] = []
        for cue in sorted((c for c in cues if c.end > c.start and c.lines), key=lambda c: c.start):
            image = self.drawer.draw(cue)
            if image is not None:
                self.shown.append(ShownImage(cue.start, cue.end, image))
        self._starts = np.array([s.start for s in self.shown])

    def at(self, t: float) -> list[ShownImage]:
        """The images on screen at time ``t``, in cue order."""
        last = int(np.searchsorted(self._starts, t, side="right"))
        return [s for s in self.shown[:last] if s.end > t]

    def frame_parts(self, frame: np.ndarray, t: float) -> list[np.ndarray]:
        """The frame at ``t`` with its captions, as row bands to write one after the other.

        Only the rows the captions cover are copied and blended (the reader's
        frame is read-only, and copying all of it costs more than the blend).
        """
        shown = self.at(t)
        if not shown:
            return [frame]
        top = max(0, min(s.rows[0] for s in shown))
        bottom = min(frame.shape[0], max(s.rows[1] for s in shown))
        band = np.array(frame[top:bottom], dtype=np.uint8, copy=True)
        for s in shown:
            s.blend_into(band, top)
        return [frame[:top], band, frame[bottom:]]

    def apply(self, frame: np.ndarray, t: float) -> np.ndarray:
        """The frame at ``t`` with its captions, as one array."""
        parts = self.frame_parts(frame, t)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def image_clips(self) -> list:
        """One moviepy ``ImageClip`` per cue, positioned and timed, for a ``CompositeVideoClip``."""
        moviepy = extras.moviepy()
        return [
            moviepy.ImageClip(s.image.rgba, transparent=True)
            .with_start(s.start)
            .with_duration(s.end - s.start)
            .with_position((s.image.x, s.image.y))
            for s in self.shown
        ]


def bt709_tags(path: Path) -> dict[str, str]:
    """The BT.709 colour tags of a video's first stream, empty when it is not tagged BT.709.

    moviepy's frames are RGB decoded with the input's matrix; turning them back
    into YUV with ffmpeg's default (BT.601) and no tag would shift the colours
    of an HD video that players decode as BT.709.
    """
    try:
        with open_media(path) as container:
            cc = container.streams.video[0].codec_context
            if cc.colorspace != 1:  # AVCOL_SPC_BT709
                return {}
            tags = {"colorspace": "bt709"}
            if cc.color_primaries == 1:
                tags["color_primaries"] = "bt709"
            if cc.color_trc == 1:
                tags["color_trc"] = "bt709"
            return tags
    except (av.error.FFmpegError, InputError, IndexError, AttributeError):
        return {}


def encode_command(
    info: MediaInfo, size: tuple[int, int], fps, output: Path, container: str, encoder: EncoderSettings
) -> list[str]:
    """ffmpeg reading RGB frames on stdin and copying the input's first audio stream."""
    width, height = size
    frames = ffmpeg.input("pipe:0", f="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=str(fps))
    video = frames["v"]
    colour = bt709_tags(info.path)
    if colour:
        video = video.filter("scale", out_color_matrix="bt709", out_range="tv")
    if width % 2 or height % 2:
        video = video.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")  # 4:2:0 needs even sizes
    streams = [video]
    out_args = {**encoder.args(), **colour}
    if info.has_audio:
        source = media_input(info.path)
        streams.append(source["a:0"])
        out_args.update(audio_args(info, container))
        out_args["map_metadata"] = 1
    out_args["f"] = container
    if container in ("mp4", "mov"):
        out_args["movflags"] = "+faststart"
    node = ffmpeg.output(*streams, output_url(output), **out_args)
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", *command_args(node), "-y"]


def prefetched(items: Iterable, depth: int = 3) -> Iterator:
    """``items``, produced by a thread up to ``depth`` ahead.

    moviepy reads each frame from ffmpeg through a pipe that holds a fraction
    of a frame, so without this ffmpeg decodes only while Python waits for it;
    pipe reads and writes release the GIL, so decoding, blending and encoding
    overlap.
    """
    done, stop = object(), threading.Event()
    slots: queue.Queue = queue.Queue(depth)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="captioner-frames", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def write_clip(
    clip,
    info: MediaInfo,
    output: Path,
    *,
    layer: CaptionLayer | None = None,
    encoder: EncoderSettings = EncoderSettings(),
    progress: Callable[[float], None] | None = None,
) -> None:
    """Encode a moviepy clip's frames, with ``layer``'s captions blended in, to ``output``,
    with the audio of ``info.path`` copied."""
    container = container_for(output)
    # The input's exact rate (30000/1001 stays that) when the clip keeps it.
    rate = info.fps if info.fps and (not clip.fps or abs(float(info.fps) - clip.fps) < 1e-3) else clip.fps
    fps = float(rate)
    command = encode_command(info, tuple(clip.size), rate, output, container, encoder)
    command.remove("-nostdin")  # the frames come on stdin
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors,
                                **child_options())
        try:
            try:
                frames = prefetched(clip.iter_frames(fps=fps, dtype="uint8", with_times=True))
                for k, (t, frame) in enumerate(frames):
                    frame = frame[..., :3]  # a clip with a mask gives RGBA
                    for part in layer.frame_parts(frame, t) if layer else [frame]:
                        proc.stdin.write(np.ascontiguousarray(part).data)
                    if progress and k % 15 == 0:
                        progress(min(info.duration, k / fps))
                proc.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped; its own error is reported below
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if code != 0:
            errors.seek(0)
            raise CaptionerError(f"ffmpeg failed: {error_summary(errors.read().decode('utf-8', 'replace'), code)}")
    if progress:
        progress(info.duration)


def open_video(path: str | os.PathLike, *, audio: bool = False, info: MediaInfo | None = None):
    """A moviepy ``VideoFileClip``; without its audio by default (the burn copies the audio stream itself).

    ffmpeg turns a phone video upright as it decodes, but moviepy misses the
    display matrix some ffmpeg builds print and would read the upright frames
    at the stored size; the displayed size is then given explicitly.
    """
    moviepy = extras.moviepy()

    local_file(path)
    upright = None
    if info is not None and info.rotation % 180:
        upright = (info.display_width, info.display_height)
    try:
        # An absolute file: URL: moviepy hands the name to ffmpeg as it is (see captioner.media.files).
        return moviepy.VideoFileClip(ffmpeg_url(path), audio=audio, target_resolution=upright)
    except (OSError, IOError, KeyError, ValueError) as exc:
        raise CaptionerError(f"{path}: moviepy cannot read the video ({str(exc).splitlines()[0]})") from None


def burn_cues_pillow(
    info: MediaInfo,
    cues: Sequence[Cue],
    style: CaptionStyle,
    output: Path,
    *,
    encoder: EncoderSettings = EncoderSettings(),
    progress: Callable[[float], None] | None = None,
    shaping: str = "auto",
    drawer: CueDrawer | None = None,
) -> None:
    """Burn cues into ``info.path`` with Pillow + moviepy; ``output`` is a temporary name.

    ``drawer`` replaces the :class:`~captioner.render.pillow.draw.CueDrawer` made from ``style`` and ``shaping``.
    """
    container_for(output)
    layer = CaptionLayer(cues, style, shaping=shaping, drawer=drawer)
    video = open_video(info.path, info=info)
    try:
        if tuple(video.size) != (info.display_width, info.display_height):
            raise CaptionerError(
                f"{info.path}: moviepy reads the video as {video.size[0]}x{video.size[1]}, but it displays as "
                f"{info.display_width}x{info.display_height}; use --renderer libass"
            )
        write_clip(video, info, output, layer=layer, encoder=encoder, progress=progress)
    finally:
        video.close()


@register_renderer
class PillowRenderer(Renderer):
    """Pillow draws, moviepy composites: for setups built around moviepy (the ``moviepy`` extra).

    It draws captions on the input's own frame only: no interpreter inset,
    reframing or word highlight (use libass for those).
    """

    name = "pillow"

    def check_available(self, shaping: str) -> None:
        extras.moviepy()
        resolve_shaping(shaping)

    def check_layout(self, layout: Composition, *, highlight: bool) -> None:
        missing = []
        if layout.sign is not None:
            missing.append("the interpreter inset (--sign)")
        if layout.frame.mode != "none":
            missing.append("reframing (--reframe; input that is not 9:16 needs --reframe none)")
        if highlight:
            missing.append("word highlight (--highlight word)")
        if missing:
            raise InputError(f"the pillow renderer does not do {' or '.join(missing)}; use --renderer libass")

    def burn(
        self,
        info: MediaInfo,
        cues: Sequence[Cue],
        layout: Composition,
        output: Path,
        *,
        highlight: bool,
        shaping: str,
        encoder: EncoderSettings,
        progress: Callable[[float], None] | None,
    ) -> None:
        burn_cues_pillow(info, cues, layout.style, output, encoder=encoder, progress=progress, shaping=shaping)
