"""A batch's data, as one schema: the jobs it plans, what each clip ended as, and the batch's outcome.

Records on disk (``OUT/.captioner/jobs/KEY.json``) and both reports are these
dataclasses written as JSON; what is read back from disk is checked field by
field (:meth:`ClipResult.from_dict`), so a damaged or tampered record is just
a record that does not count, never a crash or a value of the wrong kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import CaptionSettings

# How a clip ended: ok (captioned now), skipped (captioned before with the same input and settings),
# failed, interrupted (the batch was stopped first); "running" only ever in a record, while a worker holds it.
STATUSES = ("ok", "skipped", "failed", "interrupted")
RUNNING = "running"
# A captioned clip (ok or skipped) whose outputs were written but whose words should be checked before it is
# published: a word flagged for review or not burned, or too few words Whisper was sure of.  Not a status of its
# own (the clip did not fail, and a rerun skips it): ``ClipResult.needs_review``, the reports' ``review`` column.
NEEDS_REVIEW = "needs review"


@dataclass
class Row:
    """One input as a folder or a manifest row gives it."""

    path: Path
    name: str
    lang: str | None = None
    sign: Path | None = None
    output: Path | None = None
    line: int = 0
    hotwords: str | None = None  # the manifest's hotwords for this clip, over --hotwords


@dataclass
class Job:
    """One input to caption: plain data, sent to worker processes and Ray nodes."""

    input: str  # absolute path
    name: str  # the input's path relative to INPUTS (or the manifest's folder), for the report
    output: str  # absolute path of the captioned video
    key: str  # stable id of the output, names its record files
    state_dir: str
    settings: CaptionSettings  # this clip's settings: the batch's, with its manifest row's over them
    fingerprint: str = ""
    input_sha256: str = ""
    input_stat: tuple[int, int] = (0, 0)  # size, mtime_ns: when unchanged, the stored content hash is reused
    error: str = ""  # a reason found while planning (missing sign file...): the job fails without running
    force: bool = False  # overwrite outputs this batch did not make, redo what is up to date
    run: str = ""  # id of this batch run: a retried attempt that finds its own run's record does nothing

    @property
    def record_path(self) -> Path:
        return Path(self.state_dir) / "jobs" / f"{self.key}.json"

    @property
    def log_path(self) -> Path:
        return Path(self.state_dir) / "jobs" / f"{self.key}.log"

    @property
    def thumb_path(self) -> Path:
        return Path(self.state_dir) / "thumbs" / f"{self.key}.jpg"


def _typed(value: Any, kind: type | tuple[type, ...]) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)) else None


@dataclass
class ClipResult:
    """What one clip ended as: a row of the reports, and the record a rerun reads to skip it."""

    input: str
    name: str
    output: str
    key: str
    status: str = "failed"
    error: str = ""
    duration: float | None = None  # the clip's, seconds
    language: str | None = None
    words: int | None = None
    low_confidence: int | None = None  # words recognised with probability below 0.5
    violations: int | None = None  # caption-rule notes
    # Review flags (captioner.captions.flags): words flagged, words not burned (no speech under them), the share of
    # words recognised with probability >= 0.5, whether the clip needs review, its transcript and flagged words.
    flagged: int | None = None
    not_burned: int | None = None
    confident: float | None = None
    needs_review: bool | None = None
    transcript: str | None = None
    flagged_words: list[str] = field(default_factory=list)
    seconds: float | None = None  # processing time
    thumbnail: str | None = None  # a frame of the burned video, under OUT/.captioner/thumbs
    thumbnail_at: float | None = None
    fingerprint: str = ""
    input_sha256: str = ""
    input_stat: tuple[int, int] = (0, 0)
    run: str = ""
    # Kept by `captioner review`: a person checked this clip's captions (and when), and the clip's own
    # settings (the batch's, with its manifest row's over them), so Burn there burns it the same way again.
    reviewed: bool = False
    reviewed_at: str = ""
    settings: dict = field(default_factory=dict)

    @classmethod
    def for_job(cls, job: Job, status: str = "failed", **values) -> "ClipResult":
        return cls(input=job.input, name=job.name, output=job.output, key=job.key, status=status,
                   fingerprint=job.fingerprint, input_sha256=job.input_sha256, input_stat=tuple(job.input_stat),
                   run=job.run, **values)

    @classmethod
    def failed(cls, job: Job, error: str, seconds: float | None = None) -> "ClipResult":
        # The report has an input column: "/long/path/clip.mp4: empty file" reads better as "empty file".
        error = error.removeprefix(f"{job.input}: ")
        return cls.for_job(job, "failed", error=error, seconds=None if seconds is None else round(seconds, 2))

    @property
    def review(self) -> str:
        """``needs review`` or ``ok`` for a captioned clip (ok or skipped), empty for one that was not captioned."""
        if self.status not in ("ok", "skipped") or self.needs_review is None:
            return ""
        return NEEDS_REVIEW if self.needs_review else "ok"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["input_stat"] = list(self.input_stat)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "ClipResult | None":
        """A record read back from disk, or None when it is not one (every field's kind is checked)."""
        if not isinstance(data, dict):
            return None
        kinds = {"input": str, "name": str, "output": str, "key": str, "status": str, "error": str,
                 "duration": float, "language": str, "words": int, "low_confidence": int, "violations": int,
                 "seconds": float, "thumbnail": str, "thumbnail_at": float, "fingerprint": str,
                 "input_sha256": str, "run": str, "flagged": int, "not_burned": int, "confident": float,
                 "needs_review": bool, "transcript": str}
        kinds.update(reviewed=bool, reviewed_at=str, settings=dict)
        values = {name: _typed(data.get(name), kind) for name, kind in kinds.items()}
        words = data.get("flagged_words")
        values["flagged_words"] = list(words) if isinstance(words, list) and all(isinstance(w, str) for w in words) else []
        if any(values[k] is None for k in ("input", "output", "key", "status")):
            return None
        if values["status"] not in STATUSES + (RUNNING,):
            return None
        stat = data.get("input_stat")
        if isinstance(stat, list) and len(stat) == 2 and all(isinstance(v, int) for v in stat):
            values["input_stat"] = tuple(stat)
        else:
            values["input_stat"] = (0, 0)
        for text in ("name", "error", "fingerprint", "input_sha256", "run"):
            values[text] = values[text] or ""
        values["reviewed"], values["reviewed_at"] = bool(values["reviewed"]), values["reviewed_at"] or ""
        values["settings"] = values["settings"] or {}
        return cls(**values)


@dataclass
class BatchResult:
    """Every clip's result, in input order, and where the reports are."""

    results: list[ClipResult]
    reports: dict[str, Path] = field(default_factory=dict)
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[ClipResult]:
        return [r for r in self.results if r.status in ("failed", "interrupted")]

    @property
    def needs_review(self) -> list[ClipResult]:
        """Captioned clips (ok or skipped) to check before publishing."""
        return [r for r in self.results if r.review == NEEDS_REVIEW]


# What an engine calls as each job ends.
OnResult = Callable[[Job, ClipResult], None]
