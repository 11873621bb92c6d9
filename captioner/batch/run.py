"""Captioning a campaign: many inputs, one house style, resumable, one report."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from ..version import __version__
from ..errors import InputError
from ..media.outputs import check_output_folder, exclusive_lock, remove_dead_locks, remove_orphans
from ..media.probe import check_input_file
from ..processes import shielded
from ..progress import BatchProgress
from ..settings import CaptionSettings
from .local_engine import LocalEngine
from .plan import STATE_DIR, inside, plan, real
from .ray_engine import RayEngine
from .records import canonical, file_sha256, fingerprint, is_done, read_record
from .report import write_reports
from .schema import BatchResult, ClipResult, Job

ENGINES = {"local": LocalEngine, "ray": RayEngine}


def make_engine(name: str = "local", *, workers: int = 0, timeout: float | None = None, address: str = "auto",
                device: str = "auto", backend: str = "faster-whisper"):
    """The engine ``--engine`` names: ``local`` (worker processes here) or ``ray`` (actors on a cluster).

    ``device`` (``--device``) sets the default worker count and what each worker
    reserves: one worker per GPU locally, one GPU per actor on Ray."""
    if name == "ray":
        return RayEngine(address, workers=workers, timeout=timeout, device=device)
    if name == "local":
        return LocalEngine(workers, timeout=timeout, device=device, backend=backend)
    raise InputError(f"unknown engine {name!r} (use one of: {', '.join(ENGINES)})")


def run_batch(
    inputs: str | os.PathLike,
    out_dir: str | os.PathLike,
    settings: CaptionSettings | None = None,
    *,
    engine=None,
    force: bool = False,
    show_progress: bool = True,
) -> BatchResult:
    """Caption every input of a folder or CSV manifest into ``out_dir``; write the reports; return every result.

    ``settings`` apply to every clip; a manifest row's ``lang``, ``sign`` and
    ``output`` override them for that clip.  Inputs that succeeded before with the
    same content and settings, and whose outputs are all there, are skipped
    (``force`` redoes them).  ``engine`` is a :class:`LocalEngine` (default) or a
    :class:`RayEngine` (see :func:`make_engine`).
    """
    settings = settings or CaptionSettings()
    engine = engine or LocalEngine(device=settings.device, backend=settings.backend)
    started_at = datetime.now(timezone.utc)
    t0 = time.monotonic()
    # Bad settings (--lang, --backend, --compute-type, a house style...) are bad usage, refused before anything runs;
    # the device is this machine's to check unless the jobs run elsewhere (Ray).
    settings.check(here=not getattr(engine, "remote", False))
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: output folder is not a folder")
    jobs = plan(inputs, out, settings, force=force)
    out.mkdir(parents=True, exist_ok=True)
    check_output_folder(out)
    state = _state_folder(out)
    # One batch at a time on an OUT_DIR: the second says so in one line.  flock: a crashed run never leaves it held.
    with exclusive_lock(state / "lock", str(out)):
        _remove_orphans(jobs, out, state)
        return _run(jobs, inputs, out, settings, engine, force, show_progress, started_at, t0)


def _state_folder(out: Path) -> Path:
    """``OUT/.captioner``, made if missing; refused when it (or a folder in it) leads outside OUT_DIR."""
    root = real(out)
    state = out / STATE_DIR
    for folder in (state, state / "jobs", state / "thumbs"):
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()) or not inside(folder, root):
            raise InputError(f"{folder}: the batch's state folder must be a real folder inside {root}, not a link "
                             "or a file")
        folder.mkdir(exist_ok=True)
    return state


def _remove_orphans(jobs: list[Job], out: Path, state: Path) -> None:
    """What a killed run (kill -9, a lost node) left behind: temporary outputs, work folders, records being written.

    Runs while this batch holds OUT_DIR's lock, before any worker starts, so
    nothing of a live batch can be taken for an orphan; a temporary file that a
    live ``captioner caption`` holds in the same folder is kept (its own lock).
    """
    stems: dict[Path, set[str]] = {}
    root = real(out)
    for job in jobs:
        target = Path(job.output)
        if job.error or not inside(target.parent, root):  # a refused row's folder is none of this batch's business
            continue
        stems.setdefault(target.parent, set()).add(target.stem)
    for folder, names in stems.items():
        remove_orphans(folder, names)
    for folder, pattern in ((state / "jobs", ".*.part"), (state / "thumbs", ".*.tmp.jpg"), (out, ".report.*.part")):
        for leftover in folder.glob(pattern):
            try:
                leftover.unlink()
            except OSError:
                pass


def _run(jobs: list[Job], inputs, out: Path, settings: CaptionSettings, engine, force: bool, show_progress: bool,
         started_at: datetime, t0: float) -> BatchResult:
    run_id = secrets.token_hex(8)

    results: dict[str, ClipResult] = {}
    file_hashes: dict[str, str] = {}
    to_run: list[Job] = []
    for job in jobs:
        job.run = run_id
        for path in (job.settings.style, job.settings.sign):
            if path and path not in file_hashes and os.path.isfile(path):
                file_hashes[path] = file_sha256(path)
        previous = read_record(job)
        try:
            check_input_file(job.input)  # missing, a folder, unreadable, empty: fails here, no worker needed
            fingerprint(job, previous, file_hashes)
        except InputError as exc:
            job.error = job.error or str(exc)
        except OSError as exc:
            job.error = job.error or f"{job.input}: {exc.strerror or exc}"
        if not job.error and not force and is_done(job, previous):
            # What the record says is kept for its figures only; where it is, and what, is this plan's.
            results[job.key] = replace(previous, name=job.name, input=job.input, output=job.output, key=job.key,
                                       status="skipped", error="")
        elif job.error:
            results[job.key] = ClipResult.failed(job, job.error)
        else:
            to_run.append(job)

    interrupted = False
    with BatchProgress(len(jobs), enabled=show_progress) as progress:
        for job in jobs:
            result = results.get(job.key)
            if result is not None:
                progress.update("skipped" if result.status == "skipped" else "failed", job.name, result.error)

        def on_result(job: Job, result: ClipResult) -> None:
            result.name = job.name
            results[job.key] = result
            progress.update("done" if result.status == "ok" else "failed", job.name, result.error)

        try:
            engine.run(to_run, on_result)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            with shielded():
                for folder in {Path(job.output).parent for job in to_run}:
                    remove_dead_locks(folder)  # a worker killed (timed out, lost) before it wrote a file

    with shielded():  # the report of an interrupted batch is written whole, whatever else arrives
        return _report(jobs, results, run_id, inputs, out, settings, engine, interrupted, started_at, t0)


def _report(jobs, results, run_id, inputs, out, settings, engine, interrupted, started_at, t0) -> BatchResult:
    for job in jobs:
        if job.key not in results:
            record = read_record(job)
            if record and record.run == run_id and record.status == "ok":
                # Committed by its worker just as the batch was interrupted: it is done.
                results[job.key] = replace(record, name=job.name, input=job.input, output=job.output, key=job.key)
            else:
                results[job.key] = ClipResult.for_job(job, "interrupted", error="not finished: the batch was interrupted")
    ordered = [results[job.key] for job in jobs]
    meta = {
        "inputs": str(real(inputs)),
        "out_dir": str(real(out)),
        "engine": getattr(engine, "name", type(engine).__name__),
        "workers": getattr(engine, "workers", None),
        "captioner": __version__,
        "settings": canonical(settings),
        "started": started_at.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 2),
    }
    reports = write_reports(out, ordered, meta)
    return BatchResult(ordered, reports, interrupted)
