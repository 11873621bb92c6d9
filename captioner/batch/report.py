"""A batch's report: ``report.json``, ``report.csv`` and ``report.html`` (a contact sheet) in the output folder."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter
from pathlib import Path

from ..media.outputs import write_atomic
from .schema import STATUSES, ClipResult

# The columns of report.csv, in order; report.json has the same keys per clip (and a summary).
COLUMNS = ("input", "output", "status", "error", "duration", "language", "words", "low_confidence", "violations",
           "seconds")


def summary(results: list[ClipResult]) -> dict:
    counts = Counter(r.status for r in results)
    return {"total": len(results), **{s: counts.get(s, 0) for s in STATUSES}}


def write_reports(out_dir: Path, results: list[ClipResult], meta: dict) -> dict[str, Path]:
    out_dir = Path(out_dir)
    clips = [{k: getattr(r, k) for k in COLUMNS} | {"name": r.name} for r in results]
    paths = {"json": out_dir / "report.json", "csv": out_dir / "report.csv", "html": out_dir / "report.html"}
    write_atomic(paths["json"], json.dumps({"summary": summary(results), **meta, "clips": clips}, ensure_ascii=False,
                                            indent=1) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for clip in clips:
        writer.writerow({k: "" if v is None else v for k, v in clip.items()})
    write_atomic(paths["csv"], buffer.getvalue())
    write_atomic(paths["html"], contact_sheet(results, meta))
    return paths


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
"""


def _thumbnail(result: ClipResult) -> str:
    # Embedded, so the sheet can be mailed or archived as one file.
    path = result.thumbnail
    if result.status in ("ok", "skipped") and path:
        try:
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            return f'<img alt="captioned frame" loading="lazy" src="data:image/jpeg;base64,{data}">'
        except OSError:
            pass
    return '<div class="none">no frame</div>'


def contact_sheet(results: list[ClipResult], meta: dict) -> str:
    counts = summary(results)
    cards = []
    for r in results:
        status = r.status
        details = []
        if r.language:
            details.append(f"{html.escape(str(r.language))}, {r.words} words")
        if r.low_confidence:
            details.append(f"{r.low_confidence} to review")
        if r.violations:
            details.append(f"{r.violations} rule notes")
        if r.duration is not None:
            details.append(f"{r.duration:.1f} s")
        cards.append(
            f'<div class="card {html.escape(status)}">{_thumbnail(r)}'
            f'<div class="name" title="{html.escape(r.input)}">{html.escape(r.name)}</div>'
            f'<div class="status">{html.escape(status)}</div>'
            + (f'<div class="err">{html.escape(r.error)}</div>' if r.error else "")
            + (f'<div class="meta">{" · ".join(details)}</div>' if details else "")
            + "</div>"
        )
    totals = " ".join(f"<span>{s}: <b>{counts[s]}</b></span>" for s in STATUSES if counts[s] or s != "interrupted")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>captioner batch: {html.escape(str(meta.get('inputs', '')))}</title><style>{_CSS}</style></head><body>"
        f"<h1>captioner batch — {counts['total']} clips</h1>"
        f'<p class="sum">{totals}</p>'
        f'<p class="meta">inputs {html.escape(str(meta.get("inputs", "")))} · engine {html.escape(str(meta.get("engine", "")))}'
        f' · finished {html.escape(str(meta.get("finished", "")))}</p>'
        f'<div class="grid">{"".join(cards)}</div></body></html>\n'
    )
