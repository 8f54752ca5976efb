"""Process-wide settings of the server's Python runtime: how long a thread may keep the GIL
while others wait, and handing freed heap memory back to the system.

Both were measured with the soak (``bench/soak.py``, ``bench/RESULTS.md``): under mixed
traffic a request that fetches many rows gives the GIL up at every SQLite step and waits a
whole switch interval to get it back from a busy thread (the convoy effect), and glibc keeps
the peaks of 32 worker threads' arenas after the work is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from functools import cache


def set_switch_interval(seconds: float) -> None:
    """How long a thread runs before one waiting for the GIL gets it (Python's 5 ms by
    default); shorter keeps short requests from queueing behind long ones."""
    if seconds > 0:
        sys.setswitchinterval(seconds)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on another C library (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        function: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return function


def resident_bytes() -> int | None:
    """This process's resident set size (Linux), for the log."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def trim_heap() -> str | None:
    """Give free heap pages of every arena back to the system (``malloc_trim(0)``) and say
    what it did; None where the C library has no such call. Blocking: on a worker thread."""
    trim = _malloc_trim()
    if trim is None:
        return None
    before = resident_bytes() or 0
    trim(0)
    after = resident_bytes() or 0
    return f"free heap returned to the system: RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB"


def describe(switch_interval: float, trim_interval: float) -> str:
    """One line for the start-up log."""
    trim = (
        f"free heap returned every {trim_interval:g} s"
        if trim_interval > 0 and _malloc_trim() is not None
        else "free heap kept by the C library"
    )
    return f"Python switch interval {sys.getswitchinterval() * 1000:g} ms; {trim}"
