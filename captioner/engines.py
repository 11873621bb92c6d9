"""Where batch jobs run: a pool of worker processes here, or actors on a Ray cluster.

Both engines take the same :class:`~captioner.batch.Job` objects and hand back
the same result dicts (made by :class:`~captioner.batch.JobRunner`), one job per
worker at a time, so a worker that hangs or dies takes only its own job with it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait

from .batch import Job, JobRunner, failed_result, log_event, remove_partial_outputs
from .errors import CaptionerError, InputError

OnResult = Callable[[Job, dict], None]


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _worker_main(conn, threads: int) -> None:
    # A process group of its own: a timed-out job is stopped by killing the group (the worker and its
    # ffmpeg), and a Ctrl-C on the terminal reaches only the batch process, which then stops the workers.
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runner = JobRunner(threads)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the batch process is gone
            return
        if job is None:
            return
        conn.send(runner.run(job))


class _Worker:
    def __init__(self, context, threads: int) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, threads), daemon=True, name="captioner-worker")
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0

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

    def __init__(self, workers: int = 0, timeout: float | None = None) -> None:
        self.workers = workers or default_local_workers()
        self.timeout = timeout

    def run(self, jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        count = min(self.workers, len(jobs))
        threads = max(1, available_cores() // count)
        context = multiprocessing.get_context("spawn")
        pending = deque(jobs)
        pool = [_Worker(context, threads) for _ in range(count)]
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
                    worker.kill()
                    remove_partial_outputs(job)
                    log_event(job, "failed", reason)
                    on_result(job, failed_result(job, reason, now - worker.started))
                    pool[i] = _Worker(context, threads)
        finally:
            for worker in pool:
                if worker.job is not None:  # interrupted: stop it now and leave no temporary file behind
                    worker.kill()
                    remove_partial_outputs(worker.job)
                    log_event(worker.job, "interrupted")
                else:
                    worker.stop()


def default_local_workers() -> int:
    # Two single-threaded pipelines per two cores keep both busy: while one clip is recognised
    # (which uses about 1.4 cores at best) the other is encoded.  See the README's batch benchmark.
    return max(1, available_cores())


class RayActorRunner(JobRunner):
    """A :class:`JobRunner` as a Ray actor: the model is loaded once per actor."""

    def ping(self) -> int:
        return os.getpid()


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail in seconds on a wrong host:port (``ray.init`` retries an unreachable one for minutes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or address == "auto":
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise InputError(f"cannot connect to the Ray cluster at {address}: {exc.strerror or exc}") from None


class RayEngine:
    """The same jobs on a Ray cluster: one actor per worker, one job per actor at a time.

    Inputs and outputs must be on a filesystem every node sees at the same path.
    An actor that dies with its node is restarted and its job retried; the job's
    record (written right after its outputs) keeps a retry from redoing work that
    was committed.  A job past its time limit is stopped by killing its actor.
    """

    name = "ray"

    def __init__(self, address: str = "auto", workers: int = 0, timeout: float | None = None, retries: int = 3) -> None:
        self.address = address
        self.workers = workers
        self.timeout = timeout
        self.retries = retries

    def _connect(self):
        try:
            import ray
        except ImportError:
            raise InputError("the ray engine needs Ray: pip install 'captioner[ray]'") from None
        _check_reachable(self.address)
        try:
            ray.init(address=self.address, logging_level="ERROR", log_to_driver=False, configure_logging=False)
        except ConnectionError as exc:
            raise InputError(f"cannot connect to the Ray cluster at {self.address}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; all mean "no cluster"
            raise CaptionerError(f"cannot connect to the Ray cluster at {self.address}: {type(exc).__name__}: {exc}") from None
        return ray

    def run(self, jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        ray = self._connect()
        try:
            self._run(ray, jobs, on_result)
        finally:
            ray.shutdown()

    def _run(self, ray, jobs: Sequence[Job], on_result: OnResult) -> None:
        from ray.exceptions import GetTimeoutError, RayError

        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = min(self.workers or max(1, cpus), len(jobs))
        Actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=self.retries)(RayActorRunner)

        def new_actor():
            return Actor.remote(1)

        pending = deque(jobs)
        idle = [new_actor() for _ in range(count)]
        running: dict = {}  # ObjectRef -> (actor, job, started)
        try:
            while pending or running:
                while idle and pending:
                    actor, job = idle.pop(), pending.popleft()
                    running[actor.run.remote(job)] = (actor, job, time.monotonic())
                timeout = None
                if self.timeout:
                    timeout = max(0.0, min(s for _, _, s in running.values()) + self.timeout - time.monotonic())
                ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
                now = time.monotonic()
                for ref in ready:
                    actor, job, started = running.pop(ref)
                    try:
                        result = ray.get(ref, timeout=60)
                    except (RayError, GetTimeoutError) as exc:
                        reason = f"the Ray worker was lost ({type(exc).__name__}) after {self.retries} retries"
                        remove_partial_outputs(job)
                        log_event(job, "failed", reason)
                        result = failed_result(job, reason, now - started)
                        ray.kill(actor, no_restart=True)
                        actor = new_actor()
                    idle.append(actor)
                    on_result(job, result)
                if self.timeout:
                    for ref, (actor, job, started) in list(running.items()):
                        if now - started >= self.timeout:
                            del running[ref]
                            ray.kill(actor, no_restart=True)
                            remove_partial_outputs(job)
                            reason = f"timed out after {self.timeout:g} s"
                            log_event(job, "failed", reason)
                            on_result(job, failed_result(job, reason, now - started))
                            idle.append(new_actor())
        finally:
            for actor, job, _ in running.values():
                ray.kill(actor, no_restart=True)
                remove_partial_outputs(job)
                log_event(job, "interrupted")
