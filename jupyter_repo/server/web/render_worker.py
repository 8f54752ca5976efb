"""A render worker process: renders notebooks for the server, one at a time, under limits.

Started by :mod:`render_pool` as ``python -m jupyter_repo.server.web.render_worker
--memory-limit BYTES --cpu-limit SECONDS --retire-rss BYTES``. Before importing anything
heavy it caps its own address space (``RLIMIT_AS``: an allocation beyond it fails, the
process dies or refuses, the server does not grow) and lowers its priority, so rendering
yields the CPU to the server's requests. Before each rendering it lets its CPU time grow by
``--cpu-limit`` seconds at most (``RLIMIT_CPU``): the server kills a rendering that takes
too long, and this stops one even when the server is gone.

The conversation, on stdin and stdout, until stdin closes:

- the worker starts with one line ``{"status": "ready"}``;
- a request is one JSON line ``{"filename", "size", "budget": {...}, "max_html_bytes"}``,
  then ``size`` bytes of notebook; or, for what changed between two notebooks,
  ``{"kind": "diff", "filenames": [old, new], "split", "size", ...}`` then ``size`` bytes:
  the older notebook's ``split`` bytes followed by the newer one's;
- the answer is one JSON line ``{"status", "message", "length", "retire"}``, then ``length``
  bytes of UTF-8 HTML. ``status`` is ``ok``, ``too_large`` (over the budget or the memory
  limit), ``invalid`` (not a notebook, or nbconvert could not render it) or ``error``;
  ``retire`` asks the server to replace this worker (it has grown past ``--retire-rss``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import traceback
from typing import Any, BinaryIO


def _limit_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _answer(
    out: BinaryIO, status: str, message: str = "", html: bytes = b"", retire: bool = False
) -> None:
    header = {"status": status, "message": message, "length": len(html), "retire": retire}
    out.write(json.dumps(header).encode() + b"\n")
    out.write(html)
    out.flush()


def _render(request: dict[str, Any], data: bytes) -> tuple[str, str, bytes]:
    from jupyter_repo.repository.errors import InvalidInput, TooLarge
    from jupyter_repo.server.web.notebooks import Budget, render_notebook

    filename = str(request.get("filename") or "notebook.ipynb")
    budget = Budget(**request.get("budget", {}))
    try:
        if request.get("kind") == "diff":
            from jupyter_repo.server.web.notebook_diff import render_diff

            split = int(request["split"])
            old_name, new_name = (str(name) for name in request.get("filenames", ("", "")))
            html = render_diff(data[:split], data[split:], budget, (old_name, new_name))
        else:
            html = render_notebook(data, filename, budget)
    except TooLarge as error:
        return "too_large", error.message, b""
    except InvalidInput as error:
        return "invalid", error.message, b""
    encoded = html.encode("utf-8")
    del html
    limit = int(request.get("max_html_bytes") or 0)
    if limit and len(encoded) > limit:
        return (
            "too_large",
            (
                f"It renders to {len(encoded):,} bytes of HTML; notebooks "
                f"rendering to more than {limit:,} are not previewed."
            ),
            b"",
        )
    return "ok", "", encoded


def serve(inbox: BinaryIO, out: BinaryIO, cpu_limit: float, retire_rss: int) -> None:
    _answer(out, "ready")
    while True:
        line = inbox.readline()
        if not line:
            return  # the server closed our stdin: it is done with us
        request = json.loads(line)
        data = inbox.read(int(request["size"]))
        if len(data) < int(request["size"]):
            return  # stdin closed mid-request
        _limit_cpu(cpu_limit)
        retire = False
        try:
            status, message, html = _render(request, data)
        except MemoryError:
            status, message, html = "too_large", "Rendering it needs more memory than allowed.", b""
            retire = True
        except Exception:  # a bug, not the notebook's fault: say so, keep the details here
            traceback.print_exc()
            status, message, html = "error", "The renderer failed.", b""
        del data
        retire = retire or _rss() > retire_rss
        _answer(out, status, message, html, retire)
        if retire:
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render notebooks for jupyter-repo.")
    parser.add_argument("--memory-limit", type=int, required=True)
    parser.add_argument("--cpu-limit", type=float, required=True)
    parser.add_argument("--retire-rss", type=int, required=True)
    args = parser.parse_args(argv)
    if args.memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit, args.memory_limit))
    os.nice(10)
    # The answers own stdout; anything a library prints goes to stderr (the server's log).
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from jupyter_repo.server.web.notebooks import render_notebook

    render_notebook(_WARM_UP)  # imports nbconvert, pygments, mistune, nh3 and the template
    serve(sys.stdin.buffer, out, args.cpu_limit, args.retire_rss)


_WARM_UP = json.dumps(
    {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "code",
                "metadata": {},
                "outputs": [],
                "source": "x = 1",
            },
            {"cell_type": "markdown", "id": "text", "metadata": {}, "source": "# Ready"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
).encode()


if __name__ == "__main__":
    main()
