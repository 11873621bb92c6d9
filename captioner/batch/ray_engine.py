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
from ..asr.registry import check_device_name
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
    # The jobs run on the cluster's machines: the driver does not decide their device (run_batch asks this).
    remote = True

    def __init__(self, address: str = "auto", workers: int = 0, timeout: float | None = None, retries: int = 3,
                 *, device: str = "auto") -> None:
        check_device_name(device)
        self.address = address
        self.workers = workers
        self.timeout = timeout
        self.retries = retries
        self.device = device

    def uses_gpus(self, resources: dict) -> bool:
        """Whether each actor reserves a GPU on a cluster with ``resources`` (``ray.cluster_resources()``):
        with ``--device cuda`` (refused when the cluster has none), and with ``auto`` where it has some."""
        gpus = int(resources.get("GPU", 0))
        if self.device == "cuda" and not gpus:
            raise InputError(f"--device cuda: the Ray cluster at {self.address} has no GPU (use --device cpu or auto)")
        return self.device == "cuda" or (self.device == "auto" and gpus > 0)

    def actor_count(self, resources: dict) -> int:
        """``--workers``, else one actor per GPU of the cluster when actors reserve GPUs, else one per CPU."""
        kind = "GPU" if self.uses_gpus(resources) else "CPU"
        return self.workers or max(1, int(resources.get(kind, 1)))

    def actor_options(self, resources: dict) -> dict:
        """What each actor reserves, and how Ray restarts it: one CPU, and one GPU when they are used (Ray then
        sets the actor's ``CUDA_VISIBLE_DEVICES`` to that GPU)."""
        options = {"num_cpus": 1, "max_restarts": -1, "max_task_retries": self.retries}
        if self.uses_gpus(resources):
            options["num_gpus"] = 1
        return options

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
        resources = ray.cluster_resources()
        count = min(self.actor_count(resources), len(jobs))
        Actor = ray.remote(**self.actor_options(resources))(RayActorRunner)

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
