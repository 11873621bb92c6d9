"""The Python API: transcribe → make_cues → burn, and caption() for all three.

The CLI is a thin layer over these functions; they take and return the same
typed objects (:class:`~captioner.cues.Transcript`, :class:`~captioner.cues.Cue`)
and one :class:`~captioner.settings.CaptionSettings` (or its fields as keywords).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .asr import Recognizer, check_language, make_recognizer
from .captions.flags import review_transcript
from .captions.lint import Violation, lint
from .asr.align import align_words, aligner_settings
from .captions.reflow import Reflowed, reflow, tidy
from .captions.timing import attach_words, has_word_times
from .captions.segment import Rules, Segmenter
from .cues import Cue, Transcript, Word
from .errors import InputError
from .formats import dumps, format_for, load_cues, load_words, sidecar_paths
from .media.audio import load_audio
from .media.outputs import OutputSet
from .media.probe import MAX_FRAME_SIDE, MIN_FRAME_SIDE, MediaInfo, probe
from .progress import NoProgress, Progress
from .render import get_renderer
from .render.compose import Composition, compose
from .render.inset import caption_room
from .render.ffmpeg import EncoderSettings, container_for
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
    :mod:`captioner.captions.flags`); words with no speech under them are moved to
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
    recognizer = recognizer or make_recognizer(settings.backend, settings.model, compute_type=settings.compute_type,
                                               device=settings.resolved_device())
    with progress.task("transcribing", total=round(info.duration, 1)) as update:
        transcript = recognizer.transcribe(audio, language=language, progress=update, prompt=settings.prompt,
                                           hotwords=settings.hotwords)
    return review_transcript(transcript, below=settings.review_below, hotwords=settings.hotwords)


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
          progress: Progress, notify: Callable[[str], None] | None = None) -> None:
    encoder = encoder_for(settings, notify)
    with progress.task("burning", total=round(info.duration, 1)) as update:
        get_renderer(settings.renderer).burn(
            info, cues, layout, output, highlight=settings.highlight_words, shaping=settings.shaping,
            encoder=encoder, progress=update,
        )


def encoder_for(settings: CaptionSettings, notify: Callable[[str], None] | None = None) -> EncoderSettings:
    """The encoder a burn runs: ``settings.encoder``, on the GPU's H.264 encoder when the device is a GPU and
    this ffmpeg can use it (``notify`` gets one line when it cannot)."""
    encoder, why = settings.encoder.for_device(settings.resolved_device())
    if why and notify:
        notify(why)
    return encoder


def burn(
    video: str | os.PathLike,
    subs: str | os.PathLike | Sequence[Cue],
    output: str | os.PathLike | None = None,
    settings: CaptionSettings | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    **options,
) -> Path:
    """Burn cues (or a subtitle file: SRT, VTT, ASS, captioner JSON) into a video.

    Every cue is re-flowed to fit the caption band first (:func:`fit_cues`);
    ``notify`` gets one line per changed cue (``#5 00:00:10,500 re-broken into
    2 lines``), and a line when edited words were aligned to the audio.
    ``keep_lines=True`` keeps the lines as typed and refuses one that does not
    fit; ``align=False`` never aligns (word times are then shared by length).

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
    settings.resolved_device()  # --device cuda without a GPU: refused before any work
    preset = settings.resolved_preset()
    info = probe(video, require_audio=False)
    cues = load_cues(subs) if isinstance(subs, (str, os.PathLike)) else list(subs)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    notify = notify or (lambda line: None)
    if isinstance(subs, (str, os.PathLike)):
        cues = attach_words(cues, _sidecar_words(Path(subs)))
    layout, flowed = fit_cues(cues, info, settings, preset)
    untimed = [k for k, cue in enumerate(cues) if not has_word_times(cue)]
    if untimed and settings.align and info.has_audio and (settings.highlight_words or flowed.split):
        cues = align_cues(info, cues, untimed, settings, progress, notify)
        layout, flowed = fit_cues(cues, info, settings, preset)
    for line in flowed.changes:
        notify(line)
    cues = flowed.cues
    with _outputs(info, settings, force) as out:
        _burn(info, cues, layout, out.add(target), settings, progress, notify)
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
    notify: Callable[[str], None] | None = None,
    **options,
) -> CaptionResult:
    """Transcribe a video, cut captions, burn them in, and write SRT/VTT/ASS/JSON sidecars.

    Settings as for :func:`transcribe` and :func:`burn`, plus ``cps`` (the
    reading speed, default the preset's).  ``notify`` gets a line when a GPU run
    cannot use the GPU's H.264 encoder.
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
        _burn(info, cues, layout, tmp_video, settings, progress, notify)
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


# -- issue 11: every burned cue fits, edited words aligned to the audio, lint --fix --------------------------


def _sidecar_words(subs: Path) -> list[Word]:
    """The timed words that go with a subtitle file: its own (captioner JSON), else its JSON sibling's."""
    sibling = subs if subs.suffix.lower() == ".json" else subs.with_suffix(".json")
    if not sibling.is_file():
        return []
    try:
        return load_words(sibling)
    except InputError:
        return []  # a sibling that is not captioner JSON has no words for us


def fit_cues(
    cues: Sequence[Cue], info: MediaInfo, settings: CaptionSettings, preset: Preset
) -> tuple[Composition, Reflowed]:
    """The output frame's layout and the cues re-flowed to fit its caption band (:func:`reflow`).

    With an interpreter inset above the captions, the inset is placed for the
    most lines a cue (or a stack of overlapping cues) needs, and the cues are
    fitted again if that narrowed the band.
    """
    lines = max((len(c.lines) for c in cues), default=1) if settings.keep_lines else preset.max_lines
    layout = _layout(info, settings, preset, lines=lines)
    for _ in range(4):
        style = layout.style
        flowed = reflow(cues, caption_rules(style, float(info.fps), settings.cps), style.measurer().width,
                        keep_lines=settings.keep_lines, room=layout.caption_room)
        needed = max((len(c.lines) for c in flowed.cues), default=1)
        if layout.sign is None or needed <= lines:
            break
        lines = needed
        layout = _layout(info, settings, preset, lines=lines)
    return layout, flowed


def align_cues(info: MediaInfo, cues: Sequence[Cue], which: Sequence[int], settings: CaptionSettings,
               progress: Progress | None, notify: Callable[[str], None]) -> list[Cue]:
    """``cues`` with the words of cues ``which`` aligned to the audio of ``info``."""
    progress = progress or NoProgress()
    language = check_language(settings.lang)
    chosen = [cues[k] for k in which]
    audio = load_audio(info.path)
    device, compute = aligner_settings(settings.compute_type, settings.device)
    with progress.task("aligning", total=round(sum(c.duration for c in chosen), 1)) as update:
        aligned = align_words(audio, chosen, model=settings.model, language=language, compute_type=compute,
                              device=device, progress=update)
    out = list(cues)
    silent = 0
    for k, cue in zip(which, aligned):
        if any(w.probability > 0 for w in cue.words):
            out[k] = cue
        else:
            silent += 1  # no speech in its time: its words keep sharing its time by length
    done = len(which) - silent
    if not done:
        notify(f"no speech found in the time of the {silent} cue{'s' * (silent != 1)} to align: "
               "their words share it by word length")
    else:
        notify(f"aligned the words of {done} cue{'s' * (done != 1)} to the audio"
               + (f"; {silent} with no speech in {'their' if silent > 1 else 'its'} time share it by word length"
                  if silent else ""))
    return out


@dataclass
class AlignResult:
    """What :func:`align` wrote: the JSON file and the cues with their aligned words."""

    path: Path
    cues: list[Cue]


def align(
    media: str | os.PathLike,
    subs: str | os.PathLike | Sequence[Cue],
    output: str | os.PathLike | None = None,
    settings: CaptionSettings | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    **options,
) -> AlignResult:
    """Align a subtitle file's (or cues') words to the speech of ``media`` and write captioner JSON.

    Every word gets a start and an end from the audio (:func:`align_words`), inside
    its cue.  ``output`` defaults to SUBS with ``.json``; it must be a ``.json`` file,
    the format that keeps word timings.  Settings (or keywords): ``lang``, ``model``,
    ``compute_type``.
    """
    settings = settings_for(settings, **options)
    progress = progress or NoProgress()
    language = check_language(settings.lang)
    # The aligner's device and CTranslate2 type; --device cuda without its GPU is refused here, before any work.
    device, compute = aligner_settings(settings.compute_type, settings.device)
    is_file = isinstance(subs, (str, os.PathLike))
    if output is None and not is_file:
        raise InputError("align needs an output .json file for cues given as objects")
    target = Path(output) if output is not None else Path(subs).with_suffix(".json")
    if target.suffix.lower() != ".json":
        raise InputError(f"{target}: align writes captioner JSON, the format that keeps word timings: use -o NAME.json")
    info = probe(media, require_video=False)
    if not info.has_audio:
        raise InputError(f"{media}: no audio stream, nothing to align the words to")
    cues = load_cues(subs) if is_file else list(subs)
    inputs = [info.path] + ([Path(subs)] if is_file else [])
    with OutputSet(force=force, inputs=inputs) as out:
        tmp = out.add(target)
        audio = load_audio(info.path)
        with progress.task("aligning", total=round(info.duration, 1)) as update:
            aligned = align_words(audio, cues, model=settings.model, language=language, compute_type=compute,
                                  device=device, progress=update)
        words = tuple(w for cue in sorted(aligned, key=lambda c: (c.start, c.end)) for w in cue.words)
        transcript = Transcript(language or "", 1.0, info.duration, words)
        tmp.write_text(dumps(aligned, "json", transcript=transcript), encoding="utf-8")
    return AlignResult(target, aligned)


@dataclass
class FixResult:
    """What :func:`fix_file` wrote: the fixed file, its cues, one line per change, what still breaks a rule."""

    path: Path
    cues: list[Cue]
    changes: list[str]
    violations: list[Violation]


def fix_file(
    subs: str | os.PathLike,
    output: str | os.PathLike,
    settings: CaptionSettings | None = None,
    *,
    frame: tuple[int, int] = (1080, 1920),
    fps: float = 30.0,
    force: bool = False,
    **options,
) -> FixResult:
    """``captioner lint SUBS --fix -o FIXED``: the cues re-flowed to fit, gaps up to 0.5 s closed to two
    frames and too-short cues merged or lengthened, written to ``output`` (format by extension)."""
    settings = settings_for(settings, **options)
    target = Path(output)
    format_for(target)
    style = CaptionStyle.for_frame(settings.resolved_preset(), *frame)
    rules = caption_rules(style, fps, settings.cps)
    width = style.measurer().width
    cues = load_cues(subs)
    cues = attach_words(cues, _sidecar_words(Path(subs)))
    fixed = tidy(cues, rules, width, room=caption_room(style))
    words = tuple(w for cue in fixed.cues for w in cue.words)
    transcript = Transcript("", 1.0, max((c.end for c in fixed.cues), default=0.0), words) if words else None
    with OutputSet(force=force, inputs=[Path(subs)]) as out:
        write_subtitles(out.add(target), fixed.cues, style, transcript)
    return FixResult(target, fixed.cues, fixed.changes, lint(fixed.cues, rules, width))
