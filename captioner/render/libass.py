"""The libass renderer (the default): captions burned with ffmpeg + libass, in one encode.

Each cue is rendered once by libass into a caption track (:mod:`.track`)
and the track is overlaid on the video in the same pass that encodes it.  All
of it happens in a private temporary folder where ffmpeg runs, so the filter
graphs only ever name ``render.ass``, ``fonts`` and ``captions.ffconcat``: a
user's path with spaces, quotes, colons, brackets, commas or Arabic letters never
enters a graph and cannot inject filter options (rtl-and-peers L11).  Input and
output reach ffmpeg as ``file:`` URLs, so a name such as ``concat:x.mp4`` is
never read as a protocol.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import ffmpeg

from ..cues import Cue
from ..media.outputs import work_folder
from ..media.probe import MediaInfo
from ..styles.style import CaptionStyle
from .compose import Composition
from .ffmpeg import (EncoderSettings, audio_args, command_args, container_for, ffmpeg_exe, media_input, output_url,
                     run_ffmpeg)
from .inset import Inset, SignOptions, overlay_position, sign_stream
from .reframe import Frame, reframe_stream
from .registry import Renderer, register_renderer
from .track import CaptionTrack, render_track


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
    source = media_input(info.path)
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
            video, sign_stream(options, inset), x=x, y=y,
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
        out_args.update(audio_args(info, container))
    out_args.update({"fps_mode": "passthrough", "map_metadata": 0, "f": container})
    if container in ("mp4", "mov"):
        out_args["movflags"] = "+faststart"
    node = ffmpeg.output(*streams, output_url(output), **out_args)
    # With an interpreter the graph scales and overlays a second video; splitting each of
    # those small frames into slices across threads that decoding and x264 already keep
    # busy costs more than it saves (measured with the inset's one-thread decode: ~4%).
    graph_threads = ["-filter_complex_threads", "1"] if sign is not None else []
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
            *graph_threads, *command_args(node), "-y"]


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
    # Beside the output: a killed run's folder is then found and removed by the next run that writes it.
    with work_folder(output) as work:
        (work / "fonts").mkdir()
        # Copied under a plain name: libass reads every font in the folder.
        shutil.copyfile(style.font_path, work / "fonts" / f"caption{style.font_path.suffix}")
        track = render_track(cues, style, work, ffmpeg_exe(), highlight=highlight)
        command = build_command(info, output, container, track=track, encoder=encoder, frame=frame, sign=sign)
        run_ffmpeg(command, cwd=work, duration=info.duration, progress=progress)


@register_renderer
class LibassRenderer(Renderer):
    """ffmpeg + libass: the fastest, and the only one with the interpreter inset, reframing and word highlight."""

    name = "libass"

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
        burn_cues(info, cues, layout.style, output, encoder=encoder, progress=progress, frame=layout.frame,
                  sign=layout.sign, highlight=highlight)
