"""Running batch jobs in a worker: one clip after another, each model loaded once and reused."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from ..asr import make_recognizer
from ..captions.flags import confident_share, needs_review
from ..errors import CaptionerError, InputError, first_line
from ..media.probe import probe
from ..pipeline import caption
from ..media.files import ffmpeg_url
from ..processes import child_options
from ..render.ffmpeg import ffmpeg_exe
from ..system import available_cores
from .plan import inside, real
from .records import canonical, is_done, job_outputs, log_event, read_record, remove_empty_folders, remove_partial_outputs, write_record
from .schema import ClipResult, Job

LOW_CONFIDENCE = 0.5
THUMB_WIDTH = 240


class JobRunner:
    """Runs jobs one after another in a worker, loading each model once and reusing it.

    ``threads`` is this worker's share of the cores: one single-threaded
    recogniser replica and an ffmpeg encode limited to the same number of threads,
    so that N workers on N cores do not fight over them.
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, threads)
        self._recognizers: dict[str, object] = {}

    def recognizer(self, model: str, backend: str = "faster-whisper", compute_type: str = "auto",
                   device: str = "cpu"):
        key = f"{backend}:{device}:{compute_type}:{model}"
        if key not in self._recognizers:
            if self.threads >= available_cores():
                # The only worker: recognise long audio in parallel chunks, as ``captioner caption`` does.
                self._recognizers[key] = make_recognizer(backend, model, compute_type=compute_type, device=device)
            else:
                self._recognizers[key] = make_recognizer(backend, model, compute_type=compute_type, device=device,
                                                         workers=1, cpu_threads=self.threads)
        return self._recognizers[key]

    def run(self, job: Job) -> ClipResult:
        started = time.monotonic()
        try:
            record = read_record(job)
            if record and job.run and record.run == job.run and is_done(job, record):
                # A retried task (its node died after the work was committed): never redo it into the same output.
                log_event(job, "already-done")
                return replace(record, status="ok")
            log_event(job, "start")
            result = self._caption(job, record)
        except CaptionerError as exc:
            result = ClipResult.failed(job, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad clip must not stop the batch; the reason goes in the report
            result = ClipResult.failed(job, f"{type(exc).__name__}: {first_line(exc)}")
        result.seconds = round(time.monotonic() - started, 2)
        result.run = job.run
        if result.status == "ok":
            write_record(job, result)
            log_event(job, "commit")
        else:
            claim = read_record(job)
            if claim and claim.run == job.run:  # this attempt claimed the outputs: say how it ended
                write_record(job, result)
            log_event(job, "failed", result.error)
            remove_empty_folders(Path(job.output).parent, Path(job.state_dir).parent)
        return result

    def _caption(self, job: Job, record: ClipResult | None) -> ClipResult:
        if job.error:
            raise InputError(job.error)
        info = probe(job.input)  # the reason a broken file fails, before any model loads
        settings = replace(job.settings, encoder=dataclasses.replace(job.settings.encoder, threads=self.threads))
        out = real(Path(job.state_dir).parent)
        # Checked again here, where it is written: a folder of OUT_DIR may have become a link since planning.
        if not inside(_existing_ancestor(Path(job.output).parent), out):
            raise InputError(f"output {job.output} resolves outside the output folder {out}")
        remove_partial_outputs(job)
        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        if not inside(job.output, out):
            raise InputError(f"output {job.output} resolves outside the output folder {out}")
        # Our own earlier outputs (a changed setting, a deleted sidecar) are replaced; anything else needs --force.
        ours = bool(record and record.output == job.output)
        if ours or job.force or not any(p.exists() for p in job_outputs(job)):
            # Claim the outputs before writing them: if this worker is killed between renaming them into
            # place and recording the result, a rerun still knows they are this batch's to replace.
            write_record(job, ClipResult.for_job(job, "running"))
        recognizer = self.recognizer(settings.model, settings.backend, settings.compute_type,
                                     settings.resolved_device())
        result = caption(info.path, job.output, settings, force=job.force or ours, recognizer=recognizer)
        if not result.cues:
            # A silent clip (or music only): the video was written with no captions, which a campaign
            # must not publish as "captioned".  Take it back and say why.
            for path in job_outputs(job):
                path.unlink(missing_ok=True)
            raise InputError("no speech was recognised (silent or music only); no captions to burn")
        transcript = result.transcript
        low = transcript.low_confidence(LOW_CONFIDENCE)
        at = (result.cues[0].start + result.cues[0].end) / 2
        thumb = self._thumbnail(job, at)
        return ClipResult.for_job(
            job,
            "ok",
            duration=round(info.duration, 3),
            language=result.transcript.language,
            words=len(result.transcript.words),
            low_confidence=len(low),
            violations=len(result.violations),
            flagged=len(transcript.flagged),
            not_burned=len(transcript.dropped),
            confident=round(confident_share(transcript), 3),
            needs_review=needs_review(transcript),
            transcript=transcript.text,
            flagged_words=[w.text for w in transcript.flagged],
            thumbnail=str(thumb) if thumb else None,
            thumbnail_at=round(at, 3),
            settings=canonical(job.settings),
        )

    def _thumbnail(self, job: Job, at: float) -> Path | None:
        """A small frame of the burned video at ``at`` seconds (the middle of the first caption), for the contact sheet."""
        target = job.thumb_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp.jpg")
        try:
            subprocess.run(
                [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", f"{at:.3f}", "-i",
                 ffmpeg_url(job.output), "-frames:v", "1", "-vf", f"scale={THUMB_WIDTH}:-2", "-q:v", "4",
                 "-threads", str(self.threads), "-f", "image2", "-update", "1", "-y", ffmpeg_url(tmp)],
                check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120, **child_options(),
            )
            os.replace(tmp, target)
            return target
        except (subprocess.SubprocessError, OSError):
            tmp.unlink(missing_ok=True)
            return None  # a missing picture on the contact sheet is not a failed caption


def _existing_ancestor(path: Path) -> Path:
    """The deepest folder of ``path`` that exists (what ``mkdir(parents=True)`` would create under)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
