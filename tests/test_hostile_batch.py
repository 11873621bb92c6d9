"""A batch writes only under --out: hostile manifests, symlinks in OUT_DIR, outputs over inputs, a second batch.

Planning decides every output before anything runs; a row whose output would
land outside OUT_DIR (``..``, an absolute path, a symlinked folder), in the
state folder, over the reports or over any job's input fails alone.  OUT_DIR
equal to the input folder is refused; one above it may not mirror outputs back
among the inputs.  Two batches cannot work on one OUT_DIR at once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from batchclips import speech_clip
from conftest import run_cli


def write_manifest(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "output", "sign"])
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def plan_jobs(inputs, out, **kw):
    from captioner.batch.plan import plan
    from captioner.settings import CaptionSettings

    return plan(inputs, out, CaptionSettings(lang="ar"), **kw)


def tree(root: Path) -> dict[str, str]:
    """Every file under root with its content hash (what a run must not change)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture()
def campaign(tmp_path) -> Path:
    folder = tmp_path / "campaign"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4", "sub/c.mp4", "report.mp4"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    return folder


def test_hostile_manifest_outputs_fail_their_rows(tmp_path, campaign):
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (out / "linked").symlink_to(outside)  # a folder of OUT_DIR that leads out of it
    manifest = write_manifest(campaign / "m.csv", [
        {"path": "a.mp4", "output": "../../escaped.mp4"},
        {"path": "a.mp4", "output": str(tmp_path / "absolute.mp4")},
        {"path": "b.mp4", "output": "linked/x.mp4"},
        {"path": "b.mp4", "output": ".captioner/jobs/x.mp4"},
        {"path": "b.mp4", "output": "report.mp4"},
        {"path": "sub/c.mp4", "output": str(campaign / "a.mp4")},  # another row's input, outside OUT_DIR too
        {"path": "b.mp4", "output": "sub/../../out/b2.mp4"},  # ".." that comes back: fine
        {"path": "a.mp4", "output": "fine/a.mp4"},
        {"path": "../campaign/./sub/../b.mp4", "output": ""},  # normalised: the manifest's b.mp4
    ])
    jobs = plan_jobs(manifest, out, force=True)
    errors = [j.error for j in jobs]
    assert "outside the output folder" in errors[0]
    assert "outside the output folder" in errors[1]
    assert "outside the output folder" in errors[2]
    assert "state folder" in errors[3]
    assert "report" in errors[4]
    assert "outside the output folder" in errors[5]
    assert errors[6] == "" and jobs[6].output == str((out / "b2.mp4").resolve())
    assert errors[7] == "" and jobs[7].output == str((out / "fine" / "a.mp4").resolve())
    assert errors[8] == "" and jobs[8].input == str(campaign / "b.mp4") and jobs[8].name == "b.mp4"
    assert len({j.key for j in jobs}) == len(jobs)  # refused rows too: each its own record and report row
    for job in jobs:  # whatever it says, no job may write outside OUT_DIR
        assert job.error or Path(job.output).resolve().is_relative_to(out.resolve())


def test_an_output_over_another_jobs_input_or_sign_or_style_fails(tmp_path):
    folder = tmp_path / "in"
    (folder / "x").mkdir(parents=True)
    for name in ("clip.mp4", "x/clip.mp4", "sign.mp4", "house.toml"):
        (folder / name).write_bytes(b"x")
    manifest = write_manifest(tmp_path / "m.csv", [
        {"path": str(folder / "x/clip.mp4"), "output": "clip.mp4", "sign": str(folder / "sign.mp4")},
        {"path": str(folder / "clip.mp4"), "output": "sign.mp4"},
        {"path": str(folder / "clip.mp4"), "output": "house.mp4"},  # its sidecars: house.json, .srt...
    ])
    from captioner.batch.plan import plan
    from captioner.settings import CaptionSettings

    jobs = plan(manifest, folder, CaptionSettings(lang="ar", style=str(folder / "house.toml")), force=True)
    assert "would overwrite an input" in jobs[0].error
    assert "interpreter video" in jobs[1].error
    assert jobs[2].error == ""  # house.toml is not a sidecar name
    style = folder / "house.srt"
    style.write_bytes(b"x")
    jobs = plan(manifest, folder, CaptionSettings(lang="ar", style=str(style)), force=True)
    assert "the style file" in jobs[2].error


def test_out_equal_to_the_input_folder_is_refused_and_above_it_cannot_mirror_into_it(tmp_path, campaign):
    result = run_cli("batch", str(campaign), "--out", str(campaign))
    assert result.returncode == 2 and "output folder is the input folder" in result.stderr, result.stderr
    link = tmp_path / "link"
    link.symlink_to(campaign)
    result = run_cli("batch", str(campaign), "--out", str(link))
    assert result.returncode == 2 and "output folder is the input folder" in result.stderr
    # OUT_DIR above the inputs: top/in/in/d.mp4 would be mirrored to top/in/d.mp4, among the inputs.
    nested = tmp_path / "top"
    (nested / "in" / "in").mkdir(parents=True)
    (nested / "in" / "in" / "d.mp4").write_bytes(b"x")
    jobs = {j.name: j for j in plan_jobs(nested / "in", nested)}
    assert "inside the input folder" in jobs["in/d.mp4"].error


def test_out_inside_the_inputs_is_never_read_back(tmp_path, campaign):
    out = campaign / "captioned"
    (out / "old").mkdir(parents=True)
    (out / "old" / "a.mp4").write_bytes(b"x")  # an earlier output
    names = sorted(j.name for j in plan_jobs(campaign, out))
    assert names == ["a.mp4", "b.mp4", "report.mp4", "sub/c.mp4"]


def test_a_clip_named_report_does_not_take_the_reports_names(tmp_path, campaign):
    jobs = {j.name: j for j in plan_jobs(campaign, tmp_path / "out")}
    assert Path(jobs["report.mp4"].output).name == "report.mp4.mp4" and not jobs["report.mp4"].error


def test_a_symlink_loop_and_a_missing_file_in_a_manifest_fail_alone(tmp_path, campaign):
    (campaign / "loop.mp4").symlink_to(campaign / "loop.mp4")
    jobs = plan_jobs(campaign, tmp_path / "out")  # planning itself must not fail on the loop
    assert {j.name for j in jobs} >= {"loop.mp4", "a.mp4"}


def test_manifest_size_and_row_limits(tmp_path):
    manifest = tmp_path / "big.csv"
    with open(manifest, "w", encoding="utf-8") as fh:
        fh.write("path\n")
        fh.writelines(f"clip{i}.mp4\n" for i in range(100_001))
    result = run_cli("batch", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "more than 100000 rows" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
    huge = tmp_path / "field.csv"
    huge.write_text("path\n" + "a" * 200_000 + ".mp4\n")
    result = run_cli("batch", str(huge), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_state_folder_that_leads_elsewhere_is_refused(tmp_path, campaign):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / ".captioner").symlink_to(elsewhere)
    result = run_cli("batch", str(campaign), "--out", str(out))
    assert result.returncode == 2 and "state folder" in result.stderr, result.stderr
    assert list(elsewhere.iterdir()) == []


def _hold_lock(out: Path) -> subprocess.Popen:
    """Another process holding OUT_DIR's batch lock, as a running batch does."""
    code = ("import sys, time; from pathlib import Path; from captioner.media.outputs import exclusive_lock\n"
            "with exclusive_lock(Path(sys.argv[1]) / '.captioner' / 'lock', sys.argv[1]):\n"
            "    print('held', flush=True); time.sleep(600)\n")
    (out / ".captioner").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_batch_on_the_same_out_says_it_is_in_use_and_a_killed_one_leaves_no_lock(tmp_path, campaign):
    out = tmp_path / "out"
    holder = _hold_lock(out)
    try:
        result = run_cli("batch", str(campaign), "--out", str(out))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "in use by another captioner batch" in lines[0], result.stderr
        assert f"pid {holder.pid}" in lines[0]
        assert not (out / "report.json").exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: the kernel lets go of the lock
        holder.wait()
    result = run_cli("batch", str(campaign), "--out", str(out), "-q")
    assert "in use" not in result.stderr and (out / "report.json").is_file(), result.stderr


def test_a_hostile_manifest_end_to_end_writes_nothing_outside_out(tmp_path):
    """Real workers: the good row is captioned, every hostile row fails alone, nothing outside OUT_DIR changes."""
    root = tmp_path / "root"
    inputs = root / "in"
    good = speech_clip(inputs / "good.mp4", 0, duration=3.0)
    victim = root / "victim.mp4"
    victim.write_bytes(good.read_bytes())
    out = root / "out"
    out.mkdir()
    (out / "linked").symlink_to(root)
    manifest = write_manifest(inputs / "m.csv", [
        {"path": "good.mp4", "output": "ok/good.mp4"},
        {"path": "good.mp4", "output": "../victim.mp4"},
        {"path": "good.mp4", "output": "linked/victim.mp4"},
        {"path": "good.mp4", "output": str(victim)},
        {"path": str(victim), "output": "in/../../in/good.mp4"},
    ])
    # Looks like an orphan of victim.mp4's, but lies outside OUT_DIR: not this batch's to remove.
    (root / ".victim.0123abcd.part.mp4").write_bytes(b"someone else's")
    before = tree(root)
    del before["in/m.csv"]
    result = run_cli("batch", str(manifest), "--out", str(out), "--force", "--workers", "1", "-q")
    assert result.returncode == 1, result.stderr
    clips = json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"]
    assert [c["status"] for c in clips] == ["ok", "failed", "failed", "failed", "failed"], clips
    after = tree(root)
    for name, digest in before.items():
        assert after.get(name) == digest, name  # inputs and everything else untouched
    new = sorted(set(after) - set(before) - {"in/m.csv"})
    assert all(n.startswith("out/") for n in new), new
    assert "out/ok/good.mp4" in new and not any(n.startswith("out/linked") for n in new)
    assert not [n for n in new if ".part" in n or n.endswith(".lock") or ".work" in n]
    assert os.path.exists(out / ".captioner" / "lock")  # kept, unlocked: a rerun takes it
