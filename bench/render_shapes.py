"""Notebook previews under attack (security review, issue 15, finding 3).

    .venv/bin/python -m bench.render_shapes [--size 500000] [--viewers 20]

For each expensive shape of ``tests/support/notebook_shapes.py`` a fresh ``jupyter repo
serve`` gets the notebook uploaded, then one anonymous browser-like client asks for its
page until the page shows the rendering or says why not (a "being rendered" page is asked
for again). Reported: the time until that final answer, what it was, and the server
process's RSS before, at its peak and after (the render worker processes separately, at
their peak). Then ``--viewers`` clients ask at once for the page of a notebook that takes
seconds to render while a probe asks for ``GET /api`` and ``GET /`` every 0.2 s: the
probe's worst latencies and the server's RSS growth. Results replace this bench's section
of bench/RESULTS.md (unless ``--no-write``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil
import requests

from bench.results import write_section
from tests.support.notebook_shapes import SHAPES, notebook_bytes
from tests.support.server import RepoServer

MIB = 1 << 20
#: The same bench before notebooks were rendered in worker processes (commit ca0f151).
BEFORE = (
    "Before (ca0f151: rendering on the server's threads, in its memory; same machine, "
    "load 2-4): huge_source 49.8 s, server 113 → 508 MiB kept; huge_source_line 146.9 s, "
    "113 → 926 MiB kept; markdown_emphasis 283.4 s; many_cells 38.2 s; 20 concurrent views "
    "all waited 98 s, `/api` max 1,288 ms, a cached notebook page max 1,950 ms, server "
    "136 → 1,045 MiB, 1,006 MiB kept."
)


def outcome(html: str) -> str:
    """What a notebook page shows."""
    if '<div class="notebook">' in html:
        return "rendered"
    if "being rendered" in html:
        return "pending"
    if "too large to preview" in html:
        return "too large"
    if "could not be" in html:
        return "refused"
    return "other"


@dataclass
class Memory:
    """Peak RSS of a process and, separately, of its children, sampled every 20 ms."""

    pid: int
    peak: int = 0
    children_peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        process = psutil.Process(self.pid)
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, process.memory_info().rss)
                children = sum(
                    child.memory_info().rss for child in process.children(recursive=True)
                )
                self.children_peak = max(self.children_peak, children)
            except psutil.Error:
                pass
            time.sleep(0.02)

    @contextmanager
    def watching(self) -> Iterator[Memory]:
        thread = threading.Thread(target=self.sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def start_server(root: Path) -> tuple[RepoServer, str, str]:
    server = RepoServer(root).start()
    user = server.create_user("bench")
    return server, user, server.token(user)


def upload(server: RepoServer, token: str, user: str, name: str, data: bytes) -> str:
    response = requests.put(
        f"{server.api}/upload/{user}/{name}/1/{name}.ipynb",
        params={"type": "ipynb"},
        data=data,
        headers={"Authorization": f"token {token}"},
        timeout=300,
    )
    response.raise_for_status()
    return f"{server.url}/{user}/{name}/files/1/{name}.ipynb"


def view_until_final(url: str, limit: float = 600.0) -> tuple[float, str, int]:
    """Seconds until the page shows a final answer, that answer, and its HTTP status."""
    started = time.perf_counter()
    while True:
        try:
            response = requests.get(url, timeout=limit)
        except requests.RequestException as error:
            return time.perf_counter() - started, f"error: {type(error).__name__}", 0
        shown = outcome(response.text)
        if shown != "pending" or time.perf_counter() - started > limit:
            return time.perf_counter() - started, shown, response.status_code
        time.sleep(0.5)


def one_shape(work: Path, shape: str, size: int) -> dict[str, object]:
    server, user, token = start_server(work / shape)
    try:
        url = upload(server, token, user, shape.replace("_", "-"), notebook_bytes(shape, size))
        requests.get(server.url + "/", timeout=60)
        before = server.rss()
        with Memory(server.process.pid).watching() as memory:  # type: ignore[union-attr]
            seconds, shown, status = view_until_final(url)
        time.sleep(1)
        return {
            "shape": shape,
            "seconds": seconds,
            "shown": shown,
            "status": status,
            "before": before,
            "peak": memory.peak,
            "after": server.rss(),
            "workers": memory.children_peak,
        }
    finally:
        server.stop()


def concurrent_views(work: Path, shape: str, size: int, viewers: int) -> dict[str, object]:
    server, user, token = start_server(work / "concurrent")
    try:
        url = upload(server, token, user, "popular", notebook_bytes(shape, size))
        small = upload(server, token, user, "small", notebook_bytes("many_cells", 2000))
        view_until_final(small)
        probes: dict[str, list[float]] = {"/api": [], "/": [], "small notebook": []}
        done = threading.Event()

        def probe() -> None:
            targets = {"/api": server.api, "/": server.url + "/", "small notebook": small}
            while not done.is_set():
                for name, target in targets.items():
                    started = time.perf_counter()
                    requests.get(target, timeout=300)
                    probes[name].append(time.perf_counter() - started)
                time.sleep(0.2)

        before = server.rss()
        started = time.perf_counter()
        with Memory(server.process.pid).watching() as memory:  # type: ignore[union-attr]
            prober = threading.Thread(target=probe)
            prober.start()
            with ThreadPoolExecutor(viewers) as pool:
                answers = list(
                    pool.map(
                        lambda _: (time.perf_counter(), requests.get(url, timeout=600)),
                        range(viewers),
                    )
                )
            first_answers = time.perf_counter() - started
            _seconds, final, _status = view_until_final(url)
            done.set()
            prober.join()
        return {
            "viewers": viewers,
            "shape": shape,
            "bytes": len(notebook_bytes(shape, size)),
            "first_answers": first_answers,
            "shown": sorted({outcome(response.text) for _, response in answers}),
            "final": final,
            "final_after": time.perf_counter() - started,
            "probe_max": {name: max(values) for name, values in probes.items() if values},
            "probe_p50": {
                name: statistics.median(values) for name, values in probes.items() if values
            },
            "before": before,
            "peak": memory.peak,
            "after": server.rss(),
            "workers": memory.children_peak,
        }
    finally:
        server.stop()


def report(size: int, rows: list[dict[str, object]], crowd: dict[str, object]) -> str:
    load = os.getloadavg()
    lines = [
        "## Notebook previews: expensive notebooks (issue 15, finding 3)",
        "",
        f"`bench/render_shapes.py --size {size} --viewers {crowd['viewers']}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, one server process (SQLite), "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), "
        f"load average {load[0]:.1f} at the end; default limits. Shapes: "
        "`tests/support/notebook_shapes.py`; time until the page shows the rendering or "
        'says why not (a "being rendered" page is asked for again), including the start '
        "of a render worker (each shape gets a fresh server).",
        "",
        "| shape | time to final page | page shows | server RSS before → peak → after "
        "| render workers' RSS peak |",
        "| --- | ---: | --- | --- | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['shape']} | {row['seconds']:.1f} s | {row['shown']} | "
            f"{row['before'] // MIB} → {row['peak'] // MIB} → {row['after'] // MIB} MiB | "
            f"{row['workers'] // MIB} MiB |"
        )
    probe_max = crowd["probe_max"]
    probe_p50 = crowd["probe_p50"]
    assert isinstance(probe_max, dict) and isinstance(probe_p50, dict)
    lines += [
        "",
        f"{crowd['viewers']} concurrent anonymous views of a {crowd['bytes'] // 1000} KB "
        f"`{crowd['shape']}` notebook: all answered after {crowd['first_answers']:.1f} s "
        f"({', '.join(crowd['shown'])}), final page ({crowd['final']}) after "
        f"{crowd['final_after']:.1f} s. Meanwhile "
        + ", ".join(
            f"`{name}` p50 {probe_p50[name] * 1000:.0f} ms / max {probe_max[name] * 1000:.0f} ms"
            for name in probe_max
        )
        + f"; server RSS {crowd['before'] // MIB} → {crowd['peak'] // MIB} → "
        f"{crowd['after'] // MIB} MiB, render workers' peak {crowd['workers'] // MIB} MiB.",
        "",
        BEFORE,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500_000, help="bytes per shape")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--crowd-shape", default="huge_source")
    parser.add_argument("--crowd-size", type=int, default=780_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="render-bench-") as work:
        rows = []
        for shape in args.shapes.split(","):
            row = one_shape(Path(work), shape, args.size)
            print(row, flush=True)
            rows.append(row)
        crowd = concurrent_views(Path(work), args.crowd_shape, args.crowd_size, args.viewers)
        print(crowd, flush=True)
    text = report(args.size, rows, crowd)
    print(text)
    if not args.no_write:
        write_section("render-shapes", text)


if __name__ == "__main__":
    sys.exit(main())
