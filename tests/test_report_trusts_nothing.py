"""The batch report trusts nothing it reads back: every value escaped, only its own JPEGs embedded.

Names and errors come from strangers' file names; records in ``OUT/.captioner``
can be edited by anyone with access to OUT_DIR.  A tampered record must not put
markup or script into report.html, nor embed a file that is not a thumbnail this
batch wrote; report.csv must not hand a spreadsheet a formula.
"""

from __future__ import annotations

import base64
import csv
import html.parser
import json
from pathlib import Path

import pytest

from batchclips import speech_clip
from conftest import run_cli

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


class Elements(html.parser.HTMLParser):
    """The element names and attributes a browser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(text: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(text)
    return parser.tags


def allowed_markup(text: str) -> None:
    tags = {"html", "head", "meta", "title", "style", "body", "h1", "p", "span", "b", "div", "img", "mark", "details",
            "summary", "a"}
    for tag, attrs in elements(text):
        assert tag in tags, tag
        assert not any(name.startswith("on") for name in attrs), attrs
        if tag == "img":
            assert attrs["src"].startswith("data:image/jpeg;base64,")
        if tag == "a":  # a relative link to an output, never a scheme (javascript:, file:, http:)
            assert ":" not in attrs["href"] and not attrs["href"].startswith(("/", "\\")), attrs


def result(**values):
    from captioner.batch.schema import ClipResult

    base = dict(input="/in/x.mp4", name="x.mp4", output="/out/x.mp4", key="0123456789ab-x", status="ok")
    return ClipResult(**{**base, **values})


def test_every_value_is_escaped():
    from captioner.batch.report import contact_sheet

    results = [
        result(name=HOSTILE, input=HOSTILE, error=HOSTILE, language=HOSTILE, status="failed"),
        result(name="ok.mp4", language="ar", words=3, duration=1.5, low_confidence=1, violations=2),
        result(name="x.mp4", output="/out/javascript:alert(3).mp4", flagged_words=[HOSTILE], transcript=HOSTILE,
               flagged=1),
    ]
    sheet = contact_sheet(results, {"inputs": HOSTILE, "engine": HOSTILE, "finished": HOSTILE})
    allowed_markup(sheet)
    assert "<script" not in sheet and "onerror=" not in sheet.replace("onerror=alert(2)&gt;", "")
    assert "Content-Security-Policy" in sheet


def test_only_this_batchs_own_jpegs_are_embedded(tmp_path):
    from captioner.batch.report import contact_sheet

    out = tmp_path / "out"
    thumbs = out / ".captioner" / "thumbs"
    thumbs.mkdir(parents=True)
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    (thumbs / "0123456789ab-good.jpg").write_bytes(jpeg)
    (thumbs / "0123456789ab-png.jpg").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff" + b"SECRET")
    (thumbs / "0123456789ab-link.jpg").symlink_to(secret)
    (thumbs / "0123456789ab-big.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 3_000_000)
    cases = {
        "good": (str(thumbs / "0123456789ab-good.jpg"), True),
        "png": (str(thumbs / "0123456789ab-png.jpg"), False),
        "link": (str(thumbs / "0123456789ab-link.jpg"), False),
        "big": (str(thumbs / "0123456789ab-big.jpg"), False),
        "other-key": (str(thumbs / "0123456789ab-good.jpg"), False),  # another clip's frame
        "outside": (str(secret), False),
        "passwd": ("/etc/passwd", False),
        "dotdot": (str(thumbs / ".." / ".." / ".." / "secret.jpg"), False),
    }
    for name, (path, shown) in cases.items():
        key = "0123456789ab-" + ("good" if name == "good" else name)
        sheet = contact_sheet([result(key=key, thumbnail=path)], {}, out)
        assert ("data:image/jpeg;base64," in sheet) == shown, name
        if shown:
            assert base64.b64encode(jpeg).decode() in sheet
        assert base64.b64encode(b"\xff\xd8\xffSECRET").decode() not in sheet


def test_csv_cells_are_never_formulas(tmp_path):
    from captioner.batch.report import write_reports

    names = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "ok.mp4"]
    results = [result(name=n, input="/in/" + n if n[0] != "=" else n, error=n, status="failed") for n in names]
    paths = write_reports(tmp_path, results, {})
    with open(paths["csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for column in ("input", "error"):
            assert row[column][:1] not in ("=", "+", "-", "@", "\t"), row
    assert rows[0]["input"] == "'=cmd|' /C calc'!A0" and rows[-1]["error"] == "ok.mp4"
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["clips"][0]["name"] == names[0]  # JSON keeps the value as it is


@pytest.fixture(scope="module")
def captioned(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("report")
    inputs = root / "in"
    speech_clip(inputs / "clip.mp4", 2, duration=3.0)
    out = root / "out"
    result = run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
    assert result.returncode == 0, result.stderr
    return inputs, out


def test_a_tampered_record_cannot_embed_a_file_or_a_script(captioned, tmp_path):
    inputs, out = captioned
    record_path = next((out / ".captioner" / "jobs").glob("*.json"))
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff" + b"SECRET")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record.update(language=HOSTILE, thumbnail=str(secret), input=HOSTILE, name=HOSTILE, transcript=HOSTILE,
                  flagged_words=[HOSTILE])
    record_path.write_text(json.dumps(record), encoding="utf-8")
    result = run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
    assert result.returncode == 0, result.stderr
    sheet = (out / "report.html").read_text(encoding="utf-8")
    allowed_markup(sheet)
    assert "<script" not in sheet
    assert base64.b64encode(b"\xff\xd8\xffSECRET").decode() not in sheet
    clip = json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"][0]
    assert clip["status"] == "skipped" and clip["input"] == str(inputs / "clip.mp4")  # the plan's, not the record's
    # The clip's own thumbnail is shown when the record points at it.
    record["thumbnail"] = str(out.resolve() / ".captioner" / "thumbs" / f"{record['key']}.jpg")
    record_path.write_text(json.dumps(record), encoding="utf-8")
    run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
    assert "data:image/jpeg;base64," in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("junk", ["[" * 100_000, "{" + " " * 2_000_000 + "}", "\x00garbage"],
                         ids=["nested", "huge", "binary"])
def test_a_record_that_is_not_one_is_ignored(captioned, junk):
    """Nested, huge or not JSON: not a record, so the outputs are not known to be this batch's (--force redoes)."""
    inputs, out = captioned
    record_path = next((out / ".captioner" / "jobs").glob("*.json"))
    good = record_path.read_text(encoding="utf-8")
    try:
        record_path.write_text(junk, encoding="utf-8")
        result = run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
        assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
        clip = json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"][0]
        assert clip["status"] == "failed" and "already exists" in clip["error"], clip
    finally:
        record_path.write_text(good, encoding="utf-8")
