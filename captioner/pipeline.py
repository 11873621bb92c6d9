"""The Python API: transcribe → make_cues → burn, and caption() for all three.

The CLI is a thin layer over these functions; they take and return the same
typed objects (:class:`~captioner.cues.Transcript`, :class:`~captioner.cues.Cue`)
and one :class:`~captioner.settings.CaptionSettings` (or its fields as keywords).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .asr import Recognizer, make_recognizer
from .asr.review import review_transcript
from .captions.lint import Violation, lint
from .captions.reflow import fit_lines
from .captions.segment import Rules, Segmenter
from .cues import Cue, Transcript, Word
from .errors import InputError
from .formats import dumps, format_for, load_cues, sidecar_paths
from .media.audio import load_audio
from .media.outputs import OutputSet
from .media.probe import MAX_FRAME_SIDE, MIN_FRAME_SIDE, MediaInfo, probe
from .progress import NoProgress, Progress
from .render import get_renderer
from .render.compose import Composition, compose
from .render.ffmpeg import container_for
from .settings import CaptionSettings
from .styles.presets import Preset, get_preset
from .styles.style import CaptionStyle

def settings_for(settings: CaptionSettings | None = None, **options) -> CaptionSettings:
    """``settings`` (default: the defaults) with the keyword options over it."""
    return (settings or CaptionSettings()).with_options(**options)


def _preset(preset: str | Preset) -> Preset:
    return get_preset(preset) if isinstance(preset, str) else preset


def caption_rules(style: CaptionStyle, fps: float = 30.0, cps: float | None = None) -> Rules:
    return Rules.from_preset(style.preset, style.max_line_width, fps=fps, cps=cps)


def transcribe(
    media: str | os.PathLike,
    settings: CaptionSettings | None = None,
    *,
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
    info: MediaInfo | None = None,
    **options,
) -> Transcript:
    """Recognise the speech of a video or audio file as timed words.

    Settings (or keywords): ``lang``, ``model``, ``backend`` (``faster-whisper``,
    the default, or ``openai-whisper``, the ``openai`` extra) and ``compute_type``
    (``auto``: int8 for faster-whisper, float32 for openai-whisper; ``float32`` on
    both backends gives the same words from the same weights).  A ``recognizer``
    passed in is used instead of loading one.

    Every word comes back with its review flag (``Word.review``, ``Word.why``:
    :mod:`captioner.asr.review`); words with no speech under them are moved to
    ``Transcript.dropped`` and are never captioned.  ``review_below`` also flags
    every word whose probability is below it.
    """
    settings = settings_for(settings, **options)
    progress = progress or NoProgress()
    language = settings.check_recognition()
    info = info or probe(media, require_video=False)
    if not info.has_audio:
        raise InputError(f"{media}: no audio stream, nothing to transcribe")
    audio = load_audio(info.path)
    recognizer = recognizer or make_recognizer(settings.backend, settings.model, compute_type=settings.compute_type)
    with progress.task("transcribing", total=round(info.duration, 1)) as update:
        transcript = recognizer.transcribe(audio, language=language, progress=update)
    return review_transcript(transcript, below=settings.review_below)


def make_cues(
    words: Transcript | Sequence[Word],
    *,
    preset: str | Preset = "tiktok",
    frame: tuple[int, int] = (1080, 1920),
    fps: float = 30.0,
    cps: float | None = None,
    duration: float | None = None,
) -> list[Cue]:
    """Cut timed words into cues that follow the preset's caption rules."""
    check_frame(frame, fps)
    style = CaptionStyle.for_frame(_preset(preset), *frame)
    if isinstance(words, Transcript):
        duration = duration or words.duration
        words = words.words
    segmenter = Segmenter(caption_rules(style, fps, cps), style.measurer().width)
    return segmenter.segment(words, media_end=duration)


def check_cues(
    cues: Sequence[Cue],
    *,
    preset: str | Preset = "tiktok",
    frame: tuple[int, int] = (1080, 1920),
    fps: float = 30.0,
    cps: float | None = None,
) -> list[Violation]:
    """Every place where cues break the caption rules (what ``captioner lint`` prints)."""
    check_frame(frame, fps)
    style = CaptionStyle.for_frame(_preset(preset), *frame)
    return lint(cues, caption_rules(style, fps, cps), style.measurer().width)


def check_frame(frame: tuple[int, int], fps: float = 30.0) -> None:
    """A frame size and rate captions can be laid out for, else one line (exit 2)."""
    w, h = frame
    if not all(isinstance(v, int) and MIN_FRAME_SIDE <= v <= MAX_FRAME_SIDE for v in (w, h)):
        raise InputError(f"frame size {w}x{h}: must be {MIN_FRAME_SIDE} to {MAX_FRAME_SIDE} pixels a side")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 1000):
        raise InputError(f"frame rate {fps!r}: must be a number above 0 and at most 1000")


def lint_file(
    subs: str | os.PathLike, settings: CaptionSettings | None = None, *, frame: tuple[int, int] = (1080, 1920),
    fps: float = 30.0, **options,
) -> tuple[list[Cue], list[Violation]]:
    """A subtitle file's cues and every place where they break the caption rules."""
    settings = settings_for(settings, **options)
    cues = load_cues(subs)
    return cues, check_cues(cues, preset=settings.resolved_preset(), frame=frame, fps=fps, cps=settings.cps)


def default_output(video: Path) -> Path:
    return video.with_name(f"{video.stem}.captioned.mp4")


def write_subtitles(
    path: Path, cues: Sequence[Cue], style: CaptionStyle, transcript: Transcript | None = None
) -> None:
    path.write_text(dumps(cues, format_for(path), style=style, transcript=transcript), encoding="utf-8")


def _layout(info: MediaInfo, settings: CaptionSettings, preset: Preset, lines: int | None = None) -> Composition:
    """The output frame for this input, refused before slow work when the renderer cannot draw it."""
    layout = compose(info, preset, reframe=settings.reframe, sign=settings.sign_options(), lines=lines)
    get_renderer(settings.renderer).check_layout(layout, highlight=settings.highlight_words)
    return layout


def _outputs(info: MediaInfo, settings: CaptionSettings, force: bool) -> OutputSet:
    """Outputs that may be written, never over the input or the interpreter video."""
    sign = settings.sign_options()
    return OutputSet(force=force, inputs=[info.path] + ([sign.path] if sign else []))


def _burn(info: MediaInfo, cues: Sequence[Cue], layout: Composition, output: Path, settings: CaptionSettings,
          progress: Progress) -> None:
    with progress.task("burning", total=round(info.duration, 1)) as update:
        get_renderer(settings.renderer).burn(
            info, cues, layout, output, highlight=settings.highlight_words, shaping=settings.shaping,
            encoder=settings.encoder, progress=update,
        )


def burn(
    video: str | os.PathLike,
    subs: str | os.PathLike | Sequence[Cue],
    output: str | os.PathLike | None = None,
    settings: CaptionSettings | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    **options,
) -> Path:
    """Burn cues (or a subtitle file: SRT, VTT, ASS, captioner JSON) into a video.

    Settings (or keywords): ``preset`` and ``style`` (a house-style TOML file
    over it); ``sign`` (an interpreter video, or a
    :class:`~captioner.render.inset.SignOptions`) and ``sign_*``, inset in the
    same pass; ``reframe`` puts landscape or square input into a 1080x1920 frame
    (``auto``: ``fit`` unless the input is 9:16); ``highlight="word"`` marks the
    word being spoken; ``renderer`` is ``"libass"`` (ffmpeg + libass, the
    default) or ``"pillow"`` (Pillow + moviepy, the ``moviepy`` extra), whose
    Arabic ``shaping`` is ``"auto"`` (Raqm where Pillow has it), ``"raqm"`` or
    ``"fallback"`` (arabic-reshaper + python-bidi); ``encoder`` the x264 settings.
    """
    settings = settings_for(settings, **options)
    progress = progress or NoProgress()
    settings.check_rendering()
    preset = settings.resolved_preset()
    info = probe(video, require_audio=False)
    cues = load_cues(subs) if isinstance(subs, (str, os.PathLike)) else list(subs)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    layout = _layout(info, settings, preset, lines=max((len(c.lines) for c in cues), default=1))
    if layout.sign is not None:
        cues = fit_lines(cues, caption_rules(layout.style, float(info.fps)), layout.style.measurer().width)
    with _outputs(info, settings, force) as out:
        _burn(info, cues, layout, out.add(target), settings, progress)
    return target


@dataclass
class CaptionResult:
    """What :func:`caption` made."""

    video: Path
    sidecars: dict[str, Path]
    transcript: Transcript
    cues: list[Cue]
    violations: list[Violation] = field(default_factory=list)


def caption(
    video: str | os.PathLike,
    output: str | os.PathLike | None = None,
    settings: CaptionSettings | None = None,
    *,
    force: bool = False,
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
    **options,
) -> CaptionResult:
    """Transcribe a video, cut captions, burn them in, and write SRT/VTT/ASS/JSON sidecars.

    Settings as for :func:`transcribe` and :func:`burn`, plus ``cps`` (the
    reading speed, default the preset's).
    """
    settings = settings_for(settings, **options)
    progress = progress or NoProgress()
    settings.check_recognition()
    settings.check_rendering()
    preset = settings.resolved_preset()
    info = probe(video)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    layout = _layout(info, settings, preset)
    sidecars = sidecar_paths(target)
    with _outputs(info, settings, force) as out:
        # Claim every output before the slow work, so a clash fails in a second, not after it.
        tmp_video = out.add(target)
        tmp_sidecars = {ext: out.add(path) for ext, path in sidecars.items()}
        transcript = transcribe(info.path, settings, recognizer=recognizer, progress=progress, info=info)
        laid_out = layout.style
        rules = caption_rules(laid_out, float(info.fps), settings.cps)
        cues = Segmenter(rules, laid_out.measurer().width).segment(transcript.words, media_end=transcript.duration)
        for tmp in tmp_sidecars.values():
            write_subtitles(tmp, cues, laid_out, transcript)
        _burn(info, cues, layout, tmp_video, settings, progress)
    violations = lint(cues, rules, laid_out.measurer().width)
    return CaptionResult(target, sidecars, transcript, cues, violations)


@dataclass
class TranscribeResult:
    """What :func:`transcribe_to_file` wrote."""

    path: Path
    transcript: Transcript
    cues: list[Cue]


def transcribe_to_file(
    media: str | os.PathLike,
    output: str | os.PathLike,
    settings: CaptionSettings | None = None,
    *,
    force: bool = False,
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
    **options,
) -> TranscribeResult:
    """Recognise speech, cut captions, and write them to ``output`` (its format follows its extension)."""
    settings = settings_for(settings, **options)
    target = Path(output)
    format_for(target)
    settings.check_recognition()
    preset = settings.resolved_preset()
    info = probe(media, require_video=False)
    with OutputSet(force=force, inputs=[info.path]) as out:
        tmp = out.add(target)
        transcript = transcribe(info.path, settings, recognizer=recognizer, progress=progress, info=info)
        frame = (info.display_width, info.display_height)
        cues = make_cues(transcript, preset=preset, frame=frame, fps=float(info.fps), cps=settings.cps)
        write_subtitles(tmp, cues, CaptionStyle.for_frame(preset, *frame), transcript)
    return TranscribeResult(target, transcript, cues)
