"""Keystroke→results of the search widget with 10,000 packages (server search plus widget update).

    ./scripts/bench widgets [--packages 10000] [--rounds 5] [--baseline REF]

Fills a fresh repository with ``--packages`` packages in one namespace (``bench/load.py``
``bulk_packages``: every tenth private, descriptions of ``--description-bytes``), starts
``jupyter repo serve`` on 127.0.0.1 and measures:

- ``GET /api/search?name=…&per_page=20`` for every prefix of the typed words, anonymous and
  with the owner's token (who also sees the private packages), client wall time over a
  keep-alive connection;
- keystroke→results of ``jupyter_repo.widgets.PackageSearch`` in a real IPython kernel
  (``jupyter_client`` starts one; the widget runs on the kernel's asyncio loop and its
  updates go out as comm messages): ``widget.query.value = prefix`` then ``await
  SearchDriver(widget).results()``, one keystroke after the other's results, with ``debounce=0``
  (pure latency); and with the default debounce, words typed at ``--key-interval`` ms per
  key, from the last keystroke to the results shown.

``--baseline REF`` also starts a second server from the source of git ``REF`` (``git
archive``; same rows, its own migrations) and interleaves every series between the two
servers, so a busy neighbour hits both alike. Results replace this bench's section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

import requests

from bench.load import bulk_packages
from bench.results import write_section
from bench.web_pages import free_port, percentile
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.services import accounts, tokens
from tests.support import processes

ROOT = Path(__file__).resolve().parent.parent
OWNER = "bench"
TARGET_MS = 150.0
#: Words typed into the search box: a name (narrows from every package to one), a phrase
#: of the summaries (only summaries match), and a word matching nothing.
WORDS = ("pkg-0421", "number 77", "pkg-9", "nothing")
PER_PAGE = 20  # the widget's max_results: one page per keystroke


@dataclass
class Target:
    name: str  # "after" (this checkout) or "before" (the baseline)
    base: str
    token: str


# -- the repository --------------------------------------------------------------------------


def baseline_source(ref: str, root: Path) -> Path:
    """The files of git ``ref`` (its ``jupyter_repo`` package runs the baseline server)."""
    archive = processes.run(
        ["git", "-C", str(ROOT), "archive", ref, "jupyter_repo"], check=True, capture_output=True
    ).stdout
    target = root / "baseline-src"
    target.mkdir()
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def server_env(root: Path, source: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "jupyter"),
    }
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")])
    return env


def fill(root: Path, data: Path, count: int, description_bytes: int, source: Path | None) -> str:
    """Migrate (with ``source``'s migrations when given) and seed; the owner's token."""
    data.mkdir(parents=True)
    processes.run(
        [sys.executable, "-m", "jupyter_repo", "migrate", f"--Repository.data_dir={data}"],
        check=True,
        capture_output=True,
        env=server_env(root, source),
        cwd=str(source or ROOT),
    )
    repo = Repository(data_dir=str(data))  # no migrate(): the baseline keeps its schema
    try:
        actor = repo.call(
            lambda s: accounts.password_actor(accounts.create_user(s, OWNER, "bench-password")),
            write=True,
        )
        _row, token = repo.call(
            tokens.create_token, actor, name="bench", scopes=["all"], write=True
        )
        bulk_packages(repo, actor.user_id, count, description_bytes=description_bytes)
    finally:
        repo.close()
    return token


def start_server(root: Path, data: Path, source: Path | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = processes.popen(
        [
            sys.executable,
            "-m",
            "jupyter_repo",
            "serve",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--Repository.data_dir={data}",
        ],
        env=server_env(root, source),
        cwd=str(source or ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(base + "/api", timeout=2)
            return server, base
        except requests.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.2)


def prefixes(word: str) -> list[str]:
    return [word[:end] for end in range(1, len(word) + 1)]


# -- /api/search -----------------------------------------------------------------------------


def measure_api(targets: list[Target], rounds: int) -> dict[tuple[str, str], list[float]]:
    """Client wall time (ms) of every prefix, per (target, "anonymous"/"token"); the
    targets and callers alternate request by request, their order flips every round."""
    sessions = {}
    for target in targets:
        for who in ("anonymous", "token"):
            session = requests.Session()
            if who == "token":
                session.headers["Authorization"] = f"token {target.token}"
            sessions[target.name, who] = (target, session)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in sessions}
    keys = list(sessions)
    for round_ in range(rounds + 1):  # round 0 warms up, unrecorded
        order = keys if round_ % 2 else keys[::-1]
        for word in WORDS:
            for query in prefixes(word):
                for key in order:
                    target, session = sessions[key]
                    started = time.perf_counter()
                    response = session.get(
                        f"{target.base}/api/search",
                        timeout=60,
                        params={"name": query, "per_page": PER_PAGE},
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if round_:
                        times[key].append(elapsed)
    return times


# -- the widget (runs inside the kernel) -----------------------------------------------------


async def measure_widget(
    targets: list[dict[str, str]], words: list[str], rounds: int, key_interval: float
) -> dict[str, Any]:
    """Keystroke→results (ms) per target: with debounce 0 every prefix; with the default
    debounce, from the last key of a word typed at ``key_interval`` s per key."""
    import inspect

    from jupyter_repo.client.api import RepoClient
    from jupyter_repo.widgets import PackageSearch
    from jupyter_repo.widgets.driving import SearchDriver

    default_debounce = inspect.signature(PackageSearch).parameters["debounce"].default
    widgets = {}
    for target in targets:
        client = RepoClient(target["base"], target["token"])
        widgets[target["name"], "0"] = PackageSearch(client=client, debounce=0)
        widgets[target["name"], "default"] = PackageSearch(client=client)
    keys = list(widgets)
    times: dict[str, list[float]] = {f"{name}/{debounce}": [] for name, debounce in keys}
    shown: dict[str, int] = {}
    for round_ in range(rounds + 1):  # round 0 warms up, unrecorded
        order = keys if round_ % 2 else keys[::-1]
        for word in words:
            for name, debounce in order:
                widget = widgets[name, debounce]
                widget.query.value = ""
                await SearchDriver(widget).results()
                if debounce == "0":
                    for query in prefixes(word):
                        started = time.perf_counter()
                        widget.query.value = query
                        rows = await SearchDriver(widget).results()
                        if round_:
                            times[f"{name}/0"].append((time.perf_counter() - started) * 1000)
                        shown[query] = len(rows)
                else:
                    for query in prefixes(word)[:-1]:
                        widget.query.value = query
                        await asyncio.sleep(key_interval)
                    started = time.perf_counter()
                    widget.query.value = word
                    await SearchDriver(widget).results()
                    if round_:
                        times[f"{name}/default"].append((time.perf_counter() - started) * 1000)
                assert widget.state == "ready", (widget.state, widget.status_text)
    for widget in widgets.values():
        widget.close()
    return {"times": times, "shown": shown, "default_debounce": default_debounce}


def widget_in_kernel(targets: list[Target], rounds: int, key_interval: float) -> dict[str, Any]:
    """Run :func:`measure_widget` in a fresh IPython kernel of this interpreter."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        arguments = json.dumps(
            [[target.__dict__ for target in targets], list(WORDS), rounds, key_interval]
        )
        code = (
            "import json\nfrom bench.widgets import measure_widget\n"
            f"_bench = await measure_widget(*json.loads({arguments!r}))\n"
            "print('BENCH' + json.dumps(_bench))\n"
        )
        output: list[str] = []

        def hook(message: dict[str, Any]) -> None:
            content = message["content"]
            if message["msg_type"] == "stream":
                output.append(content["text"])
            elif message["msg_type"] == "error":
                output.append("\n".join(content["traceback"]))

        reply = client.execute_interactive(code, timeout=1800, output_hook=hook)
        text = "".join(output)
        if reply["content"]["status"] != "ok" or "BENCH" not in text:
            raise RuntimeError(f"the widget bench failed in the kernel:\n{text}")
        return json.loads(text.split("BENCH", 1)[1].splitlines()[0])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


# -- report ----------------------------------------------------------------------------------


def pair(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f}"


def report(
    options: argparse.Namespace,
    api: dict[tuple[str, str], list[float]],
    widget: dict[str, Any],
    names: list[str],
    load: tuple[float, float],
) -> str:
    times = widget["times"]
    head = (
        processes.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        or "?"
    )
    labels = {"after": f"this checkout `{head}`", "before": f"baseline `{options.baseline}`"}
    columns = [labels[name] for name in names]
    typed = ", ".join(f"“{word}”" for word in WORDS)
    keystrokes = sum(len(word) for word in WORDS)
    lines = [
        f"## Search widget: keystroke→results with {options.packages:,} packages",
        "",
        f"`./scripts/bench widgets --packages {options.packages} --rounds {options.rounds}"
        + (f" --baseline {options.baseline}" if options.baseline else "")
        + "`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, SQLite, one server process"
        + (" per source (both running)" if options.baseline else "")
        + ", "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}); "
        f"load average {load[0]:.1f} at start, {load[1]:.1f} at the end: the machine is "
        "shared, figures are medians of series interleaved between the servers. "
        f"{options.packages:,} packages in one namespace, every tenth private, descriptions "
        f"of {options.description_bytes:,} bytes. Typed: {typed} ({keystrokes} keystrokes "
        f"per round, {options.rounds} rounds after a warm-up round). "
        f"Target: keystroke→results p50 under {TARGET_MS:.0f} ms.",
        "",
        "| p50 / p95 (ms) | " + " | ".join(columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    after = statistics.median(times["after/0"])
    lines.append(
        "| **keystroke→results, widget, debounce 0** (with the owner's token) | "
        + " | ".join(pair(times[f"{name}/0"]) for name in names)
        + " |"
    )
    lines.append(
        f"| keystroke→results, default debounce ({widget['default_debounce']} s), "
        f"last key of a word typed at {options.key_interval:.0f} ms per key | "
        + " | ".join(pair(times[f"{name}/default"]) for name in names)
        + " |"
    )
    for who, text in (("anonymous", "anonymous"), ("token", "with the owner's token")):
        lines.append(
            f"| GET /api/search, per_page {PER_PAGE}, {text} | "
            + " | ".join(pair(api[name, who]) for name in names)
            + " |"
        )
    verdict = "met" if after < TARGET_MS else "**missed**"
    lines += [
        "",
        f"Target ({TARGET_MS:.0f} ms p50, debounce 0, this checkout): {verdict} "
        f"({after:.0f} ms). The widget's time is from setting `widget.query.value` in the "
        "kernel to `await SearchDriver(widget).results()` returning: the request on the widget's "
        "thread pool, the installed-version lookup, and the update of the 20 result rows "
        "(comm messages sent by the kernel). A browser's rendering of those messages is not "
        "included. With the default debounce a word typed faster than the debounce makes "
        "one request, after the last key; the debounce is added to what the user waits.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--description-bytes",
        type=int,
        default=2000,
        help="each package's description (uploads store the README there)",
    )
    parser.add_argument(
        "--key-interval",
        type=float,
        default=80.0,
        help="ms between keystrokes for the default-debounce series",
    )
    parser.add_argument("--baseline", help="git ref of the server to compare with")
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    load_start = os.getloadavg()[0]
    servers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="jupyter-repo-bench-") as scratch:
        root = Path(scratch)
        sources: dict[str, Path | None] = {"after": None}
        if options.baseline:
            sources["before"] = baseline_source(options.baseline, root)
        targets = []
        try:
            for name, source in sources.items():
                data = root / name
                started = time.perf_counter()
                token = fill(root, data, options.packages, options.description_bytes, source)
                print(
                    f"{name}: {options.packages} packages in {time.perf_counter() - started:.1f} s",
                    flush=True,
                )
                server, base = start_server(root, data, source)
                servers.append(server)
                targets.append(Target(name, base, token))
            api = measure_api(targets, options.rounds)
            print("measured /api/search", flush=True)
            widget = widget_in_kernel(targets, options.rounds, options.key_interval / 1000)
        finally:
            for server in servers:
                server.terminate()
                server.wait(15)
    text = report(options, api, widget, list(sources), (load_start, os.getloadavg()[0]))
    print(text)
    if not options.no_write:
        write_section("widgets", text)
        print("\nwritten to bench/RESULTS.md")


if __name__ == "__main__":
    main()
