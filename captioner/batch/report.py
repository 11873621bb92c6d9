"""A batch's report: ``report.json``, ``report.csv`` and ``report.html`` (a contact sheet) in the output folder.

Nothing here trusts what it is given: names, errors, transcripts and languages come from strangers' file names and
from records on disk that anyone with access to OUT_DIR could have edited.  Every value put into HTML is escaped
(and the page allows no script); a contact sheet embeds only JPEGs this batch wrote, at the path it wrote them to
(under ``OUT_DIR/.captioner/thumbs``, symlinks resolved); a CSV cell that a spreadsheet would run as a formula
(``= + - @``) is prefixed with ``'``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import stat
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from ..errors import readable
from ..formats import sidecar_paths
from ..media.outputs import write_atomic
from .schema import NEEDS_REVIEW, STATUSES, ClipResult

# The columns of report.csv, in order; report.json has the same keys per clip (and a summary).
COLUMNS = ("input", "output", "status", "review", "error", "duration", "language", "words", "flagged", "not_burned",
           "confident", "low_confidence", "violations", "seconds", "transcript")
# Links to a captioned clip's outputs, relative to the report (OUT_DIR): the video and each sidecar.
LINKS = ("video", "srt", "vtt", "ass", "json")


def summary(results: list[ClipResult]) -> dict:
    counts = Counter(r.status for r in results)
    return {"total": len(results), **{s: counts.get(s, 0) for s in STATUSES},
            "needs_review": sum(r.review == NEEDS_REVIEW for r in results)}


def links(result: ClipResult, out_dir: Path) -> dict[str, str]:
    """The clip's outputs as paths relative to ``out_dir`` (empty for a clip that has none)."""
    if result.status not in ("ok", "skipped"):
        return {name: "" for name in LINKS}
    video = Path(result.output)
    paths = {"video": video} | {ext.lstrip("."): path for ext, path in sidecar_paths(video).items()}
    return {name: Path(os.path.relpath(paths[name], out_dir)).as_posix() for name in LINKS}


def write_reports(out_dir: Path, results: list[ClipResult], meta: dict) -> dict[str, Path]:
    out_dir = Path(out_dir)
    clips = [_readable({k: getattr(r, k) for k in COLUMNS} | links(r, out_dir)
                       | {"name": r.name, "flagged_words": r.flagged_words}) for r in results]
    meta = _readable(meta)
    paths = {"json": out_dir / "report.json", "csv": out_dir / "report.csv", "html": out_dir / "report.html"}
    write_atomic(paths["json"], json.dumps({"summary": summary(results), **meta, "clips": clips}, ensure_ascii=False,
                                            indent=1) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS + LINKS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for clip in clips:
        writer.writerow({k: "" if v is None else csv_cell(v) for k, v in clip.items()})
    write_atomic(paths["csv"], buffer.getvalue())
    write_atomic(paths["html"], contact_sheet(results, meta, out_dir))
    return paths


def _readable(value):
    """Values as text a report can hold: bytes of a file name that are not UTF-8 shown as ``\\xff``."""
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    return value


def csv_cell(value):
    """A value as a spreadsheet shows it, never runs it: text that opens with = + - @ (or a tab or CR) gets a ``'``."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#f6f6f6;color:#222}
h1{font-size:1.3em}.sum span{margin-right:1.2em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.card{background:#fff;border-radius:6px;padding:8px;box-shadow:0 1px 3px #0002;border-top:5px solid #999}
.card.ok{border-color:#2e7d32}.card.skipped{border-color:#1565c0}.card.failed,.card.interrupted{border-color:#c62828}
.card img{width:100%;border-radius:3px;display:block}
.none{aspect-ratio:9/16;background:#ddd;display:flex;align-items:center;justify-content:center;color:#666;border-radius:3px}
.name{font-weight:600;word-break:break-all;margin-top:6px}.status{text-transform:uppercase;font-size:.8em;font-weight:700}
.ok .status{color:#2e7d32}.skipped .status{color:#1565c0}.failed .status,.interrupted .status{color:#c62828}
.err{color:#c62828;font-size:.85em;word-break:break-word}.meta{color:#555;font-size:.85em}
.card.review{border-color:#ef6c00}.review .status{color:#ef6c00}.sum .review{color:#ef6c00}
.flags{font-size:.85em;margin-top:4px}.flags mark{background:#ffe0b2;padding:0 2px;border-radius:2px}
details{font-size:.85em;margin-top:4px}summary{cursor:pointer;color:#555}.links{font-size:.85em;margin-top:4px}
"""
# Flagged words shown on a card (the JSON sidecar, linked from it, has them all).
CARD_FLAGS = 12


THUMB_FOLDER = (".captioner", "thumbs")
MAX_THUMB_BYTES = 2_000_000  # a 240 px wide JPEG is a few kB


def thumbnail_bytes(result: ClipResult, out_dir: Path | None) -> bytes | None:
    """The JPEG this batch wrote for the clip, or None: never a file a record merely names.

    Only the clip's own thumbnail path (``OUT/.captioner/thumbs/KEY.jpg``),
    resolved inside that folder, a regular file (not a link), small, that
    starts as a JPEG does.
    """
    if out_dir is None or result.status not in ("ok", "skipped") or not result.thumbnail:
        return None
    folder = Path(os.path.realpath(Path(out_dir).joinpath(*THUMB_FOLDER)))
    expected = folder / f"{result.key}.jpg"
    claimed = Path(os.path.realpath(result.thumbnail))
    if claimed != expected or expected.parent != folder or "/" in result.key or result.key.startswith("."):
        return None
    try:
        fd = os.open(expected, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_THUMB_BYTES:
            return None
        data = fh.read(MAX_THUMB_BYTES + 1)
    if len(data) > MAX_THUMB_BYTES or not data.startswith(b"\xff\xd8\xff"):
        return None
    return data


def _thumbnail(result: ClipResult, out_dir: Path | None) -> str:
    # Embedded, so the sheet can be mailed or archived as one file.
    data = thumbnail_bytes(result, out_dir)
    if data is None:
        return '<div class="none">no frame</div>'
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="captioned frame" loading="lazy" src="data:image/jpeg;base64,{encoded}">'


def _e(value) -> str:
    """Any value as HTML text (attribute-safe)."""
    return html.escape(readable(str(value)), quote=True)


def _order(result: ClipResult) -> int:
    """Cards needing review first, then failed and interrupted clips, then the rest (input order within each)."""
    if result.review == NEEDS_REVIEW:
        return 0
    return 1 if result.status in ("failed", "interrupted") else 2


def _review_details(r: ClipResult, out_dir: Path) -> str:
    """A captioned clip's flagged words, its transcript and links to its outputs (every text escaped)."""
    parts = []
    if r.flagged_words:
        marked = " ".join(f"<mark>{_e(w)}</mark>" for w in r.flagged_words[:CARD_FLAGS])
        more = f" … +{len(r.flagged_words) - CARD_FLAGS}" if len(r.flagged_words) > CARD_FLAGS else ""
        parts.append(f'<div class="flags" dir="auto">to check: {marked}{more}</div>')
    if r.transcript:
        parts.append(f'<details><summary>transcript</summary><p dir="auto">{_e(r.transcript)}</p></details>')
    refs = links(r, out_dir)
    if refs["video"]:
        # Percent-encoded relative paths inside OUT_DIR: a name such as "javascript:x.mp4" stays a file name.
        anchors = [f'<a href="{_e(quote(readable(refs[name])))}">{"video" if name == "video" else "." + name}</a>'
                   for name in LINKS]
        parts.append(f'<div class="links">{" · ".join(anchors)}</div>')
    return "".join(parts)


def contact_sheet(results: list[ClipResult], meta: dict, out_dir: Path | None = None) -> str:
    counts = summary(results)
    out_dir = Path(out_dir if out_dir is not None else meta.get("out_dir", "."))
    cards = []
    for r in sorted(results, key=_order):
        status = r.status if r.status in STATUSES else "failed"  # the status is also a CSS class
        shown = NEEDS_REVIEW if r.review == NEEDS_REVIEW else status
        details = []
        if r.language:
            details.append(f"{_e(r.language)}, {_e(r.words)} words")
        if r.flagged is not None and r.status in ("ok", "skipped"):
            details.append(f"{_e(r.flagged)} flagged")
        elif r.low_confidence:
            details.append(f"{_e(r.low_confidence)} to review")
        if r.not_burned:
            details.append(f"{_e(r.not_burned)} not burned (no speech)")
        if isinstance(r.confident, (int, float)) and r.status in ("ok", "skipped"):
            details.append(f"{r.confident:.0%} confident")
        if r.violations:
            details.append(f"{_e(r.violations)} rule notes")
        if isinstance(r.duration, (int, float)):
            details.append(f"{r.duration:.1f} s")
        classes = status + (" review" if shown == NEEDS_REVIEW else "")
        cards.append(
            f'<div class="card {classes}">{_thumbnail(r, out_dir)}'
            f'<div class="name" title="{_e(r.input)}">{_e(r.name)}</div>'
            f'<div class="status">{_e(shown)}</div>'
            + (f'<div class="err">{_e(r.error)}</div>' if r.error else "")
            + (f'<div class="meta">{" · ".join(details)}</div>' if details else "")
            + _review_details(r, out_dir)
            + "</div>"
        )
    totals = " ".join(f"<span>{s}: <b>{counts[s]}</b></span>" for s in STATUSES if counts[s] or s != "interrupted")
    totals += f' <span class="review">needs review: <b>{counts["needs_review"]}</b></span>'
    # No script, no remote resource: the sheet says so to the browser too.
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        f"<title>captioner batch: {_e(meta.get('inputs', ''))}</title><style>{_CSS}</style></head><body>"
        f"<h1>captioner batch — {_e(counts['total'])} clips</h1>"
        f'<p class="sum">{totals}</p>'
        f'<p class="meta">inputs {_e(meta.get("inputs", ""))} · engine {_e(meta.get("engine", ""))}'
        f' · finished {_e(meta.get("finished", ""))}</p>'
        f'<div class="grid">{"".join(cards)}</div></body></html>\n'
    )
