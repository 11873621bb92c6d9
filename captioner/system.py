"""Facts about the machine a run shares with everything else on it."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set), not the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
