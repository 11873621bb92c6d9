"""The Python API: transcribe → make_cues → burn, and caption() for all three.

The CLI is a thin layer over these functions; they take and return the same
typed objects (:class:`~captioner.cues.Transcript`, :class:`~captioner.cues.Cue`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .burn import EncoderSettings, burn_cues, container_for
from .cues import Cue, Transcript, Word
from .errors import InputError
from .formats import dumps, format_for, load_cues
from .lint import Violation, lint
from .media import MediaInfo, load_audio, probe
from .outputs import OutputSet
from .presets import Preset, get_preset
from .progress import NoProgress, Progress
from .recognize import BACKENDS, Recognizer, make_recognizer
from .segment import Rules, Segmenter
from .style import CaptionStyle

SIDECAR_FORMATS = (".srt", ".vtt", ".ass", ".json")


def _preset(preset: str | Preset) -> Preset:
    return get_preset(preset) if isinstance(preset, str) else preset


def _language(lang: str | None) -> str | None:
    """``auto`` → detect; otherwise a Whisper language code, checked before any slow work."""
    if lang in (None, "", "auto"):
        return None
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES as codes
    except ImportError:  # a future faster-whisper: let the recognizer judge
        return lang
    if lang not in codes:
        raise InputError(f"unknown language code {lang!r} (use a Whisper code such as ar, en, fr, or auto)")
    return lang


def _backend(backend: str) -> str:
    """Checked before any slow work, like the language."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (available: {', '.join(BACKENDS)})")
    return backend


def transcribe(
    media: str | os.PathLike,
    *,
    lang: str | None = "ar",
    model: str = "base",
    backend: str = "faster-whisper",
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
    info: MediaInfo | None = None,
) -> Transcript:
    """Recognise the speech of a video or audio file as timed words.

    ``backend`` is ``faster-whisper`` (default) or ``openai-whisper`` (the
    ``openai`` extra); a ``recognizer`` passed in is used instead of loading one.
    """
    progress = progress or NoProgress()
    language = _language(lang)
    _backend(backend)
    info = info or probe(media, require_video=False)
    if not info.has_audio:
        raise InputError(f"{media}: no audio stream, nothing to transcribe")
    audio = load_audio(info.path)
    recognizer = recognizer or make_recognizer(backend, model)
    with progress.task("transcribing", total=round(info.duration, 1)) as update:
        return recognizer.transcribe(audio, language=language, progress=update)


def caption_rules(style: CaptionStyle, fps: float = 30.0, cps: float | None = None) -> Rules:
    return Rules.from_preset(style.preset, style.max_line_width, fps=fps, cps=cps)


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
    style = CaptionStyle.for_frame(_preset(preset), *frame)
    return lint(cues, caption_rules(style, fps, cps), style.measurer().width)


def default_output(video: Path) -> Path:
    return video.with_name(f"{video.stem}.captioned.mp4")


def burn(
    video: str | os.PathLike,
    subs: str | os.PathLike | Sequence[Cue],
    output: str | os.PathLike | None = None,
    *,
    preset: str | Preset = "tiktok",
    force: bool = False,
    encoder: EncoderSettings = EncoderSettings(),
    progress: Progress | None = None,
) -> Path:
    """Burn cues (or a subtitle file: SRT, VTT, ASS, captioner JSON) into a video."""
    progress = progress or NoProgress()
    info = probe(video, require_audio=False)
    cues = load_cues(subs) if isinstance(subs, (str, os.PathLike)) else list(subs)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    style = CaptionStyle.for_frame(_preset(preset), info.display_width, info.display_height)
    with OutputSet(force=force, inputs=[info.path]) as out:
        tmp = out.add(target)
        with progress.task("burning", total=round(info.duration, 1)) as update:
            burn_cues(info, cues, style, tmp, encoder=encoder, progress=update)
    return target


@dataclass
class CaptionResult:
    """What :func:`caption` made."""

    video: Path
    sidecars: dict[str, Path]
    transcript: Transcript
    cues: list[Cue]
    violations: list[Violation] = field(default_factory=list)


def sidecar_paths(output: Path) -> dict[str, Path]:
    return {ext: output.with_suffix(ext) for ext in SIDECAR_FORMATS}


def write_subtitles(
    path: Path, cues: Sequence[Cue], style: CaptionStyle, transcript: Transcript | None = None
) -> None:
    path.write_text(dumps(cues, format_for(path), style=style, transcript=transcript), encoding="utf-8")


def caption(
    video: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    lang: str | None = "ar",
    model: str = "base",
    backend: str = "faster-whisper",
    preset: str | Preset = "tiktok",
    cps: float | None = None,
    force: bool = False,
    recognizer: Recognizer | None = None,
    encoder: EncoderSettings = EncoderSettings(),
    progress: Progress | None = None,
) -> CaptionResult:
    """Transcribe a video, cut captions, burn them in, and write SRT/VTT/ASS/JSON sidecars."""
    progress = progress or NoProgress()
    _language(lang)
    _backend(backend)
    info = probe(video)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    preset = _preset(preset)
    sidecars = sidecar_paths(target)
    with OutputSet(force=force, inputs=[info.path]) as out:
        # Claim every output before the slow work, so a clash fails in a second, not after it.
        tmp_video = out.add(target)
        tmp_sidecars = {ext: out.add(path) for ext, path in sidecars.items()}
        transcript = transcribe(info.path, lang=lang, model=model, backend=backend, recognizer=recognizer,
                                progress=progress, info=info)
        style = CaptionStyle.for_frame(preset, info.display_width, info.display_height)
        fps = float(info.fps)
        cues = make_cues(transcript, preset=preset, frame=(info.display_width, info.display_height), fps=fps, cps=cps)
        for ext, tmp in tmp_sidecars.items():
            write_subtitles(tmp, cues, style, transcript)
        with progress.task("burning", total=round(info.duration, 1)) as update:
            burn_cues(info, cues, style, tmp_video, encoder=encoder, progress=update)
    violations = lint(cues, caption_rules(style, fps, cps), style.measurer().width)
    return CaptionResult(target, sidecars, transcript, cues, violations)
