"""Server time of the web pages with 10,000 packages in one namespace.

    .venv/bin/python bench/web_pages.py [--packages 10000] [--requests 200]

Fills a fresh repository (bulk rows for the many packages, real uploads for the package
and notebook pages measured), starts `jupyter repo serve` on a free 127.0.0.1 port and
requests each page many times one after another. "Server time" is the `Server-Timing`
header each page carries (from the request's arrival to the end of the response); the
client's wall time is reported too. Results replace this bench's section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import requests
from nbformat.v4 import new_markdown_cell

from bench.load import bulk_packages
from bench.results import write_section
from jupyter_repo.demo import builders
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Account
from jupyter_repo.repository.services import accounts
from jupyter_repo.repository.services.uploads import DirectOptions, ingest_local_file
from tests.support import processes

ROOT = Path(__file__).resolve().parent.parent

OWNER = "bench"
PASSWORD = "bench-password"
TARGET_MS = 100.0
#: About 12 KB of reStructuredText, like a real project's README.
LONG_README = "\n\n".join(
    f"Section {number}\n{'=' * (8 + len(str(number)))}\n\n"
    f"Some **bold** text, ``literal code``, a `link <https://example.org/{number}>`_ and\n"
    "a list:\n\n* one item\n* another item\n\n.. code-block:: python\n\n"
    f"    def f{number}(x):\n        return x * {number}\n"
    for number in range(40)
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def populate(repo: Repository, count: int, work: Path) -> dict[str, str]:
    """``count`` packages in one namespace, plus the real files of the measured pages."""
    started = time.perf_counter()
    user = repo.call(lambda s: accounts.create_user(s, OWNER, PASSWORD).id, write=True)
    actor = repo.call(lambda s: accounts.password_actor(s.get(Account, user)))
    bulk_packages(repo, user, count)

    def upload(package: str, version: str, basename: str, path: Path, **options: object) -> None:
        ingest_local_file(
            repo, actor, OWNER, package, version, basename, path, DirectOptions(**options)
        )  # type: ignore[arg-type]

    # The measured package: 30 versions on two platforms, on two labels.
    for minor in range(30):
        version = f"2.{minor}"
        for subdir in ("linux-64", "osx-arm64"):
            path = builders.conda_package(work, "measured", version, subdir=subdir, build="h0_0")
            upload(
                "measured",
                version,
                f"{subdir}/{path.name}",
                path,
                labels=("main",) if minor % 3 else ("main", "dev"),
            )
    notebook = builders.notebook(work, "analysis.ipynb", title="Benchmark notebook")
    upload("notebook", "1", notebook.name, notebook, distribution_type="ipynb")
    # Its second version (one cell changed, one added), for the page of what changed.
    changed = json.loads(notebook.read_text())
    changed["cells"][-1]["source"] = "# changed in version 2\n" + "".join(
        changed["cells"][-1]["source"]
    )
    changed["cells"].append(new_markdown_cell("Added in version 2."))
    (work / "v2").mkdir(exist_ok=True)
    second = work / "v2" / "analysis.ipynb"
    second.write_text(json.dumps(changed))
    upload("notebook", "2", second.name, second, distribution_type="ipynb")
    # A wheel whose reStructuredText description (a long README) the package page renders.
    described = builders.wheel(
        work,
        "described",
        "1.0",
        description=LONG_README,
        description_content_type="text/x-rst",
    )
    upload("described", "1.0", described.name, described)
    print(f"populated {count} packages in {time.perf_counter() - started:.1f} s", flush=True)
    return {
        "home": "/",
        "owner": f"/{OWNER}",
        "owner, page 150": f"/{OWNER}?page=150",
        "package": f"/{OWNER}/measured",
        "notebook": f"/{OWNER}/notebook/files/1/analysis.ipynb",
        "notebook diff (1 → 2)": f"/{OWNER}/notebook/diff/1/2",
        "package with a long description (reST)": f"/{OWNER}/described",
        "badge (version.svg)": f"/{OWNER}/measured/badges/version.svg",
        "search": "/search?q=pkg-0999",
        # The navigation of issue 21: filters with counts over every package, sorting,
        # long pages.
        "search, every package (filter counts)": "/search?q=",
        "search by last update, platform filter": "/search?q=pkg&sort=updated&platform=noarch",
        "owner by last update": f"/{OWNER}?sort=updated",
        "owner, per_page 200": f"/{OWNER}?per_page=200",
        "package, per_page 200": f"/{OWNER}/measured?per_page=200",
    }


def server_ms(response: requests.Response) -> float:
    match = re.search(r"dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    assert match, f"no Server-Timing on {response.url}"
    return float(match.group(1))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(session: requests.Session, url: str, count: int) -> dict[str, float]:
    for _ in range(5):
        session.get(url, timeout=60).raise_for_status()
    server, wall = [], []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        wall.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        server.append(server_ms(response))
    return {
        "p50": statistics.median(server),
        "p95": percentile(server, 0.95),
        "max": max(server),
        "wall_p50": statistics.median(wall),
        "wall_p95": percentile(wall, 0.95),
    }


def log_in(session: requests.Session, base: str) -> None:
    page = session.get(f"{base}/login", timeout=30).text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = session.post(
        f"{base}/login",
        data={"_xsrf": xsrf, "username": OWNER, "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status_code == 303, response.text


def write_results(text: str) -> None:
    write_section("web-pages", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jupyter-repo-bench-") as scratch:
        root = Path(scratch)
        repo = Repository(data_dir=str(root / "data"))
        repo.migrate()
        pages = populate(repo, options.packages, root / "work")
        repo.close()
        port = free_port()
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(root / "config"),
            "JUPYTER_DATA_DIR": str(root / "jupyter"),
        }
        server = processes.popen(
            [
                sys.executable,
                "-m",
                "jupyter_repo",
                "serve",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--Repository.data_dir={root / 'data'}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(base + "/api", timeout=2)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.2)
            anonymous = requests.Session()
            cold = anonymous.get(base + pages["notebook"], timeout=120)
            cold.raise_for_status()
            cold_ms = server_ms(cold)
            started = time.perf_counter()
            while (
                "Refresh" in (diff := anonymous.get(base + pages["notebook diff (1 → 2)"])).headers
            ):
                time.sleep(0.2)
            diff.raise_for_status()
            cold_diff_ms = (time.perf_counter() - started) * 1000
            results = {
                name: measure(anonymous, base + path, options.requests)
                for name, path in pages.items()
            }
            owner = requests.Session()
            log_in(owner, base)
            pages["account"] = "/account"
            for name in ("home", "owner", "package", "account"):
                results[f"{name} (logged in as the owner)"] = measure(
                    owner, base + pages[name], options.requests
                )
        finally:
            server.terminate()
            server.wait(15)

    lines = [
        f"## Web pages: server time with {options.packages:,} packages in one namespace",
        "",
        f"`bench/web_pages.py --packages {options.packages} --requests {options.requests}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d}, SQLite, one server process, "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), "
        "machine shared with other jobs. Sequential requests after 5 warm-up requests; "
        "server time from the `Server-Timing` header. "
        f"Target: p95 under {TARGET_MS:.0f} ms.",
        "",
        "| page | server p50 | server p95 | server max | client p50 | client p95 | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, numbers in results.items():
        verdict = "met" if numbers["p95"] < TARGET_MS else "**missed**"
        lines.append(
            f"| {name} | {numbers['p50']:.1f} ms | {numbers['p95']:.1f} ms | "
            f"{numbers['max']:.1f} ms | {numbers['wall_p50']:.1f} ms | "
            f"{numbers['wall_p95']:.1f} ms | {verdict} |"
        )
    lines += [
        "",
        f"First (uncached) rendering of the notebook page: {cold_ms:.0f} ms server "
        "time; later requests are served from the render cache. First (uncached) diff of "
        f"the two notebook versions, until shown: {cold_diff_ms:.0f} ms (in a render worker).",
    ]
    text = "\n".join(lines)
    print(text)
    if not options.no_write:
        write_results(text)
        print("\nwritten to bench/RESULTS.md")


if __name__ == "__main__":
    main()
