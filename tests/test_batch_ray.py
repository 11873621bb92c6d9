"""``captioner batch --engine ray`` on a real local Ray cluster, with a worker killed mid-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from batchclips import commits_by_output, events, partial_files, speech_clip

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ray_cluster():
    """A one-node Ray cluster on 127.0.0.1, started for this session and stopped after.

    ``ray start --block`` in a session of its own: stopping it kills exactly the
    processes it started (``ray stop`` would stop every Ray cluster on the machine).
    """
    exe = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    log = open(Path(temp) / "start.log", "w")
    proc = subprocess.Popen(
        [exe, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
         "--disable-usage-stats", "--include-dashboard=false", "--temp-dir", temp],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"ray start exited with {proc.returncode}: {(Path(temp) / 'start.log').read_text()[-2000:]}")
            if subprocess.run([exe, "status", "--address", address], capture_output=True).returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail("the Ray cluster did not start in 90 s")
        yield address
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the cluster's process group
        except ProcessLookupError:
            pass
        proc.wait(10)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_batch_survives_a_killed_worker_and_captions_each_clip_once(tmp_path, ray_cluster):
    inputs = tmp_path / "in"
    good = ["a/clip.mp4", "b/clip.mp4", "c.mp4", "d.mp4"]
    for i, name in enumerate(good):
        speech_clip(inputs / name, i)
    (inputs / "empty.mp4").write_bytes(b"")
    (inputs / "notes.mp4").write_text("not a video\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out), "--engine", "ray",
         "--ray-address", ray_cluster, "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Kill the Ray worker process that runs the first clip, as a lost node would.
    killed = None
    deadline = time.monotonic() + 180
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        for log in events(out).values():
            starts = [e for e in log if e["event"] == "start"]
            if starts:
                killed = starts[0]["pid"]
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.05)
    assert killed is not None, "no clip started"
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr  # the two broken inputs
    assert "Traceback" not in stderr

    clips = {c["name"]: c for c in json.loads((out / "report.json").read_text())["clips"]}
    assert {n: c["status"] for n, c in clips.items()} == {**{n: "ok" for n in good}, "empty.mp4": "failed",
                                                          "notes.mp4": "failed"}
    assert "empty file" in clips["empty.mp4"]["error"] and "not a readable media file" in clips["notes.mp4"]["error"]
    for name in good:
        assert clips[name]["words"] > 0 and clips[name]["language"] == "ar"
        for suffix in (".mp4", ".srt", ".vtt", ".ass", ".json"):
            assert (out / name).with_suffix(suffix).is_file()
    # The killed clip was started again elsewhere, and every output was committed exactly once.
    logs = events(out)
    restarted = [log for log in logs.values() if any(e["event"] == "start" and e["pid"] == killed for e in log)]
    assert len(restarted) == 1 and sum(e["event"] == "start" for e in restarted[0]) >= 2
    assert any(e["event"] == "commit" and e["pid"] != killed for e in restarted[0])
    assert commits_by_output(out) == {str(out / n): 1 for n in good}
    assert not partial_files(out)
    # The report has the same shape as a local one.
    data = json.loads((out / "report.json").read_text())
    summary = data["summary"]
    assert data["engine"] == "ray" and summary == {"total": 6, "ok": 4, "skipped": 0, "failed": 2, "interrupted": 0,
                                                   "needs_review": summary["needs_review"]}
    assert 0 <= summary["needs_review"] <= 4
    assert (out / "report.csv").read_text().splitlines()[0] == (
        "input,output,status,review,error,duration,language,words,flagged,not_burned,confident,low_confidence,"
        "violations,seconds,transcript,video,srt,vtt,ass,json")

    # A rerun on the cluster finds everything done.
    rerun = subprocess.run(
        [sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out), "--engine", "ray",
         "--ray-address", ray_cluster, "-q"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1, rerun.stderr
    statuses = {c["name"]: c["status"] for c in json.loads((out / "report.json").read_text())["clips"]}
    assert [n for n, s in statuses.items() if s == "skipped"] == good


def test_ray_engine_reports_an_unreachable_cluster(tmp_path):
    inputs = tmp_path / "in"
    speech_clip(inputs / "a.mp4", 0)
    result = subprocess.run(
        [sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(tmp_path / "out"), "--engine", "ray",
         "--ray-address", f"127.0.0.1:{free_port()}", "-q"], capture_output=True, text=True, timeout=300)
    assert result.returncode in (1, 2), result.stderr
    assert "cannot connect to the Ray cluster" in result.stderr and "Traceback" not in result.stderr


def test_sigterm_stops_a_ray_batch_in_one_line_and_leaves_nothing_behind(tmp_path, ray_cluster):
    """What a CI runner or `ray job stop` sends: actors killed, their ffmpeg gone, temporaries removed, exit 143."""
    inputs = tmp_path / "in"
    for i, name in enumerate(("a.mp4", "b.mp4")):
        speech_clip(inputs / name, i, duration=8.0)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "batch", str(inputs), "--out", str(out), "--engine", "ray",
         "--ray-address", ray_cluster, "--workers", "2", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not any(e["event"] == "start" for log in events(out).values() for e in log):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 143, stderr
    assert stdout == "", stdout  # Ray's own messages about the killed actors do not reach the terminal
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("captioner: interrupted"), stderr
    assert not partial_files(out) and not [p for p in out.rglob("*") if p.name.endswith((".work", ".lock"))
                                            and p.name != "lock"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # an actor's ffmpeg dies with it (PR_SET_PDEATHSIG)
        running = [pid for pid in os.listdir("/proc") if pid.isdigit() and str(out).encode() in _cmdline(pid)]
        if not running:
            break
        time.sleep(0.2)
    assert not running
    statuses = {c["status"] for c in json.loads((out / "report.json").read_text())["clips"]}
    assert "interrupted" in statuses


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""
