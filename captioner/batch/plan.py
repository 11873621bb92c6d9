"""Planning a batch: the inputs (a folder or a CSV manifest), and where each clip's outputs go.

Every input becomes a :class:`~captioner.batch.schema.Job` whose output path
mirrors the input's path under the output folder.  A batch writes under
OUT_DIR only: an output that resolves (symlinks included) anywhere else, into
OUT_DIR's state folder, over the batch's reports or over any job's input
(video, interpreter, style) makes its row fail here, before anything runs; an
OUT_DIR that is the input folder is refused.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..formats import sidecar_paths
from ..media.files import local_file
from ..settings import CaptionSettings
from .schema import Job, Row

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts", ".ts", ".wmv", ".flv",
                  ".mpg", ".mpeg"}
OUTPUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}
STATE_DIR = ".captioner"  # inside OUT_DIR: job records, event logs, contact-sheet frames
REPORT_STEM = "report"  # OUT_DIR/report.json, .csv, .html
MAX_ROWS = 100_000  # a manifest is a campaign's list of clips, not a dump: split a larger one
MAX_MANIFEST_BYTES = 100_000_000


def real(path: str | os.PathLike) -> Path:
    """``path`` absolute with every symlink that exists resolved (a symlink loop stays as it is, never raises)."""
    return Path(os.path.realpath(path))


def inside(path: str | os.PathLike, root: Path) -> bool:
    """Whether ``path``, symlinks resolved, is ``root`` (already resolved) or under it."""
    resolved = real(path)
    return resolved == root or root in resolved.parents


def find_videos(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Video files under ``folder`` by extension, sorted; hidden files and ``exclude`` (the output folder) skipped."""
    exclude = exclude.resolve() if exclude else None
    found = []
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (exclude is None or (root_path / d).resolve() != exclude))
        found += [root_path / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def read_manifest(manifest: Path) -> list[Row]:
    """A CSV with a ``path`` column and optional ``lang``, ``sign``, ``output`` and ``hotwords`` columns.

    Relative ``path`` and ``sign`` are relative to the manifest's folder, a relative
    ``output`` to the output folder; ``hotwords`` (names and terms said in that
    clip) replace ``--hotwords`` for the row.
    """
    local_file(manifest, "manifest", allow_empty=True, max_bytes=MAX_MANIFEST_BYTES)
    base = real(manifest).parent
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
                if len(rows) >= MAX_ROWS:
                    raise InputError(f"{manifest}: more than {MAX_ROWS} rows; split the campaign into several manifests")
                path = Path(raw["path"])
                # Normalised, so "../x.mp4" is the file it names and its name has no ".." to mirror.
                absolute = Path(os.path.normpath(path if path.is_absolute() else base / path))
                try:
                    name = str(absolute.relative_to(base))
                except ValueError:  # outside the manifest's folder: mirror its whole path
                    name = str(Path(*absolute.parts[1:]))
                sign = raw.get("sign")
                rows.append(Row(
                    path=absolute,
                    name=name,
                    lang=raw.get("lang") or None,
                    sign=Path(os.path.normpath(Path(sign) if Path(sign).is_absolute() else base / sign)) if sign else None,
                    output=Path(raw["output"]) if raw.get("output") else None,
                    line=line,
                    hotwords=raw.get("hotwords") or None,
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


def plan(inputs: str | os.PathLike, out_dir: str | os.PathLike, settings: CaptionSettings, *, force: bool = False) -> list[Job]:
    """Jobs for a folder (searched recursively) or a CSV manifest, outputs mirrored under ``out_dir``."""
    source = Path(inputs)
    out = real(out_dir)  # every containment check compares resolved paths
    if not source.exists():
        raise InputError(f"{source}: no such file or folder")
    if source.is_dir():
        if real(source) == out:
            raise InputError(f"{out_dir}: the output folder is the input folder (its outputs would be taken for "
                             "inputs); choose another --out")
        rows = [Row(path=Path(os.path.abspath(p)), name=str(p.relative_to(source))) for p in find_videos(source, out)]
        if not rows:
            raise InputError(f"{source}: no video files found ({', '.join(sorted(VIDEO_SUFFIXES))})")
    elif source.suffix.lower() == ".csv":
        rows = read_manifest(source)
    else:
        raise InputError(f"{source}: INPUTS must be a folder or a .csv manifest")
    if settings.style:
        style = Path(settings.style)
        if not style.is_file():
            raise InputError(f"{style}: style file not found")
        settings = replace(settings, style=str(real(style)))

    # Outputs: OUT/<relative folder>/<stem>.mp4 with sidecars <stem>.srt... beside it.  Two inputs whose
    # names differ only by extension (clip.mov, clip.mp4) would share sidecars, so those keep the extension.
    targets: dict[int, Path] = {}
    by_stem: dict[Path, list[int]] = {}
    for i, row in enumerate(rows):
        if row.output is not None:
            target = Path(os.path.normpath(row.output if row.output.is_absolute() else out / row.output))
            if target.suffix.lower() not in OUTPUT_SUFFIXES:
                raise InputError(f"line {row.line}: output {row.output} must end in .mp4, .m4v, .mov or .mkv")
        else:
            target = _output_for(row.name, out)
            if real(target.parent) == out and target.stem.lower() == REPORT_STEM:
                # report.mp4's sidecar report.json would be the batch's report: report.mp4.mp4 as for clip.mov
                target = out / f"{Path(row.name).name}.mp4"
        targets[i] = target
    # Every file any job reads: no output may land on one of them, whatever --force says.
    read_by_jobs = {real(row.path): row.name for row in rows}
    read_by_jobs.update({real(row.sign): f"the interpreter video of {row.name}" for row in rows if row.sign})
    if settings.style:
        read_by_jobs[real(settings.style)] = "the style file"
    folder = real(source) if source.is_dir() else None
    # A refused row fails alone; it takes no part in choosing the others' names.
    refused = {i: _refused_output(row, real(targets[i]), out, read_by_jobs, folder) for i, row in enumerate(rows)}
    for i in range(len(rows)):
        if not refused[i]:
            by_stem.setdefault(real(targets[i].with_suffix("")), []).append(i)
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
        if refused[i]:
            continue
        key = real(target.with_suffix(""))
        if key in seen:  # e.g. a.mp4 beside a folder-mirrored a.mp4.mp4: vanishingly rare, but never overwrite
            raise InputError(f"{rows[i].name} and {seen[key]} would be written to the same output {target}")
        seen[key] = rows[i].name

    state = out / STATE_DIR
    jobs = []
    for i, row in enumerate(rows):
        target = real(targets[i])
        clip_settings = settings
        if row.lang:
            clip_settings = replace(clip_settings, lang=row.lang)
        error = refused[i] or _refused_output(row, target, out, read_by_jobs, folder)
        if row.hotwords:
            try:  # checked as --hotwords is (text, length); a bad cell fails its row alone
                clip_settings = replace(clip_settings, hotwords=row.hotwords)
            except InputError as exc:
                error = error or f"line {row.line}: {exc}"
        if row.sign is not None:
            if not error:
                try:
                    local_file(row.sign, "sign video")
                except InputError as exc:
                    error = str(exc)
            clip_settings = replace(clip_settings, sign=str(real(row.sign)))
        rel = os.path.relpath(target, out)
        # A refused row's output may be any other's (or outside): its key must still be its own.
        unique = f"{rel}\0refused row {i}" if error else rel
        # surrogateescape: a file name need not be UTF-8 (Linux names are bytes); its key is still stable.
        key = f"{hashlib.sha1(unique.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}-{_safe(Path(rel).stem)}"
        jobs.append(Job(input=str(row.path), name=row.name, output=str(target), key=key, state_dir=str(state),
                        settings=clip_settings, error=error, force=force))
    return jobs


def _refused_output(row: Row, target: Path, out: Path, read_by_jobs: dict[Path, str], folder: Path | None) -> str:
    """Why this row's outputs may not be written where they would go, or "" when they may."""
    shown = row.output if row.output is not None else target
    if not inside(target, out):
        return f"output {shown} is outside the output folder {out}"
    if inside(target, out / STATE_DIR):
        return f"output {shown} is inside the batch's state folder {out / STATE_DIR}"
    if real(target.parent) == out and target.stem.lower() == REPORT_STEM:
        return f"output {shown} would share its name with the batch's report (report.json, .csv, .html)"
    for path in [target, *sidecar_paths(target).values()]:
        other = read_by_jobs.get(real(path))
        if other is not None:
            return f"output {path} would overwrite an input ({other})"
    if inside(row.path, out / STATE_DIR):
        return f"the input is inside the batch's state folder {out / STATE_DIR}"
    if folder is not None and inside(target, folder) and not inside(out, folder):
        # OUT_DIR above the input folder: this output would be found among the inputs by the next run.
        return f"output {shown} would land inside the input folder {folder}, where a rerun would take it for an input"
    return ""
