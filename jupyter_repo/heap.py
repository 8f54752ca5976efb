"""Handing freed heap memory back to the system (glibc's ``malloc_trim``).

glibc keeps the peaks of its arenas after the work is done: the soak's worker threads and
the rows of a large index build stay resident otherwise. Used by the server's periodic
trim and by the index builds, so it belongs to neither.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from functools import cache


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


def malloc_trim_available() -> bool:
    """Whether this C library can give heap memory back (glibc can; musl and macOS not)."""
    return _malloc_trim() is not None
