"""Captioning a campaign: many inputs, one house style, resumable, one report.

A batch is planned here (:func:`plan`): every input becomes a :class:`Job`
whose output path mirrors the input's path under the output folder, and whose
*fingerprint* hashes the input's content and every setting that shapes the
output.  Jobs run in an engine (:mod:`captioner.engines`: a local process pool
or a Ray cluster) through :class:`JobRunner`, which loads the model once per
worker.  Each finished job leaves a record in ``OUT/.captioner/jobs/``; a rerun
skips a job whose record says it succeeded with the same fingerprint and whose
outputs are all there, and redoes everything else.  The records are written
by the worker that did the job, right after its outputs were renamed into
place, so a Ray task retried after its node died finds the work done and does
not write the same output twice.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import inspect
import json
import os
import re
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import CaptionerError, InputError

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts", ".ts", ".wmv", ".flv",
                  ".mpg", ".mpeg"}
OUTPUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}
STATE_DIR = ".captioner"  # inside OUT_DIR: job records, event logs, contact-sheet frames
LOW_CONFIDENCE = 0.5
THUMB_WIDTH = 240


@dataclass
class Job:
    """One input to caption: plain data, sent to worker processes and Ray nodes."""

    input: str  # absolute path
    name: str  # the input's path relative to INPUTS (or the manifest's folder), for the report
    output: str  # absolute path of the captioned video
    key: str  # stable id of the output, names its record files
    state_dir: str
    caption: dict  # caption() keywords (lang, model, preset, ..., style, sign)
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

    def outputs(self) -> list[Path]:
        from .pipeline import sidecar_paths

        video = Path(self.output)
        return [video, *sidecar_paths(video).values()]


# -- planning ---------------------------------------------------------------------------------------------------


def find_videos(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Video files under ``folder`` by extension, sorted; hidden files and ``exclude`` (the output folder) skipped."""
    exclude = exclude.resolve() if exclude else None
    found = []
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (exclude is None or (root_path / d).resolve() != exclude))
        found += [root_path / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


@dataclass
class Row:
    path: Path
    name: str
    lang: str | None = None
    sign: Path | None = None
    output: Path | None = None
    line: int = 0


def read_manifest(manifest: Path) -> list[Row]:
    """A CSV with a ``path`` column and optional ``lang``, ``sign`` and ``output`` columns.

    Relative ``path`` and ``sign`` are relative to the manifest's folder, a relative
    ``output`` to the output folder.
    """
    base = manifest.resolve().parent
    try:
        with open(manifest, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
            if "path" not in columns:
                raise InputError(f"{manifest}: the manifest needs a 'path' column (found: {', '.join(columns) or 'none'})")
            reader.fieldnames = columns
            rows = []
            for line, raw in enumerate(reader, start=2):
                raw = {k: (v or "").strip() for k, v in raw.items() if k}
                if not any(raw.values()):
                    continue
                if not raw.get("path"):
                    raise InputError(f"{manifest}, line {line}: empty path")
                path = Path(raw["path"])
                absolute = path if path.is_absolute() else base / path
                try:
                    name = str(absolute.relative_to(base))
                except ValueError:  # outside the manifest's folder: mirror its whole path
                    name = str(Path(*absolute.parts[1:]))
                sign = raw.get("sign")
                rows.append(Row(
                    path=absolute,
                    name=name,
                    lang=raw.get("lang") or None,
                    sign=(Path(sign) if Path(sign).is_absolute() else base / sign) if sign else None,
                    output=Path(raw["output"]) if raw.get("output") else None,
                    line=line,
                ))
    except UnicodeDecodeError:
        raise InputError(f"{manifest}: not a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise InputError(f"{manifest}: not a valid CSV file ({exc})") from None
    if not rows:
        raise InputError(f"{manifest}: no rows")
    return rows


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)[-48:]


def _output_for(name: str, out_dir: Path) -> Path:
    rel = Path(name)
    return out_dir / rel.parent / f"{rel.stem}.mp4"


def plan(inputs: str | os.PathLike, out_dir: str | os.PathLike, caption: dict, *, force: bool = False) -> list[Job]:
    """Jobs for a folder (searched recursively) or a CSV manifest, outputs mirrored under ``out_dir``."""
    source = Path(inputs)
    out = Path(out_dir).resolve()
    if not source.exists():
        raise InputError(f"{source}: no such file or folder")
    if source.is_dir():
        rows = [Row(path=p.resolve(), name=str(p.relative_to(source))) for p in find_videos(source, out)]
        if not rows:
            raise InputError(f"{source}: no video files found ({', '.join(sorted(VIDEO_SUFFIXES))})")
    elif source.suffix.lower() == ".csv":
        rows = read_manifest(source)
    else:
        raise InputError(f"{source}: INPUTS must be a folder or a .csv manifest")
    if caption.get("style"):
        style = Path(caption["style"])
        if not style.is_file():
            raise InputError(f"{style}: style file not found")
        caption = {**caption, "style": str(style.resolve())}

    # Outputs: OUT/<relative folder>/<stem>.mp4 with sidecars <stem>.srt... beside it.  Two inputs whose
    # names differ only by extension (clip.mov, clip.mp4) would share sidecars, so those keep the extension.
    targets: dict[int, Path] = {}
    by_stem: dict[Path, list[int]] = {}
    for i, row in enumerate(rows):
        if row.output is not None:
            target = row.output if row.output.is_absolute() else out / row.output
            if target.suffix.lower() not in OUTPUT_SUFFIXES:
                raise InputError(f"line {row.line}: output {row.output} must end in .mp4, .m4v, .mov or .mkv")
        else:
            target = _output_for(row.name, out)
        targets[i] = target
        by_stem.setdefault(target.with_suffix("").resolve(), []).append(i)
    for stem, members in by_stem.items():
        if len(members) > 1:
            plain_mp4 = [i for i in members if rows[i].output is None and Path(rows[i].name).suffix == ".mp4"]
            for i in members:
                row = rows[i]
                if row.output is not None:
                    others = ", ".join(rows[j].name for j in members if j != i)
                    raise InputError(f"line {row.line}: output {row.output} is also the output of {others}")
                if plain_mp4 == [i]:
                    continue  # clip.mp4 keeps its name; clip.mov beside it becomes clip.mov.mp4
                targets[i] = out / Path(row.name).parent / f"{Path(row.name).name}.mp4"
    seen: dict[Path, str] = {}
    for i, target in targets.items():
        key = target.with_suffix("").resolve()
        if key in seen:  # e.g. a.mp4 beside a folder-mirrored a.mp4.mp4: vanishingly rare, but never overwrite
            raise InputError(f"{rows[i].name} and {seen[key]} would be written to the same output {target}")
        seen[key] = rows[i].name

    state = out / STATE_DIR
    jobs = []
    for i, row in enumerate(rows):
        target = targets[i].resolve()
        settings = dict(caption)
        if row.lang:
            settings["lang"] = row.lang
        error = ""
        if row.sign is not None:
            if not row.sign.is_file():
                error = f"sign video {row.sign}: no such file"
            settings["sign"] = str(row.sign.resolve())
        rel = os.path.relpath(target, out)
        key = f"{hashlib.sha1(rel.encode('utf-8')).hexdigest()[:12]}-{_safe(Path(rel).stem)}"
        jobs.append(Job(input=str(row.path.resolve()), name=row.name, output=str(target), key=key, state_dir=str(state),
                        caption=settings, error=error, force=force))
    return jobs


# -- fingerprints -----------------------------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _canonical(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Thread counts change how fast, not what: a different --workers must not redo a campaign.
        return {k: _canonical(v) for k, v in dataclasses.asdict(value).items() if k != "threads"}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def settings_fingerprint(caption: dict, file_hashes: dict[str, str] | None = None) -> str:
    """A hash of every caption() setting; files named by a setting (style, sign) count by their content."""
    settings = _canonical(caption)
    for key in ("style", "sign"):
        if settings.get(key):
            path = settings[key]
            settings[key] = {"sha256": (file_hashes or {}).get(path) or file_sha256(path)}
    blob = json.dumps({"captioner": __version__, "caption": settings}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def read_record(job: Job) -> dict | None:
    try:
        with open(job.record_path, encoding="utf-8") as fh:
            record = json.load(fh)
        return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None


def fingerprint(job: Job, previous: dict | None, file_hashes: dict[str, str]) -> None:
    """Fill in the job's input hash and fingerprint; the input is hashed again only if its size or mtime changed."""
    st = os.stat(job.input)
    job.input_stat = (st.st_size, st.st_mtime_ns)
    if previous and previous.get("input_stat") == list(job.input_stat) and previous.get("input_sha256"):
        job.input_sha256 = previous["input_sha256"]
    else:
        job.input_sha256 = file_sha256(job.input)
    settings = settings_fingerprint(job.caption, file_hashes)
    job.fingerprint = hashlib.sha256(f"{job.input_sha256}:{settings}".encode()).hexdigest()


def is_done(job: Job, record: dict | None) -> bool:
    """The job succeeded before with the same input and settings, and all its outputs are still there."""
    return bool(
        record
        and record.get("status") == "ok"
        and record.get("fingerprint") == job.fingerprint
        and record.get("output") == job.output
        and all(p.is_file() for p in job.outputs())
    )


# -- running one job --------------------------------------------------------------------------------------------


def _write_json_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def log_event(job: Job, event: str, detail: str = "") -> None:
    """One line in the job's event log (appended, never rewritten): the audit trail of every attempt."""
    line = json.dumps({"time": round(time.time(), 3), "event": event, "host": socket.gethostname(), "pid": os.getpid(),
                       "detail": detail}, ensure_ascii=False)
    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(job.log_path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def remove_partial_outputs(job: Job) -> None:
    """Delete temporary files a killed attempt left beside the job's outputs (OutputSet's ``.stem.XXXXXXXX.partEXT``)."""
    for target in job.outputs():
        for tmp in target.parent.glob(f".{glob_escape(target.stem)}.{'?' * 8}.part{glob_escape(target.suffix)}"):
            try:
                tmp.unlink()
            except OSError:
                pass


def remove_empty_folders(folder: Path, top: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``top`` while they are empty."""
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def base_result(job: Job) -> dict:
    return {"input": job.input, "name": job.name, "output": job.output, "key": job.key, "status": "failed",
            "error": "", "duration": None, "language": None, "words": None, "low_confidence": None, "violations": None,
            "seconds": None, "thumbnail": None, "fingerprint": job.fingerprint, "input_sha256": job.input_sha256,
            "input_stat": list(job.input_stat)}


def failed_result(job: Job, error: str, seconds: float | None = None) -> dict:
    # The report has an input column: "/long/path/clip.mp4: empty file" reads better as "empty file".
    error = error.removeprefix(f"{job.input}: ")
    return {**base_result(job), "error": error, "seconds": None if seconds is None else round(seconds, 2)}


class JobRunner:
    """Runs jobs one after another in a worker, loading each model once and reusing it.

    ``threads`` is this worker's share of the cores: one single-threaded
    recogniser replica and an ffmpeg encode limited to the same number of threads,
    so that N workers on N cores do not fight over them.
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, threads)
        self._recognizers: dict[str, object] = {}

    def recognizer(self, model: str, backend: str = "faster-whisper", compute_type: str = "auto"):
        key = f"{backend}:{compute_type}:{model}"
        if key not in self._recognizers:
            from .recognize import _available_cores, make_recognizer

            if self.threads >= _available_cores():
                # The only worker: recognise long audio in parallel chunks, as ``captioner caption`` does.
                self._recognizers[key] = make_recognizer(backend, model, compute_type=compute_type)
            else:
                self._recognizers[key] = make_recognizer(backend, model, compute_type=compute_type, workers=1,
                                                         cpu_threads=self.threads)
        return self._recognizers[key]

    def _recognizer_for(self, kwargs: dict):
        return self.recognizer(kwargs.get("model", "base"), kwargs.get("backend", "faster-whisper"),
                               kwargs.get("compute_type", "auto"))

    def run(self, job: Job) -> dict:
        started = time.monotonic()
        try:
            record = read_record(job)
            if record and job.run and record.get("run") == job.run and is_done(job, record):
                # A retried task (its node died after the work was committed): never redo it into the same output.
                log_event(job, "already-done")
                return {**record, "status": "ok", "seconds": record.get("seconds")}
            log_event(job, "start")
            result = self._caption(job, record)
        except CaptionerError as exc:
            result = failed_result(job, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad clip must not stop the batch; the reason goes in the report
            result = failed_result(job, f"{type(exc).__name__}: {exc}")
        result["seconds"] = round(time.monotonic() - started, 2)
        result["run"] = job.run
        if result["status"] == "ok":
            _write_json_atomic(job.record_path, result)
            log_event(job, "commit")
        else:
            claim = read_record(job)
            if claim and claim.get("run") == job.run:  # this attempt claimed the outputs: say how it ended
                _write_json_atomic(job.record_path, result)
            log_event(job, "failed", result["error"])
            remove_empty_folders(Path(job.output).parent, Path(job.state_dir).parent)
        return result

    def _caption(self, job: Job, record: dict | None) -> dict:
        from .media import probe
        from .pipeline import caption

        if job.error:
            raise InputError(job.error)
        kwargs = dict(job.caption)
        supported = inspect.signature(caption).parameters
        for key, what in (("style", "a house-style file"), ("sign", "a sign-language video")):
            if key in kwargs and key not in supported:
                raise CaptionerError(f"this version of captioner cannot apply {what} ({key}) yet")
        info = probe(job.input)  # the reason a broken file fails, before any model loads
        if "encoder" in kwargs:
            kwargs["encoder"] = dataclasses.replace(kwargs["encoder"], threads=self.threads)
        remove_partial_outputs(job)
        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        # Our own earlier outputs (a changed setting, a deleted sidecar) are replaced; anything else needs --force.
        ours = bool(record and record.get("output") == job.output)
        if ours or job.force or not any(p.exists() for p in job.outputs()):
            # Claim the outputs before writing them: if this worker is killed between renaming them into
            # place and recording the result, a rerun still knows they are this batch's to replace.
            _write_json_atomic(job.record_path, {**base_result(job), "status": "running", "run": job.run})
        result = caption(info.path, job.output, force=job.force or ours, recognizer=self._recognizer_for(kwargs), **kwargs)
        if not result.cues:
            # A silent clip (or music only): the video was written with no captions, which a campaign
            # must not publish as "captioned".  Take it back and say why.
            for path in job.outputs():
                path.unlink(missing_ok=True)
            raise InputError("no speech was recognised (silent or music only); no captions to burn")
        low = result.transcript.low_confidence(LOW_CONFIDENCE)
        at = (result.cues[0].start + result.cues[0].end) / 2
        thumb = self._thumbnail(job, at)
        return {
            **base_result(job),
            "status": "ok",
            "duration": round(info.duration, 3),
            "language": result.transcript.language,
            "words": len(result.transcript.words),
            "low_confidence": len(low),
            "violations": len(result.violations),
            "thumbnail": str(thumb) if thumb else None,
            "thumbnail_at": round(at, 3),
        }

    def _thumbnail(self, job: Job, at: float) -> Path | None:
        """A small frame of the burned video at ``at`` seconds (the middle of the first caption), for the contact sheet."""
        from .burn import ffmpeg_exe

        target = job.thumb_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp.jpg")
        try:
            subprocess.run(
                [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", f"{at:.3f}", "-i",
                 f"file:{Path(job.output).resolve()}", "-frames:v", "1", "-vf", f"scale={THUMB_WIDTH}:-2", "-q:v", "4",
                 "-threads", str(self.threads), "-y", str(tmp)],
                check=True, capture_output=True, timeout=120,
            )
            os.replace(tmp, target)
            return target
        except (subprocess.SubprocessError, OSError):
            tmp.unlink(missing_ok=True)
            return None  # a missing picture on the contact sheet is not a failed caption


# -- the batch --------------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    results: list[dict]
    reports: dict[str, Path] = field(default_factory=dict)
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.results)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if r["status"] in ("failed", "interrupted")]


def run_batch(
    inputs: str | os.PathLike,
    out_dir: str | os.PathLike,
    caption: dict,
    *,
    engine=None,
    force: bool = False,
    show_progress: bool = True,
) -> BatchResult:
    """Caption every input of a folder or CSV manifest into ``out_dir``; write the reports; return every result.

    ``caption`` holds :func:`~captioner.pipeline.caption` keywords (lang, model,
    preset, cps, encoder, style...), the same for every clip; a manifest row's
    ``lang``, ``sign`` and ``output`` override them for that clip.  Inputs that
    succeeded before with the same content and settings, and whose outputs are
    all there, are skipped (``force`` redoes them).  ``engine`` is a
    :class:`~captioner.engines.LocalEngine` (default) or
    :class:`~captioner.engines.RayEngine`.
    """
    from datetime import datetime, timezone

    from .engines import LocalEngine
    from .media import check_input_file
    from .pipeline import _backend, _language
    from .progress import BatchProgress
    from .report import write_reports

    engine = engine or LocalEngine()
    started_at = datetime.now(timezone.utc)
    t0 = time.monotonic()
    # A bad --lang, --backend or --compute-type is bad usage, refused before anything runs.
    _language(caption.get("lang"))
    _backend(caption.get("backend", "faster-whisper"), caption.get("compute_type", "auto"))
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: output folder is not a folder")
    jobs = plan(inputs, out, caption, force=force)
    out.mkdir(parents=True, exist_ok=True)
    from .outputs import check_output_folder

    check_output_folder(out)
    run_id = secrets.token_hex(8)

    results: dict[str, dict] = {}
    file_hashes: dict[str, str] = {}
    to_run: list[Job] = []
    for job in jobs:
        job.run = run_id
        for key in ("style", "sign"):
            path = job.caption.get(key)
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
            results[job.key] = {**previous, "name": job.name, "status": "skipped", "error": ""}
        elif job.error:
            results[job.key] = failed_result(job, job.error)
        else:
            to_run.append(job)

    interrupted = False
    with BatchProgress(len(jobs), enabled=show_progress) as progress:
        for job in jobs:
            result = results.get(job.key)
            if result is not None:
                progress.update("skipped" if result["status"] == "skipped" else "failed", job.name, result["error"])

        def on_result(job: Job, result: dict) -> None:
            result["name"] = job.name
            results[job.key] = result
            progress.update("done" if result["status"] == "ok" else "failed", job.name, result.get("error", ""))

        try:
            engine.run(to_run, on_result)
        except KeyboardInterrupt:
            interrupted = True

    for job in jobs:
        if job.key not in results:
            record = read_record(job)
            if record and record.get("run") == run_id and record.get("status") == "ok":
                # Committed by its worker just as the batch was interrupted: it is done.
                results[job.key] = {**record, "name": job.name}
            else:
                results[job.key] = {**base_result(job), "name": job.name, "status": "interrupted",
                                    "error": "not finished: the batch was interrupted"}
    ordered = [results[job.key] for job in jobs]
    meta = {
        "inputs": str(Path(inputs).resolve()),
        "out_dir": str(out.resolve()),
        "engine": getattr(engine, "name", type(engine).__name__),
        "workers": getattr(engine, "workers", None),
        "captioner": __version__,
        "settings": _canonical(caption),
        "started": started_at.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 2),
    }
    reports = write_reports(out, ordered, meta)
    return BatchResult(ordered, reports, interrupted)
