"""Planning a batch: the inputs (a folder or a CSV manifest), and where each clip's outputs go.

Every input becomes a :class:`~captioner.batch.schema.Job` whose output path
mirrors the input's path under the output folder.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..settings import CaptionSettings
from .schema import Job, Row

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts", ".ts", ".wmv", ".flv",
                  ".mpg", ".mpeg"}
OUTPUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}
STATE_DIR = ".captioner"  # inside OUT_DIR: job records, event logs, contact-sheet frames


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


def plan(inputs: str | os.PathLike, out_dir: str | os.PathLike, settings: CaptionSettings, *, force: bool = False) -> list[Job]:
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
    if settings.style:
        style = Path(settings.style)
        if not style.is_file():
            raise InputError(f"{style}: style file not found")
        settings = replace(settings, style=str(style.resolve()))

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
        clip_settings = settings
        if row.lang:
            clip_settings = replace(clip_settings, lang=row.lang)
        error = ""
        if row.sign is not None:
            if not row.sign.is_file():
                error = f"sign video {row.sign}: no such file"
            clip_settings = replace(clip_settings, sign=str(row.sign.resolve()))
        rel = os.path.relpath(target, out)
        key = f"{hashlib.sha1(rel.encode('utf-8')).hexdigest()[:12]}-{_safe(Path(rel).stem)}"
        jobs.append(Job(input=str(row.path.resolve()), name=row.name, output=str(target), key=key, state_dir=str(state),
                        settings=clip_settings, error=error, force=force))
    return jobs
