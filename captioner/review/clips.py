"""What a review opens: one clip and the sidecars ``caption`` wrote beside its output, or a batch's queue.

``captioner review INPUT`` reviews the sidecars beside INPUT's default output
(``<stem>.captioned.*``), or ``--subs FILE``; with neither, it transcribes the
clip first and writes those sidecars.  ``captioner review OUT_DIR`` reviews a
batch: every clip its records say was captioned, those needing review first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..asr import Recognizer
from ..batch.plan import STATE_DIR
from ..batch.records import load_record
from ..captions.segment import Segmenter
from ..errors import InputError
from ..formats import format_for, load_cues
from ..media.outputs import OutputSet
from ..media.probe import probe
from ..pipeline import caption_rules, default_output, transcribe, write_subtitles
from ..progress import Progress
from ..render.compose import compose
from ..render.ffmpeg import container_for
from ..settings import CaptionSettings
from .i18n import default_ui, strings
from .server import Review
from .session import ClipFiles, existing_sidecar

def is_batch_folder(path: Path) -> bool:
    return path.is_dir() and (path / STATE_DIR / "jobs").is_dir()


def clip_files(
    video: str | os.PathLike,
    output: str | os.PathLike | None = None,
    subs: str | os.PathLike | None = None,
    settings: CaptionSettings | None = None,
    *,
    progress: Progress | None = None,
    recognizer: Recognizer | None = None,
) -> tuple[ClipFiles, bool]:
    """One clip to review, and whether it was transcribed now (there were no captions to start from).

    Bad input (not a video, an unknown subtitle format, an output that would
    be the input) fails here, before any server starts.
    """
    settings = settings or CaptionSettings()
    settings.check_rendering()
    info = probe(video, require_audio=False)
    target = Path(output) if output else default_output(info.path)
    container_for(target)
    if target.resolve() == info.path.resolve():
        raise InputError(f"{target}: the output would overwrite the input")
    start = None
    if subs is not None:
        start = Path(subs)
        format_for(start)
        if not start.is_file():
            raise InputError(f"{start}: no such file")
    transcribed = False
    if start is None and existing_sidecar(target) is None:
        write_transcript_sidecars(info.path, target, settings, progress=progress, recognizer=recognizer)
        transcribed = True
    load_cues(start or existing_sidecar(target))  # unreadable or empty captions fail here, not in the page
    return ClipFiles(name=info.path.name, source=info.path, output=target, settings=settings, subs=start), transcribed


def write_transcript_sidecars(video: Path, output: Path, settings: CaptionSettings, *, progress: Progress | None,
                              recognizer: Recognizer | None = None) -> None:
    """Transcribe the clip and write the SRT/VTT/ASS/JSON sidecars ``caption`` would write beside ``output``."""
    settings.check_recognition()
    info = probe(video)
    layout = compose(info, settings.resolved_preset(), reframe=settings.reframe, sign=settings.sign_options())
    with OutputSet(force=False, inputs=[info.path]) as out:
        tmp = {path: out.add(path) for path in ClipFiles("", video, output, settings).sidecars.values()}
        transcript = transcribe(info.path, settings, recognizer=recognizer, progress=progress, info=info)
        rules = caption_rules(layout.style, float(info.fps), settings.cps)
        cues = Segmenter(rules, layout.style.measurer().width).segment(transcript.words, media_end=transcript.duration)
        if not cues:
            raise InputError(f"{video}: no speech was recognised, so there are no captions to review")
        for part in tmp.values():
            write_subtitles(part, cues, layout.style, transcript)


@dataclass(frozen=True)
class BatchQueue:
    """A batch's clips to review, in queue order, and the clips that cannot be reviewed, with why."""

    clips: list[ClipFiles]
    skipped: list[str]


def _report_settings(out_dir: Path) -> dict:
    try:
        meta = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    settings = meta.get("settings") if isinstance(meta, dict) else None
    return settings if isinstance(settings, dict) else {}


def batch_queue(out_dir: str | os.PathLike) -> BatchQueue:
    """The clips a batch captioned (its records), those needing review first.

    Order: not reviewed and needing review (the batch's ``needs review``: flagged
    words, or few confident ones; most flagged first), not reviewed, then reviewed.  Only outputs inside OUT_DIR are opened: a record naming a file
    elsewhere is skipped, never served.
    """
    out = Path(out_dir)
    if not is_batch_folder(out):
        raise InputError(f"{out}: not a batch output folder (no {STATE_DIR}/jobs in it)")
    root = out.resolve()
    fallback = _report_settings(out)
    found: list[tuple[tuple, ClipFiles]] = []
    skipped: list[str] = []
    for path in sorted((out / STATE_DIR / "jobs").glob("*.json")):
        record = load_record(path)
        if record is None or record.status != "ok":
            continue
        name = record.name or record.input
        output = Path(record.output).resolve()
        if root not in output.parents:
            skipped.append(f"{name}: its output {record.output} is outside {out}")
            continue
        if existing_sidecar(output) is None:
            skipped.append(f"{name}: no captions beside {record.output}")
            continue
        source = Path(record.input)
        if not source.is_file():
            skipped.append(f"{name}: the source video {record.input} is gone")
            continue
        try:
            settings = CaptionSettings.from_dict(record.settings or fallback)
            settings.resolved_preset()
        except InputError as exc:
            skipped.append(f"{name}: its settings cannot be read back ({exc})")
            continue
        flagged = record.flagged if record.flagged is not None else (record.low_confidence or 0)
        needs = record.needs_review if record.needs_review is not None else flagged > 0
        files = ClipFiles(name=name, source=source, output=output, settings=settings, record=path,
                          flagged=flagged, reviewed=record.reviewed)
        found.append(((record.reviewed, not needs, -flagged, name), files))
    found.sort(key=lambda item: item[0])
    return BatchQueue([files for _, files in found], skipped)


@dataclass
class Opened:
    """A review ready to serve, and what the CLI tells the user about it."""

    review: Review
    notes: list[str]


def open_review(
    target: str | os.PathLike,
    output: str | os.PathLike | None = None,
    subs: str | os.PathLike | None = None,
    settings: CaptionSettings | None = None,
    *,
    ui: str | None = None,
    progress: Progress | None = None,
) -> Opened:
    """A clip (transcribed first when it has no captions yet) or a batch's OUT_DIR, ready for :func:`serve`."""
    ui = ui or default_ui()
    strings(ui)
    path = Path(target)
    if is_batch_folder(path):
        if output is not None or subs is not None:
            raise InputError(f"{path} is a batch's output folder: -o and --subs are for one clip")
        queue = batch_queue(path)
        if not queue.clips:
            raise InputError(f"{path}: no captioned clip to review" + (f" ({queue.skipped[0]})" if queue.skipped else ""))
        needing = sum(1 for c in queue.clips if c.flagged and not c.reviewed)
        notes = [f"skipped: {line}" for line in queue.skipped]
        notes.append(f"{len(queue.clips)} clips, {needing} with flagged words not yet reviewed (listed first)")
        return Opened(Review(queue.clips, ui=ui, batch=path), notes)
    if path.is_dir():
        raise InputError(f"{path}: a folder, but not a batch's output folder (no {STATE_DIR}/jobs in it)")
    files, transcribed = clip_files(path, output, subs, settings, progress=progress)
    notes = []
    if transcribed:
        notes.append(f"transcribed {files.source.name}: there were no captions beside {files.output.name} yet")
    if files.subs is not None:
        notes.append(f"starting from {files.subs}")
    notes.append("Save writes " + ", ".join(str(p) for p in files.sidecars.values()))
    notes.append(f"Burn writes {files.output}")
    return Opened(Review([files], ui=ui), notes)
