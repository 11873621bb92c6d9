"""The Ray engine: the same jobs as actors on a Ray cluster (the ``ray`` extra; Ray is imported here only)."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from .. import extras
from ..errors import CaptionerError, InputError, first_line
from ..media.outputs import remove_dead_locks
from ..processes import keep_signal_handlers, shielded
from .records import log_event, remove_partial_outputs
from .runner import JobRunner
from .schema import ClipResult, Job, OnResult

# Seconds to wait for a killed actor (ray.kill is asynchronous) to let go of its temporary outputs.
KILL_WAIT = 15.0


class RayActorRunner(JobRunner):
    """A :class:`JobRunner` as a Ray actor: the model is loaded once per actor."""

    def ping(self) -> int:
        return os.getpid()


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail in seconds on a wrong host:port (``ray.init`` retries an unreachable one for minutes)."""
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
        ray = extras.ray()
        _check_reachable(self.address)
        try:
            with keep_signal_handlers():  # Ray's own SIGTERM handler would exit 1 without any cleanup
                ray.init(address=self.address, logging_level="ERROR", log_to_driver=False, configure_logging=False)
        except ConnectionError as exc:
            raise InputError(f"cannot connect to the Ray cluster at {self.address}: {first_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; all mean "no cluster"
            raise CaptionerError(f"cannot connect to the Ray cluster at {self.address}: {type(exc).__name__}: "
                                 f"{first_line(exc)}") from None
        return ray

    def run(self, jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        ray = self._connect()
        try:
            self._run(ray, jobs, on_result)
        finally:
            ray.shutdown()

    @staticmethod
    @contextlib.contextmanager
    def _quiet():
        # Ray's driver prints each killed actor's task as "failed ... will be retried" on stdout, from a thread,
        # until it shuts down: when the batch is being stopped, that is not news, and not one line.
        with contextlib.redirect_stdout(io.StringIO()):
            yield

    def _run(self, ray, jobs: Sequence[Job], on_result: OnResult) -> None:
        lost = (ray.exceptions.RayError, ray.exceptions.GetTimeoutError)
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
                    except lost as exc:
                        reason = f"the Ray worker was lost ({type(exc).__name__}) after {self.retries} retries"
                        remove_partial_outputs(job, wait=KILL_WAIT)
                        log_event(job, "failed", reason)
                        result = ClipResult.failed(job, reason, now - started)
                        ray.kill(actor, no_restart=True)
                        actor = new_actor()
                    idle.append(actor)
                    on_result(job, result)
                if self.timeout:
                    for ref, (actor, job, started) in list(running.items()):
                        if now - started >= self.timeout:
                            del running[ref]
                            ray.kill(actor, no_restart=True)
                            remove_partial_outputs(job, wait=KILL_WAIT)
                            reason = f"timed out after {self.timeout:g} s"
                            log_event(job, "failed", reason)
                            on_result(job, ClipResult.failed(job, reason, now - started))
                            idle.append(new_actor())
        finally:
            if running:  # interrupted: a second Ctrl-C must not cut this short
                with shielded(), self._quiet():
                    for actor, job, _ in running.values():
                        ray.kill(actor, no_restart=True)
                    for actor, job, _ in running.values():
                        remove_partial_outputs(job, wait=KILL_WAIT)
                        log_event(job, "interrupted")
                    for folder in {Path(job.output).parent for _, job, _ in running.values()}:
                        remove_dead_locks(folder, wait=KILL_WAIT)  # an actor killed before it wrote a file
                    ray.shutdown()
