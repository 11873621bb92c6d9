"""``captioner batch`` on a small campaign: broken files fail alone, reruns resume, reports say what happened."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ocr

from batchclips import broken_clips, commits_by_output, events, partial_files, speech_clip
from conftest import interruptible, run_ffmpeg, run_cli

SUFFIXES = (".mp4", ".srt", ".vtt", ".ass", ".json")


def outputs_of(out: Path) -> dict[str, tuple[int, int]]:
    """Every output file (not the reports, not the state folder) with its inode and mtime."""
    return {
        str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in out.rglob("*")
        if p.is_file() and ".captioner" not in p.parts and not p.name.startswith("report.")
    }


def report(out: Path) -> dict[str, dict]:
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {clip["name"]: clip for clip in data["clips"]}


GOOD = ["a/intro.mp4", "b/intro.mp4", "c/outro.mp4", "d.mp4", "e.mp4", "f/g/deep.mp4", "h.mov"]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """12 inputs: 7 with speech (two named intro.mp4 in different folders, one .mov) and 5 broken."""
    folder = tmp_path_factory.mktemp("campaign") / "inputs"
    for i, name in enumerate(GOOD):
        speech_clip(folder / name, i)
    broken = broken_clips(folder)
    (folder / "readme.txt").write_text("not a video, not an input\n")
    return folder, broken


@pytest.fixture(scope="module")
def first_run(campaign, tmp_path_factory):
    folder, _ = campaign
    out = tmp_path_factory.mktemp("batch") / "captioned"
    result = run_cli("batch", str(folder), "--out", str(out), "--workers", "2")
    return out, result


def test_batch_captions_good_clips_and_fails_broken_ones_alone(campaign, first_run):
    folder, broken = campaign
    out, result = first_run
    assert result.returncode == 1, result.stderr  # some failed
    assert "Traceback" not in result.stderr
    clips = report(out)
    assert sorted(clips) == sorted(GOOD + list(broken))  # readme.txt is not an input
    for name in GOOD:
        clip = clips[name]
        assert clip["status"] == "ok", clip
        assert clip["language"] == "ar" and clip["words"] > 0
        stem = out / Path(name).with_suffix("")
        for suffix in SUFFIXES:  # mirrored path, every sidecar beside the video
            assert stem.with_suffix(suffix).is_file(), stem.with_suffix(suffix)
        assert clip["output"] == str(stem.with_suffix(".mp4"))
    # Two intro.mp4 in different folders did not collide: different captions, from different speech.
    assert (out / "a/intro.srt").read_text() != (out / "b/intro.srt").read_text()
    for name, reason in broken.items():
        clip = clips[name]
        assert clip["status"] == "failed" and reason in clip["error"], clip
        assert f"failed: {name}: " in result.stderr
        assert not any((out / name).with_suffix(s).exists() for s in SUFFIXES)  # nothing half-made
    assert not partial_files(out)
    # CSV report: the same clips and statuses, the documented columns.
    with open(out / "report.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["input", "output", "status", "review", "error", "duration", "language", "words",
                             "flagged", "not_burned", "confident", "low_confidence", "violations", "seconds",
                             "transcript", "video", "srt", "vtt", "ass", "json"]
    assert {r["input"]: r["status"] for r in rows} == {str(folder / n): c["status"] for n, c in clips.items()}
    # Review: every captioned clip says whether it needs review, with its flagged count, transcript and links.
    for row in rows:
        name = str(Path(row["input"]).relative_to(folder))
        if name in GOOD:
            assert row["review"] in ("needs review", "ok") and row["transcript"] and int(row["flagged"]) >= 0
            assert (row["review"] == "needs review") == (int(row["flagged"]) + int(row["not_burned"]) > 0
                                                        or float(row["confident"]) < 0.8)
            assert all((out / row[k]).is_file() for k in ("video", "srt", "vtt", "ass", "json"))
            assert Path(row["video"]) == Path(name).with_suffix(".mp4")
        else:
            assert row["review"] == "" and row["video"] == ""
    # Contact sheet: one card per clip, a burned frame for each captioned one.
    sheet = (out / "report.html").read_text(encoding="utf-8")
    assert sheet.count('class="card ') == 12
    needing = [n for n, c in clips.items() if c["review"] == "needs review"]
    assert sheet.count('class="status">needs review<') == len(needing)
    shown = re.findall(r'class="status">([^<]*)<', sheet)
    assert shown == sorted(shown, key=lambda s: (s != "needs review", s != "failed"))  # needing review first
    assert sheet.count("data:image/jpeg;base64,") == len(GOOD)
    assert "12 clips: 7 ok, 5 failed" in result.stderr


def test_contact_sheet_frames_show_burned_captions(campaign, first_run, tmp_path):
    import numpy as np
    from PIL import Image

    from conftest import run_ffmpeg

    folder, _ = campaign
    out, _ = first_run
    records = [json.loads(p.read_text()) for p in (out / ".captioner" / "jobs").glob("*.json")]
    records = [r for r in records if r["status"] == "ok"]
    assert sorted(r["name"] for r in records) == sorted(GOOD)
    for record in records:
        name = record["name"]
        burned = np.asarray(Image.open(record["thumbnail"]).convert("L"), dtype=float)
        assert burned.shape[1] == 240
        # The same moment of the input, unburned: only where captions sit may they differ.
        plain = tmp_path / "plain.png"
        run_ffmpeg("-ss", str(record["thumbnail_at"]), "-i", str(folder / name), "-frames:v", "1", "-vf",
                   "scale=240:-2", str(plain))
        source = np.asarray(Image.open(plain).convert("L"), dtype=float)
        changed = np.abs(burned - source) > 40
        upper, lower = changed[: len(changed) // 2], changed[len(changed) // 2 :]
        assert lower.mean() > 0.008, (name, lower.mean())  # caption text and box (1.7-3 % of it measured)
        assert upper.mean() < 0.002, (name, upper.mean())  # the picture itself is the input's (0 measured)


def test_rerun_does_nothing_then_redoes_exactly_a_deleted_output(campaign, first_run):
    folder, broken = campaign
    out, _ = first_run
    before = outputs_of(out)
    result = run_cli("batch", str(folder), "--out", str(out), "--workers", "2")
    assert result.returncode == 1  # the broken ones are tried again and fail again
    clips = report(out)
    assert {n for n, c in clips.items() if c["status"] == "skipped"} == set(GOOD)
    assert {n for n, c in clips.items() if c["status"] == "failed"} == set(broken)
    assert all(clips[n]["words"] for n in GOOD)  # a skipped clip keeps its figures in the report
    assert outputs_of(out) == before  # not one output rewritten

    (out / "c" / "outro.mp4").unlink()
    result = run_cli("batch", str(folder), "--out", str(out), "--workers", "2")
    clips = report(out)
    assert [n for n, c in clips.items() if c["status"] == "ok"] == ["c/outro.mp4"]
    after = outputs_of(out)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {f"c/outro{s}" for s in SUFFIXES}
    assert commits_by_output(out)[str(out / "c" / "outro.mp4")] == 2  # the first run's and this one
    assert all(n == 1 for o, n in commits_by_output(out).items() if "outro" not in o)
    assert not partial_files(out)


def test_changed_input_or_settings_change_the_fingerprint(tmp_path, campaign):
    from captioner.batch.records import file_sha256, fingerprint
    from captioner.batch.plan import plan
    from captioner.settings import CaptionSettings
    from captioner.render.ffmpeg import EncoderSettings

    folder, _ = campaign
    style = tmp_path / "house.toml"
    style.write_text("[caption]\nfont_size = 60\n")
    settings = CaptionSettings(lang="ar", model="base", preset="tiktok", cps=None, encoder=EncoderSettings())

    def fingerprints(**overrides) -> dict[str, str]:
        jobs = plan(folder, tmp_path / "out", settings.with_options(**overrides))
        for job in jobs:
            if Path(job.input).stat().st_size:
                fingerprint(job, None, {})
        return {job.name: job.fingerprint for job in jobs}

    base = fingerprints()
    assert fingerprints() == base
    assert fingerprints(encoder=EncoderSettings(threads=3)) == base  # threads change speed, not output
    assert all(base[n] != v for n, v in fingerprints(cps=15.0).items() if v)
    styled = fingerprints(style=str(style))
    assert all(base[n] != v for n, v in styled.items() if v)
    copy = tmp_path / "copy.toml"
    copy.write_bytes(style.read_bytes())
    assert fingerprints(style=str(copy)) == styled  # the style counts by its content, not its name
    style.write_text("[caption]\nfont_size = 64\n")
    assert all(styled[n] != v for n, v in fingerprints(style=str(style)).items() if v)
    # The input counts by its content: same bytes elsewhere, same hash.
    assert file_sha256(folder / "a/intro.mp4") != file_sha256(folder / "b/intro.mp4")


def test_manifest_rows_override_and_fail_alone(tmp_path, campaign):
    folder, _ = campaign
    interpreter = tmp_path / "interpreter.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "smptebars=s=360x640:r=25:d=3", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", str(interpreter))
    manifest = tmp_path / "campaign.csv"
    with open(manifest, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "lang", "sign", "output"])
        writer.writerow([str(folder / "d.mp4"), "ar", "", "week1/clip-d.mp4"])
        writer.writerow([str(folder / "e.mp4"), "", str(tmp_path / "interpreter-missing.mp4"), ""])
        writer.writerow([str(tmp_path / "gone.mp4"), "", "", ""])
        writer.writerow([str(folder / "e.mp4"), "", "interpreter.mp4", "signed/e.mp4"])  # relative to the manifest
    out = tmp_path / "out"
    result = run_cli("batch", str(manifest), "--out", str(out), "-q", "--sign-border")
    assert result.returncode == 1, result.stderr
    clips = list(json.loads((out / "report.json").read_text())["clips"])
    assert [c["status"] for c in clips] == ["ok", "failed", "failed", "ok"]
    # The row's interpreter is inset (with the batch-wide --sign-border): the bars, where the clip has none.
    from captioner.media.probe import probe
    from captioner.render.compose import compose
    from captioner.render.inset import SignOptions
    from captioner.styles.presets import get_preset

    signed = out / "signed" / "e.mp4"
    layout = compose(probe(signed), get_preset("tiktok"), sign=SignOptions(interpreter, border=True))
    left, top, right, bottom = layout.sign[1].rect
    frame, original = (np.asarray(ocr.extract_frames(v, [1.0])[0].convert("RGB")).astype(int)
                       for v in (signed, folder / "e.mp4"))
    assert np.abs(frame[top:bottom, left:right] - original[top:bottom, left:right]).mean() > 40
    assert clips[0]["output"] == str(out / "week1" / "clip-d.mp4") and (out / "week1" / "clip-d.srt").is_file()
    assert "interpreter-missing.mp4: no such file" in clips[1]["error"] and "sign video" in clips[1]["error"]
    assert "no such file" in clips[2]["error"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["nowhere", "--out", "o"], "no such file or folder"),
        (["{folder}", "--out", "o", "--workers", "0"], "must be at least 1"),
        (["{folder}", "--out", "o", "--style", "missing.toml"], "style file not found"),
        (["{folder}", "--out", "o", "--lang", "xx"], "unknown language code"),
        (["{empty}", "--out", "o"], "no video files found"),
        (["{nopath}", "--out", "o"], "needs a 'path' column"),
        (["{folder}"], "--out"),
    ],
)
def test_bad_usage_exits_2(tmp_path, campaign, args, message):
    folder, _ = campaign
    (tmp_path / "empty").mkdir()
    (tmp_path / "list.csv").write_text("file,lang\na.mp4,ar\n")
    args = [a.format(folder=folder, empty=tmp_path / "empty", nopath=tmp_path / "list.csv") for a in args]
    result = run_cli("batch", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o" / "report.json").exists()


def test_a_hung_clip_is_stopped_at_the_time_limit(tmp_path, campaign):
    folder, _ = campaign
    inputs = tmp_path / "in"
    inputs.mkdir()
    os.link(folder / "d.mp4", inputs / "d.mp4")
    out = tmp_path / "out"
    started = time.monotonic()
    result = run_cli("batch", str(inputs), "--out", str(out), "--timeout", "1.5", "--workers", "1", "-q")
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 30
    clip = report(out)["d.mp4"]
    assert clip["status"] == "failed" and clip["error"] == "timed out after 1.5 s"
    assert not list(out.rglob("d.*")) and not partial_files(out)
    # The worker that ran it (and any ffmpeg it started) is gone.
    for log in events(out).values():
        for event in log:
            with pytest.raises(ProcessLookupError):
                os.kill(event["pid"], 0)


def test_ctrl_c_leaves_no_partial_output_and_a_rerun_continues(tmp_path, campaign):
    folder, _ = campaign
    inputs = tmp_path / "in"
    for name in ("a/intro.mp4", "b/intro.mp4", "d.mp4"):
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(folder / name, inputs / name)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out), "--workers", "1"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(e["event"] == "commit" for log in events(out).values() for e in log):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)  # one clip done, the next one running
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not partial_files(out)
    statuses = {n: c["status"] for n, c in report(out).items()}
    assert statuses["a/intro.mp4"] == "ok" and "interrupted" in statuses.values()
    for name, status in statuses.items():  # an interrupted clip has no output at all
        if status == "interrupted":
            assert not any((out / name).with_suffix(s).exists() for s in SUFFIXES)
    result = run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
    assert result.returncode == 0, result.stderr
    statuses = {n: c["status"] for n, c in report(out).items()}
    assert statuses == {"a/intro.mp4": "skipped", "b/intro.mp4": "ok", "d.mp4": "ok"}


def test_plan_mirrors_paths_without_collisions(tmp_path):
    from captioner.batch.plan import plan
    from captioner.settings import CaptionSettings

    inputs = tmp_path / "in"
    for name in ("x/clip.mp4", "y/clip.mp4", "z/clip.mp4", "z/clip.mov", "top.MP4", ".hidden/skip.mp4", "notes.txt"):
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        (inputs / name).write_bytes(b"x")
    out = inputs / "captioned"  # inside the inputs: its files are never inputs
    (out / "old").mkdir(parents=True)
    (out / "old" / "clip.mp4").write_bytes(b"x")
    jobs = plan(inputs, out, CaptionSettings(lang="ar"))
    assert {j.name: os.path.relpath(j.output, out) for j in jobs} == {
        "top.MP4": "top.mp4",
        "x/clip.mp4": "x/clip.mp4",
        "y/clip.mp4": "y/clip.mp4",
        "z/clip.mov": "z/clip.mov.mp4",  # clip.mov and clip.mp4 would share clip.srt...
        "z/clip.mp4": "z/clip.mp4",
    }
    assert len({j.key for j in jobs}) == len(jobs)


def test_manifest_that_names_one_output_twice_is_bad_usage(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.mp4").write_bytes(b"x")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,output\na.mp4,same.mp4\nb.mp4,same.mp4\n")
    result = run_cli("batch", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "is also the output of" in result.stderr, result.stderr


def test_a_worker_that_dies_fails_only_its_clip(tmp_path, campaign):
    folder, _ = campaign
    inputs = tmp_path / "in"
    for name in ("a/intro.mp4", "d.mp4", "e.mp4"):
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(folder / name, inputs / name)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out), "--workers", "2",
                             "-q"], stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        for log in events(out).values():
            if log and log[0]["event"] == "start":
                killed = log[0]["pid"]
                os.kill(killed, signal.SIGKILL)  # as the kernel's OOM killer would
                break
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=300)
    assert killed is not None
    assert proc.returncode == 1, stderr
    clips = report(out)
    dead = [n for n, c in clips.items() if c["status"] == "failed"]
    assert len(dead) == 1 and "the worker process died" in clips[dead[0]]["error"]
    assert all(c["status"] == "ok" for n, c in clips.items() if n != dead[0])  # a fresh worker took the rest
    assert not any((out / dead[0]).with_suffix(s).exists() for s in SUFFIXES) and not partial_files(out)
    result = run_cli("batch", str(inputs), "--out", str(out), "--workers", "2", "-q")
    assert result.returncode == 0, result.stderr
    assert {n: c["status"] for n, c in report(out).items()} == {n: "ok" if n == dead[0] else "skipped" for n in clips}
