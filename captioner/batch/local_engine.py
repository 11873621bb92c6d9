"""The local engine: a pool of worker processes on this machine.

Engines (this one and :mod:`.ray_engine`) take the same
:class:`~captioner.batch.schema.Job` objects and hand back the same
:class:`~captioner.batch.schema.ClipResult` objects (made by
:class:`~captioner.batch.runner.JobRunner`), one job per worker at a time, so a
worker that hangs or dies takes only its own job with it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import wait

from ..asr.registry import cuda_devices, resolve_device
from ..processes import die_with_parent, install_stop_handlers, shielded
from ..system import available_cores
from .records import log_event, remove_partial_outputs
from .runner import JobRunner
from .schema import ClipResult, Job, OnResult


# Seconds a stopped worker gets to take back its temporary outputs before it is killed.
STOP_GRACE = 5.0


def _worker_main(conn, threads: int, parent: int = 0, gpu: str | None = None) -> None:
    # One GPU per worker, as Ray gives an actor its own: the model, and NVENC, see only that one (set before
    # anything in this process touches CUDA).
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    # A process group of its own: a timed-out job is stopped by signalling the group (the worker and its
    # ffmpeg), and a Ctrl-C on the terminal reaches only the batch process, which then stops the workers.
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM (from the batch, or from the kernel when the batch process dies, even by kill -9) stops the
    # job as Ctrl-C stops a command: its temporary outputs and work folder are taken back, its ffmpeg killed.
    install_stop_handlers()
    die_with_parent(signal.SIGTERM, parent or None)
    runner = JobRunner(threads)
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):  # the batch process is gone
                return
            if job is None:
                return
            conn.send(runner.run(job))
    except KeyboardInterrupt:  # stopped: the cleanup ran on the way out; no traceback on the batch's terminal
        return


class _Worker:
    def __init__(self, context, threads: int, gpu: str | None = None) -> None:
        self.gpu = gpu
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, threads, os.getpid(), gpu), daemon=True,
                                       name="captioner-worker")
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0

    def terminate(self) -> None:
        """Ask the worker and its ffmpeg to stop (SIGTERM to its process group): it cleans up and exits."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.kill()
        except (ProcessLookupError, ValueError):
            pass
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.kill()


class LocalEngine:
    """N worker processes on this machine; each loads the model once and takes one job at a time.

    A job past its time limit is stopped by killing its worker (with the ffmpeg it
    started) and a fresh worker takes its place; so is a worker that dies.
    """

    name = "local"

    def __init__(self, workers: int = 0, timeout: float | None = None, *, device: str = "auto",
                 backend: str = "faster-whisper") -> None:
        # cpu or cuda, as the jobs' recogniser resolves it here: --device cuda without a GPU is refused now.
        self.device = resolve_device(backend, device)
        self.gpus = visible_gpus(cuda_devices(backend)) if self.device == "cuda" else []
        self.workers = workers or default_local_workers(self.device, len(self.gpus))
        self.timeout = timeout

    def gpu_of(self, worker: int) -> str | None:
        """The GPU worker number ``worker`` sees (its ``CUDA_VISIBLE_DEVICES``), or None on the CPU."""
        return self.gpus[worker % len(self.gpus)] if self.gpus else None

    def run(self, jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        count = min(self.workers, len(jobs))
        threads = max(1, available_cores() // count)
        context = multiprocessing.get_context("spawn")
        pending = deque(jobs)
        pool = [_Worker(context, threads, self.gpu_of(i)) for i in range(count)]
        try:
            while pending or any(w.job for w in pool):
                for worker in pool:
                    if worker.job is None and pending:
                        worker.job, worker.started = pending.popleft(), time.monotonic()
                        worker.conn.send(worker.job)
                busy = [w for w in pool if w.job is not None]
                deadline = None
                if self.timeout:
                    deadline = max(0.0, min(w.started + self.timeout for w in busy) - time.monotonic())
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=deadline)
                now = time.monotonic()
                for i, worker in enumerate(pool):
                    job = worker.job
                    if job is None:
                        continue
                    if worker.conn in ready:
                        try:
                            result = worker.conn.recv()
                        except (EOFError, OSError):
                            result = None
                        if result is not None:
                            worker.job = None
                            on_result(job, result)
                            continue
                    if worker.process.sentinel in ready or worker.conn in ready:
                        worker.process.join(1)
                        reason = f"the worker process died (exit code {worker.process.exitcode})"
                    elif self.timeout and now - worker.started >= self.timeout:
                        reason = f"timed out after {self.timeout:g} s"
                    else:
                        continue
                    _stop([worker], grace=1.0)
                    remove_partial_outputs(job)
                    log_event(job, "failed", reason)
                    on_result(job, ClipResult.failed(job, reason, now - worker.started))
                    pool[i] = _Worker(context, threads, worker.gpu)
        finally:
            with shielded():  # a second Ctrl-C must not cut this short
                busy = [w for w in pool if w.job is not None]
                # Interrupted: the busy workers take their temporary outputs back and exit, the idle ones are told
                # to stop; anything a worker could not clean up in time is removed here.
                _stop(busy, grace=STOP_GRACE)
                for worker in busy:
                    remove_partial_outputs(worker.job)
                    log_event(worker.job, "interrupted")
                for worker in pool:
                    if worker.job is None:
                        worker.stop()


def _stop(workers: list[_Worker], grace: float) -> None:
    """SIGTERM the workers, give them ``grace`` seconds to clean up and exit, then kill what is left."""
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + grace
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        worker.kill()  # the group: an ffmpeg that outlived its worker too


def default_local_workers(device: str = "cpu", gpus: int = 0) -> int:
    """One worker per core on a CPU; one per GPU on ``cuda`` (each loads one model on its own GPU)."""
    if device == "cuda":
        return max(1, gpus)
    # Two single-threaded pipelines per two cores keep both busy: while one clip is recognised
    # (which uses about 1.4 cores at best) the other is encoded.  See the README's batch benchmark.
    return max(1, available_cores())


def visible_gpus(count: int) -> list[str]:
    """The ids of the ``count`` GPUs this process sees, as ``CUDA_VISIBLE_DEVICES`` names them for a child
    (that list when it is set: ``2,3`` gives workers GPUs 2 and 3; else 0 to count - 1)."""
    listed = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return (listed or [str(i) for i in range(count)])[:count]
