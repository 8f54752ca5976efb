"""Every process the tests start: stdin closed, in a session of its own.

A child that inherits the terminal of a person running the suite can wait on it: after a
refused password the ``anaconda`` CLI asks again on the controlling terminal (getpass opens
``/dev/tty``), and CI, which has no terminal, never notices. With stdin at ``/dev/null`` and
a new session (no controlling terminal), such a prompt fails at once instead of hanging.
``tests/meta/test_terminal.py`` runs the suite's helpers under a pseudo-terminal to prove it, and
checks that nothing in ``tests/`` starts a process any other way.
"""

from __future__ import annotations

import subprocess
from typing import Any

#: What every child gets unless the call says otherwise (``input=`` needs a pipe).
DETACHED: dict[str, Any] = {"stdin": subprocess.DEVNULL, "start_new_session": True}


def _detached(kwargs: dict[str, Any]) -> dict[str, Any]:
    options = dict(kwargs)
    options.setdefault("start_new_session", True)
    if options.get("input") is None:  # ``input=None`` would leave stdin inherited
        options.pop("input", None)
        options.setdefault("stdin", subprocess.DEVNULL)
    return options


def run(args: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` with stdin closed and a new session."""
    return subprocess.run(args, **_detached(kwargs))


def popen(args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` with stdin closed and a new session."""
    return subprocess.Popen(args, **_detached(kwargs))
