"""The Python API: transcribe → make_cues → burn, and caption() for all three.

The CLI is a thin layer over these functions; they take and return the same
typed objects (:class:`~captioner.cues.Transcript`, :class:`~captioner.cues.Cue`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .burn import EncoderSettings, burn_cues, container_for
from .cues import Cue, Transcript, Word
from .errors import InputError
from .formats import dumps, format_for, load_cues
from .lint import Violation, lint
from .inset import Inset, SignOptions, check_sign_input, place
from .media import MediaInfo, load_audio, probe
from .outputs import OutputSet
from .presets import Preset, get_preset, load_style
from .reframe import Frame, output_frame
from .progress import NoProgress, Progress
from .recognize import BACKENDS, Recognizer, check_compute_type, make_recognizer
from .segment import Rules, Segmenter
from .style import CaptionStyle

SIDECAR_FORMATS = (".srt", ".vtt", ".ass", ".json")
RENDERERS = ("libass", "pillow")


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


def _backend(backend: str, compute_type: str = "auto") -> str:
    """Checked before any slow work, like the language."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (available: {', '.join(BACKENDS)})")
    check_compute_type(backend, compute_type)
    return backend


def _check_renderer(renderer: str, shaping: str) -> None:
    if renderer not in RENDERERS:
        raise InputError(f"unknown renderer {renderer!r} (use one of: {', '.join(RENDERERS)})")
    if renderer == "pillow":
        from .composite import require_moviepy
        from .draw import resolve_shaping

        require_moviepy()
        resolve_shaping(shaping)


def _check_pillow_composition(renderer: str, layout: "Composition", highlight: bool) -> None:
    """The pillow renderer draws captions on the input's own frame, nothing more (yet)."""
    if renderer != "pillow":
        return
    missing = []
    if layout.sign is not None:
        missing.append("the interpreter inset (--sign)")
    if layout.frame.mode != "none":
        missing.append("reframing (--reframe; input that is not 9:16 needs --reframe none)")
    if highlight:
        missing.append("word highlight (--highlight word)")
    if missing:
        raise InputError(f"the pillow renderer does not do {' or '.join(missing)}; use --renderer libass")


def burn_video(
    info: MediaInfo,
    cues: Sequence[Cue],
    layout: "Composition",
    output: Path,
    *,
    renderer: str = "libass",
    shaping: str = "auto",
    highlight: bool = False,
    encoder: EncoderSettings = EncoderSettings(),
    progress=None,
) -> None:
    """Burn cues with the chosen renderer into ``output`` (a temporary name of an OutputSet)."""
    if renderer == "pillow":
        from .composite import burn_cues_pillow

        burn_cues_pillow(info, cues, layout.style, output, encoder=encoder, progress=progress, shaping=shaping)
    else:
        burn_cues(info, cues, layout.style, output, encoder=encoder, progress=progress, frame=layout.frame,
                  sign=layout.sign, highlight=highlight)


def transcribe(
    media: str | os.PathLike,
    *,
    lang: str | None = "ar",
    model: str = "base",
    backend: str = "faster-whisper",
    compute_type: str = "auto",
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
    info: MediaInfo | None = None,
) -> Transcript:
    """Recognise the speech of a video or audio file as timed words.

    ``backend`` is ``faster-whisper`` (default) or ``openai-whisper`` (the
    ``openai`` extra); ``compute_type`` is ``auto`` (int8 for faster-whisper,
    float32 for openai-whisper) or one of :data:`~captioner.models.COMPUTE_TYPES`:
    ``float32`` on both backends gives the same words from the same weights.
    A ``recognizer`` passed in is used instead of loading one.
    """
    progress = progress or NoProgress()
    language = _language(lang)
    _backend(backend, compute_type)
    info = info or probe(media, require_video=False)
    if not info.has_audio:
        raise InputError(f"{media}: no audio stream, nothing to transcribe")
    audio = load_audio(info.path)
    recognizer = recognizer or make_recognizer(backend, model, compute_type=compute_type)
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


HIGHLIGHT_MODES = ("none", "word")


def resolve_preset(preset: str | Preset = "tiktok", style: str | os.PathLike | None = None) -> Preset:
    """A preset by name, with a house-style TOML file's fields over it."""
    base = _preset(preset)
    return load_style(style, base) if style else base


def as_sign_options(sign: SignOptions | str | os.PathLike | None, options: dict | None = None) -> SignOptions | None:
    """``sign`` as :class:`SignOptions`: a path gets ``options`` (position, size, offset, key, border, hold)."""
    if sign is None or isinstance(sign, SignOptions):
        return sign  # options without a video: nothing to inset (a batch row without a ``sign``)
    try:
        return SignOptions(Path(sign), **(options or {}))
    except TypeError as exc:
        raise InputError(f"unknown interpreter option: {exc}") from None


@dataclass(frozen=True)
class Composition:
    """How one output frame is put together: its size, the caption style laid out for it
    (band narrowed for the interpreter), and the interpreter's inset."""

    frame: Frame
    style: CaptionStyle
    sign: tuple[SignOptions, Inset] | None = None


def compose(
    info: MediaInfo, preset: Preset, *, reframe: str = "auto", sign: SignOptions | None = None, lines: int | None = None
) -> Composition:
    """Lay out the output frame before any slow work: bad interpreter input fails here."""
    frame = output_frame(info, reframe)
    style = CaptionStyle.for_frame(preset, *frame.size)
    if sign is None:
        return Composition(frame, style)
    sign_info = check_sign_input(sign.path)
    if sign_info.path.resolve() == info.path.resolve():
        raise InputError(f"{sign.path}: the interpreter video is the input video")
    inset, style = place(style, sign_info, sign, max(lines or 0, preset.max_lines))
    return Composition(frame, style, (sign, inset))


def _check_highlight(highlight: str) -> bool:
    if highlight not in HIGHLIGHT_MODES:
        raise InputError(f"highlight must be one of {', '.join(HIGHLIGHT_MODES)}, not {highlight!r}")
    return highlight == "word"


def _fit_lines(cues: Sequence[Cue], style: CaptionStyle, fps: float) -> list[Cue]:
    """Re-cut cues whose lines no longer fit a band narrowed for the interpreter.

    A cue is re-broken within its lines when it can be; when its words need more
    lines than the preset allows, it is cut into several cues over its own time
    span (words timed by the cue's word timestamps, else by reading length).
    Cues with speaker dashes keep their lines: one speaker per line.
    """
    from .track import word_starts

    measure = style.measurer().width
    segmenter = Segmenter(caption_rules(style, fps), measure)
    fitted: list[Cue] = []
    for cue in cues:
        speakers = sum(line.startswith("- ") for line in cue.lines) > 1
        if speakers or all(measure(line) <= style.max_line_width + 0.5 for line in cue.lines):
            fitted.append(cue)
            continue
        texts = [w for w in cue.text.split(" ") if w]
        starts = word_starts(cue)
        ends = starts[1:] + [cue.end]
        words = [Word(t, a, b) for t, a, b in zip(texts, starts, ends)]
        layout = segmenter.layout(words)
        if layout.violations == 0:
            fitted.append(replace(cue, lines=layout.lines, words=tuple(words)))
            continue
        parts = segmenter.segment(words, media_end=cue.end)
        for k, part in enumerate(parts):
            end = cue.end if k == len(parts) - 1 else min(part.end, parts[k + 1].start)
            fitted.append(replace(part, start=max(part.start, cue.start), end=end))
    return fitted


def burn(
    video: str | os.PathLike,
    subs: str | os.PathLike | Sequence[Cue],
    output: str | os.PathLike | None = None,
    *,
    preset: str | Preset = "tiktok",
    style: str | os.PathLike | None = None,
    sign: SignOptions | str | os.PathLike | None = None,
    sign_options: dict | None = None,
    reframe: str = "auto",
    highlight: str = "none",
    force: bool = False,
    renderer: str = "libass",
    shaping: str = "auto",
    encoder: EncoderSettings = EncoderSettings(),
    progress: Progress | None = None,
) -> Path:
    """Burn cues (or a subtitle file: SRT, VTT, ASS, captioner JSON) into a video.

    ``style`` is a house-style TOML file over ``preset``; ``sign`` an interpreter
    video (or :class:`SignOptions`) inset in the same pass; ``reframe`` puts
    landscape or square input into a 1080x1920 frame (``auto``: ``fit`` unless the
    input is 9:16); ``highlight="word"`` marks the word being spoken.
    ``renderer`` is ``"libass"`` (ffmpeg + libass, the default) or ``"pillow"``
    (Pillow + moviepy, the ``moviepy`` extra); ``shaping`` picks the pillow
    renderer's Arabic shaping: ``"auto"`` (Raqm where Pillow has it),
    ``"raqm"`` or ``"fallback"`` (arabic-reshaper + python-bidi).
    """
    progress = progress or NoProgress()
    _check_renderer(renderer, shaping)
    words_lit = _check_highlight(highlight)
    resolved = resolve_preset(preset, style)
    sign = as_sign_options(sign, sign_options)
    info = probe(video, require_audio=False)
    cues = load_cues(subs) if isinstance(subs, (str, os.PathLike)) else list(subs)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    lines = max((len(c.lines) for c in cues), default=1)
    layout = compose(info, resolved, reframe=reframe, sign=sign, lines=lines)
    _check_pillow_composition(renderer, layout, words_lit)
    if layout.sign is not None:
        cues = _fit_lines(cues, layout.style, float(info.fps))
    with OutputSet(force=force, inputs=[info.path] + ([sign.path] if sign else [])) as out:
        tmp = out.add(target)
        with progress.task("burning", total=round(info.duration, 1)) as update:
            burn_video(info, cues, layout, tmp, renderer=renderer, shaping=shaping, highlight=words_lit,
                       encoder=encoder, progress=update)
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
    compute_type: str = "auto",
    preset: str | Preset = "tiktok",
    style: str | os.PathLike | None = None,
    cps: float | None = None,
    sign: SignOptions | str | os.PathLike | None = None,
    sign_options: dict | None = None,
    reframe: str = "auto",
    highlight: str = "none",
    force: bool = False,
    recognizer: Recognizer | None = None,
    renderer: str = "libass",
    shaping: str = "auto",
    encoder: EncoderSettings = EncoderSettings(),
    progress: Progress | None = None,
) -> CaptionResult:
    """Transcribe a video, cut captions, burn them in, and write SRT/VTT/ASS/JSON sidecars.

    ``backend`` and ``compute_type`` as for :func:`transcribe`; ``style``, ``sign``,
    ``reframe``, ``highlight``, ``renderer`` and ``shaping`` as for :func:`burn`.
    """
    progress = progress or NoProgress()
    _language(lang)
    _backend(backend, compute_type)
    _check_renderer(renderer, shaping)
    words_lit = _check_highlight(highlight)
    preset = resolve_preset(preset, style)
    sign = as_sign_options(sign, sign_options)
    info = probe(video)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    layout = compose(info, preset, reframe=reframe, sign=sign)
    _check_pillow_composition(renderer, layout, words_lit)
    sidecars = sidecar_paths(target)
    with OutputSet(force=force, inputs=[info.path] + ([sign.path] if sign else [])) as out:
        # Claim every output before the slow work, so a clash fails in a second, not after it.
        tmp_video = out.add(target)
        tmp_sidecars = {ext: out.add(path) for ext, path in sidecars.items()}
        transcript = transcribe(info.path, lang=lang, model=model, backend=backend, compute_type=compute_type,
                                recognizer=recognizer, progress=progress, info=info)
        laid_out = layout.style
        fps = float(info.fps)
        segmenter = Segmenter(caption_rules(laid_out, fps, cps), laid_out.measurer().width)
        cues = segmenter.segment(transcript.words, media_end=transcript.duration)
        for ext, tmp in tmp_sidecars.items():
            write_subtitles(tmp, cues, laid_out, transcript)
        with progress.task("burning", total=round(info.duration, 1)) as update:
            burn_video(info, cues, layout, tmp_video, renderer=renderer, shaping=shaping, highlight=words_lit,
                       encoder=encoder, progress=update)
    violations = lint(cues, caption_rules(laid_out, fps, cps), laid_out.measurer().width)
    return CaptionResult(target, sidecars, transcript, cues, violations)
