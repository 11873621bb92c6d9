"""Faults with real processes and signals: SIGTERM, kill -9, a second batch, Ctrl-C in a batch.

- SIGTERM (timeout, CI runners, docker, Ray) stops a run as Ctrl-C does: its
  ffmpeg stopped, temporary outputs and work folders removed, exit 143.
- After ``kill -9`` the ffmpeg it started does not keep encoding (the kernel
  kills it with its parent), and the next run of the same outputs removes the
  ``.part`` files and work folder the dead run left, but never those of a live one.
- A batch stopped by SIGTERM or Ctrl-C prints one line and leaves no worker,
  ffmpeg or temporary folder behind; killed with -9, its workers clean up and
  exit, and the OUT_DIR lock is free for the next run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchclips import events, speech_clip
from conftest import interruptible, make_video, run_cli

SRT = "1\n00:00:00,200 --> 00:00:05,000\nمرحبا بكم\n\n2\n00:00:05,100 --> 00:00:20,000\nشارك الآن\n"


def children_of(pid: int) -> list[int]:
    """Every live descendant of a process (from /proc)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry))
                frontier.append(int(entry))
    return found


def command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, timeout: float = 120.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".part" in p.name or p.name.endswith((".lock", ".work")))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """20 s at 1080x1920: its burn takes long enough to be stopped in the middle."""
    return make_video(tmp_path_factory.mktemp("long") / "long.mp4", duration=20.0, size=(1080, 1920))


def start_burn(folder: Path, clip: Path, **popen) -> subprocess.Popen:
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "captioner", "burn", str(clip), "--subs", "subs.srt", "-o", "out.mp4", "--force",
         "--x264-preset", "medium"],
        cwd=folder, stderr=subprocess.PIPE, text=True, **popen,
    )


def encoding_ffmpeg(proc: subprocess.Popen) -> int | None:
    """The ffmpeg child that encodes (its output is the temporary .part file)."""
    for pid in children_of(proc.pid):
        if "ffmpeg" in command_of(pid) and ".part.mp4" in command_of(pid):
            return pid
    return None


def test_sigterm_stops_a_burn_like_ctrl_c(tmp_path, long_clip):
    proc = start_burn(tmp_path, long_clip)
    ffmpeg = wait_for(lambda: encoding_ffmpeg(proc))
    assert any(name.endswith(".work") for name in temporaries(tmp_path))  # its work folder, beside the output
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines() == ["captioner: interrupted; no output was written"], stderr
    wait_for(lambda: not alive(ffmpeg), timeout=10)
    assert temporaries(tmp_path) == [] and not (tmp_path / "out.mp4").exists()


def test_after_kill_9_ffmpeg_dies_and_the_next_run_removes_what_was_left(tmp_path, long_clip):
    proc = start_burn(tmp_path, long_clip)
    ffmpeg = wait_for(lambda: encoding_ffmpeg(proc))
    wait_for(lambda: any(n.endswith(".part.mp4") for n in temporaries(tmp_path)))
    proc.kill()  # SIGKILL: no handler runs, nothing is cleaned up by captioner itself
    proc.wait()
    wait_for(lambda: not alive(ffmpeg), timeout=10)  # the kernel killed it with its parent: no orphan encode
    left = set(temporaries(tmp_path))
    assert any(n.endswith(".part.mp4") for n in left) and any(n.endswith(".work") for n in left), left
    # The next run of the same output removes what the killed one left as it starts.
    live = start_burn(tmp_path, long_clip)
    wait_for(lambda: encoding_ffmpeg(live))
    now = set(temporaries(tmp_path))
    assert now and not now & left, (now, left)
    # A third run of the same output, while the second still works, leaves the live run's files alone.
    short = make_video(tmp_path / "short.mp4", duration=1.0, size=(216, 384))
    result = run_cli("burn", str(short), "--subs", "subs.srt", "-o", "out.mp4", "--force", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(temporaries(tmp_path)) >= now
    live.send_signal(signal.SIGTERM)
    live.communicate(timeout=60)
    assert live.returncode == 143 and temporaries(tmp_path) == []


def test_a_live_runs_temporaries_are_never_taken_for_orphans(tmp_path):
    """The sweep's own rule, with a lock held by another live process and then by a dead one."""
    from captioner.media.outputs import remove_orphans

    token = "0123abcd"
    (tmp_path / f".clip.{token}.part.mp4").write_bytes(b"x")
    (tmp_path / f".clip.{token}.part.mp4.work").mkdir()
    code = ("import sys, time; from pathlib import Path; from captioner.media.outputs import hold_lock\n"
            f"hold_lock(Path(sys.argv[1]), '{token}'); print('held', flush=True); time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert remove_orphans(tmp_path, "clip") == []
        assert len(temporaries(tmp_path)) == 3
    finally:
        holder.kill()
        holder.wait()
    removed = remove_orphans(tmp_path, "clip")
    assert len(removed) == 2 and temporaries(tmp_path) == []


def test_a_worker_killed_before_it_wrote_a_file_leaves_no_lock(tmp_path):
    """A Ray actor killed between taking its lock and writing its first temporary: only the lock is left,
    still held while the process dies; the batch's last sweep waits for it to let go, then removes it."""
    from captioner.media.outputs import remove_dead_locks

    token = "4567cdef"
    code = ("import sys, time; from pathlib import Path; from captioner.media.outputs import hold_lock\n"
            f"hold_lock(Path(sys.argv[1]), '{token}'); print('held', flush=True); time.sleep(1.0)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        remove_dead_locks(tmp_path)  # no wait: the holder is alive, its lock stays
        assert [p.name for p in tmp_path.iterdir()] == [f".captioner.{token}.lock"]
        remove_dead_locks(tmp_path, wait=30.0)  # the holder exits after a second
        assert list(tmp_path.iterdir()) == []
    finally:
        holder.kill()
        holder.wait()


def worker_pids(out: Path) -> set[int]:
    return {e["pid"] for log in events(out).values() for e in log}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faults") / "in"
    for i, name in enumerate(("a.mp4", "b.mp4", "c.mp4")):
        speech_clip(folder / name, i, duration=6.0)
    return folder


def start_batch(inputs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out),
                             "--workers", "2", *extra], stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_batch_prints_one_line_and_leaves_nothing_running_or_half_made(tmp_path, campaign, sig, code):
    out = tmp_path / "out"
    proc = start_batch(campaign, out, "-q")
    wait_for(lambda: len(worker_pids(out)) >= 2)  # both workers busy with a clip
    workers = worker_pids(out)
    descendants = children_of(proc.pid)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("captioner: interrupted") and "report:" in lines[0], stderr
    for pid in workers | set(descendants):
        wait_for(lambda: not alive(pid), timeout=15)
    assert temporaries(out) == [], temporaries(out)
    statuses = {c["status"] for c in json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"]}
    assert "interrupted" in statuses


def test_a_batch_killed_with_9_leaves_no_worker_or_ffmpeg_and_the_next_run_cleans_up(tmp_path, campaign):
    out = tmp_path / "out"
    proc = start_batch(campaign, out, "-q")
    wait_for(lambda: len(worker_pids(out)) >= 2)
    time.sleep(1.0)
    descendants = children_of(proc.pid)
    proc.kill()
    proc.wait()
    for pid in descendants:  # workers (SIGTERM from the kernel: they clean up), their ffmpeg (killed)
        wait_for(lambda: not alive(pid), timeout=20)
    result = run_cli("batch", str(campaign), "--out", str(out), "--workers", "2", "-q")
    assert result.returncode == 0, result.stderr  # the lock was not left stuck
    assert temporaries(out) == []
    statuses = {c["name"]: c["status"] for c in json.loads((out / "report.json").read_text(encoding="utf-8"))["clips"]}
    assert set(statuses.values()) <= {"ok", "skipped"}


def test_a_second_batch_on_a_busy_out_says_so_in_one_line(tmp_path, campaign):
    out = tmp_path / "out"
    proc = start_batch(campaign, out, "-q")
    try:
        wait_for(lambda: worker_pids(out))
        result = run_cli("batch", str(campaign), "--out", str(out))
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "in use by another captioner batch" in lines[0] and str(proc.pid) in lines[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
