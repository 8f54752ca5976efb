"""Process-wide settings of the server's Python runtime: how long a thread may keep the GIL
while others wait, and handing freed heap memory back to the system.

Both were measured with the soak (``bench/soak.py``, ``bench/RESULTS.md``): under mixed
traffic a request that fetches many rows gives the GIL up at every SQLite step and waits a
whole switch interval to get it back from a busy thread (the convoy effect), and glibc keeps
the peaks of 32 worker threads' arenas after the work is done.
"""

from __future__ import annotations

import sys

from jupyter_repo.heap import malloc_trim_available, trim_heap

__all__ = ["describe", "set_switch_interval", "trim_heap"]


def set_switch_interval(seconds: float) -> None:
    """How long a thread runs before one waiting for the GIL gets it (Python's 5 ms by
    default); shorter keeps short requests from queueing behind long ones."""
    if seconds > 0:
        sys.setswitchinterval(seconds)


def describe(switch_interval: float, trim_interval: float) -> str:
    """One line for the start-up log."""
    trim = (
        f"free heap returned every {trim_interval:g} s"
        if trim_interval > 0 and malloc_trim_available()
        else "free heap kept by the C library"
    )
    return f"Python switch interval {sys.getswitchinterval() * 1000:g} ms; {trim}"
