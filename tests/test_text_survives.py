"""Text that must survive: what a creator typed is what is read and what is burned.

WebVTT entities are decoded, braces in SRT text stay text, a backslash is
drawn as a backslash (not a line break), a JSON ``lines`` that is not a list of
strings is one line (exit 2).  The subtitle and manifest readers are fuzzed:
whatever the bytes, a reader returns cues (rows) or raises InputError, never
anything else, and text written as the format says comes back as written.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ocr
from conftest import make_video, run_cli

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load(tmp_path: Path, name: str, text: str | bytes):
    from captioner.formats import load_cues

    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return load_cues(path)


def test_vtt_entities_are_decoded(tmp_path):
    cues = load(tmp_path, "a.vtt", "WEBVTT\n\nNOTE not text\n\nid\n00:00.000 --> 00:01.000 align:start\n"
                "&lt;b&gt; &amp; &quot;x&quot; &#1576;&#x628; <c.red>red</c> <v Bob>hi</v>\n")
    assert cues[0].lines == ('<b> & "x" بب red hi',)
    cues = load(tmp_path, "b.vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\n&lrm;مرحبا &rlm;TikTok&nbsp;!\n")
    assert cues[0].lines == ("مرحبا TikTok!",)  # decoded, then normalised: marks removed, no space before "!"


def test_braces_backslashes_and_numbers_in_srt_stay_text(tmp_path):
    cues = load(tmp_path, "a.srt", "1\n00:00:00,000 --> 00:00:01,000\nWe are {live} at C:\\new\\Notes \\N\n"
                "{\\an8}<i>top</i>\n\n2\n00:00:01,000 --> 00:00:02,000\nThe year is\n2024\n")
    assert cues[0].lines == ("We are {live} at C:\\new\\Notes \\N", "top")  # {\an8} is a position tag
    assert cues[1].lines == ("The year is", "2024")  # a last line that is a number is text


@pytest.mark.parametrize("lines, words", [
    ('"a string"', "must be a list"),
    ("[1, 2]", "list of strings"),
    ('[["nested"]]', "list of strings"),
    ("null", "must be a list"),
    ('{"a": 1}', "must be a list"),
])
def test_json_lines_must_be_a_list_of_strings(tmp_path, lines, words):
    (tmp_path / "c.json").write_text('{"cues": [{"start": 0, "end": 1, "lines": %s}]}' % lines)
    result = run_cli("lint", "c.json", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr


def test_control_characters_never_reach_a_line(tmp_path):
    doc = {"cues": [{"start": 0, "end": 1, "lines": ["a\x00b\x1b[31mc\nDialogue: 0,0:00:00.00,9:00:00.00,X,,0,0,0,,x"]}]}
    cues = load(tmp_path, "c.json", json.dumps(doc))
    assert cues[0].lines == ("ab[31mc Dialogue: 0,0:00:00.00,9:00:00.00,X,,0,0,0,,x",)
    from captioner.render.ass_script import burn_script
    from captioner.styles.presets import get_preset
    from captioner.styles.style import CaptionStyle
    from captioner.cues import Cue

    # Even a Cue made in Python with a line break in it is one line of the script libass reads.
    style = CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)
    script = burn_script([Cue(0, 1, ("a\nDialogue: 0,0:00:00.00,0:00:05.00,Caption,,0,0,0,,INJECTED",))], style)
    text = script.to_string("ass")
    assert sum(line.startswith("Dialogue:") for line in text.splitlines()) == 2  # one box, one line: no third


def test_libass_draws_backslashes_and_braces(tmp_path):
    """Burned and read back: a backslash before N stays a backslash (one line), braces are drawn."""
    from captioner import Cue, burn

    ocr.require_tesseract()
    clip = make_video(tmp_path / "clip.mp4", duration=1.0, size=(1080, 1920), background="color=c=gray")
    text = "C:\\Notes {live} \\N x\\{y}"
    burn(clip, [Cue(0.0, 1.0, (text,))], tmp_path / "out.mp4", force=True, preset="generic")
    frame = ocr.extract_frames(tmp_path / "out.mp4", [0.5])[0]
    grey = np.asarray(frame.convert("L"), dtype=float)
    rows = np.flatnonzero((grey < 40).mean(axis=1) > 0.2)  # the black caption box
    box_rows = rows.max() - rows.min()
    assert box_rows < 140, box_rows  # one line (84 px pitch at 1080 wide), not two
    reading = ocr.ocr_line(frame.crop((0, rows.min(), 1080, rows.max())), lang="eng")
    compact = reading.replace(" ", "")
    assert "{live}" in compact and "\\N" in compact, reading


# --- fuzzing ---------------------------------------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
TIME = st.integers(min_value=0, max_value=3 * 3600 * 1000)
CAPTION = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff"),
                  min_size=1, max_size=40)


@FUZZ
@given(data=st.one_of(ANY_TEXT, st.binary(max_size=400)), suffix=st.sampled_from([".srt", ".vtt", ".ass", ".json"]))
def test_any_bytes_are_cues_or_one_input_error(tmp_path, data, suffix):
    from captioner.errors import InputError

    try:
        cues = load(tmp_path, "x" + suffix, data)
    except InputError as exc:
        assert str(exc).strip()
        return
    for cue in cues:
        assert 0 <= cue.start < cue.end <= 86_400 and cue.lines
        assert all(isinstance(line, str) and line and "\n" not in line for line in cue.lines)


def _timestamp(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _expected(line: str) -> str:
    from captioner.text.arabic import normalise_line

    return normalise_line(line)


def _srt_safe(line: str) -> bool:
    # Text SRT cannot carry as text: a tag (<i>...), a position tag {\...}, or a line that reads as a timing line.
    import re

    return not re.search(r"< */? *[a-zA-Z][^>]*>|\{\\[^}]*\}|\d+:\d+:\d+[.,]\d+", line) and line.strip() != ""


@FUZZ
@given(cues=st.lists(st.tuples(TIME, st.integers(1, 10_000), st.lists(CAPTION, min_size=1, max_size=3)),
                     min_size=1, max_size=6))
def test_srt_text_comes_back_as_written(tmp_path, cues):
    blocks, expected = [], []
    for k, (start, length, lines) in enumerate(cues, start=1):
        lines = [line for line in lines if _srt_safe(line)]
        if not lines:
            continue
        blocks.append(f"{k}\n{_timestamp(start, ',')} --> {_timestamp(start + length, ',')}\n" + "\n".join(lines))
        expected.append((start, tuple(filter(None, map(_expected, lines)))))
    if not any(lines for _, lines in expected):
        return
    got = load(tmp_path, "x.srt", "\n\n".join(blocks) + "\n")
    assert sorted(c.lines for c in got) == sorted(lines for _, lines in expected if lines)


@FUZZ
@given(cues=st.lists(st.tuples(TIME, st.integers(1, 10_000), st.lists(CAPTION, min_size=1, max_size=3)),
                     min_size=1, max_size=6))
def test_vtt_text_comes_back_as_written(tmp_path, cues):
    """Escaped as WebVTT says (& < >), any text, braces, backslashes and entities alike, reads back as written."""
    blocks, expected = ["WEBVTT"], []
    for start, length, lines in cues:
        lines = [line for line in lines if line.strip() and "-->" not in line]
        if not lines:
            continue
        escaped = [html.escape(line, quote=False) for line in lines]
        blocks.append(f"{_timestamp(start, '.')} --> {_timestamp(start + length, '.')}\n" + "\n".join(escaped))
        expected.append(tuple(filter(None, map(_expected, lines))))
    if not any(expected):
        return
    got = load(tmp_path, "x.vtt", "\n\n".join(blocks) + "\n")
    assert sorted(c.lines for c in got) == sorted(e for e in expected if e)


ROW_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@FUZZ
@given(rows=st.lists(st.fixed_dictionaries({"path": ROW_TEXT, "output": ROW_TEXT, "lang": ROW_TEXT,
                                            "sign": ROW_TEXT}), max_size=8),
       raw=st.one_of(st.none(), st.binary(max_size=300)))
def test_manifests_are_rows_or_one_input_error_and_never_write_outside_out(tmp_path, rows, raw):
    """Any manifest: planning gives jobs whose outputs are all inside OUT_DIR (or whose row failed), or one error."""
    from captioner.batch.plan import plan
    from captioner.errors import InputError
    from captioner.settings import CaptionSettings

    manifest = tmp_path / "m.csv"
    if raw is not None:
        manifest.write_bytes(raw)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["path", "output", "lang", "sign"])
        writer.writeheader()
        writer.writerows(rows)
        manifest.write_text(buffer.getvalue(), encoding="utf-8")
    out = tmp_path / "out"
    try:
        jobs = plan(manifest, out, CaptionSettings(lang="ar"), force=True)
    except InputError:
        return
    root = out.resolve()
    for job in jobs:
        assert job.error or Path(job.output).resolve().is_relative_to(root), (job.output, job.error)
        assert not Path(job.output).resolve().is_relative_to(root / ".captioner") or job.error
