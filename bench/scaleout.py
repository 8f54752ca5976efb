"""The scaled-out benchmark: ``./scripts/bench scaleout`` (or ``python -m bench.scaleout``).

Starts PostgreSQL, Swift with its S3 API and two server processes behind nginx on this
machine (the test suite's ``ScaledRepo``), then measures:

- publish→visible across processes: an upload through process A, polled until process B
  lists it in ``repodata.json`` (p50/p95);
- 304 revalidation throughput through nginx (``wrk``): answered by nginx alone from the
  static index folder (``c.Repository.static_index_dir``), and passed to the processes
  (the same document under ``/label/main/``, which has no file), with the load average;
- a 1 GB upload through nginx into the S3 bucket (multipart): MB/s and the growth of the
  server processes' memory;
- the 1 GB download back through nginx (streamed from S3): MB/s and memory growth.

Writes its section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

from bench.results import write_section
from jupyter_repo.demo import builders
from tests.support import processes
from tests.support.scaleout import ScaledRepo


class PeakMemory:
    """Highest resident memory of several processes, polled every 10 ms."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]
        self.start = {p.pid: p.memory_info().rss for p in self.processes}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for process in self.processes:
                self.peak[process.pid] = max(self.peak[process.pid], process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def growth_mib(self) -> float:
        return max(self.peak[pid] - self.start[pid] for pid in self.start) / 2**20

    def describe(self) -> str:
        return ", ".join(
            f"{self.start[pid] / 2**20:.0f} → {self.peak[pid] / 2**20:.0f} MiB"
            for pid in self.start
        )


def publish_to_visible(repo: ScaledRepo, token: str, work: Path, count: int) -> list[float]:
    first, second = repo.processes
    timings = []
    for index in range(count):
        package = builders.conda_package(work / "pkgs", "crossbench", f"1.{index}")
        body = package.read_bytes()
        url = f"{second.url}/conda/bench/noarch/repodata.json"
        started = time.perf_counter()
        response = requests.put(
            f"{first.api}/upload/bench/crossbench/1.{index}/noarch/{package.name}",
            data=body,
            headers={"Authorization": f"token {token}"},
            timeout=60,
        )
        assert response.status_code == 201, response.text
        while package.name not in requests.get(url, timeout=60).json().get("packages.conda", {}):
            time.sleep(0.005)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def revalidations(
    url: str, seconds: int, *, static: bool
) -> tuple[float, tuple[float, float]] | None:
    """req/s of 304s for ``url`` and the 1-minute load average before and after."""
    if not shutil.which("wrk"):
        return None
    first = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    assert first.status_code == 200, first.text
    # Prove where the answers come from: nginx's static location marks its own.
    assert (first.headers.get("X-Served-By") == "static-index") == static, first.headers
    etag = first.headers["ETag"]
    before = os.getloadavg()[0]
    result = processes.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"If-None-Match: {etag}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx or 3xx" in result.stdout:
        raise AssertionError("wrk saw errors:\n" + result.stdout)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    return rate, (before, os.getloadavg()[0])


def _served_statically(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(url, timeout=60).headers.get("X-Served-By") != "static-index":
        assert time.monotonic() < deadline, f"nginx never served {url} from the folder"
        time.sleep(0.1)


def big_file(path: Path, size_mb: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for index in range(size_mb):
            chunk = block[:-8] + index.to_bytes(8, "big")
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--wrk-seconds", type=int, default=8)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    repo = ScaledRepo(work / "tier")
    rows: list[tuple[str, str]] = []
    load = os.getloadavg()
    try:
        repo.start()
        repo.create_user("bench")
        token = repo.token("bench")
        timings = publish_to_visible(repo, token, work, args.publishes)
        rows.append(
            (
                "publish via process A → visible in process B's repodata.json, p50 / p95 (ms)",
                f"{statistics.median(timings):.0f} / "
                f"{sorted(timings)[int(len(timings) * 0.95) - 1]:.0f}",
            )
        )
        static_url = f"{repo.url}/conda/bench/noarch/repodata.json"
        _served_statically(static_url)
        for label, url, static in (
            ("answered by nginx from the static folder", static_url, True),
            (
                "passed to the processes (`/label/main/`, no file)",
                f"{repo.url}/conda/bench/label/main/noarch/repodata.json",
                False,
            ),
        ):
            measured = revalidations(url, args.wrk_seconds, static=static)
            value = "wrk not installed"
            if measured:
                rate, (before, after) = measured
                value = f"{rate:,.0f} (load average {before:.1f} before, {after:.1f} after)"
            measure = f"304 revalidation through nginx, {label} (wrk, 2 threads, 32 conn.)"
            rows.append((f"{measure}, req/s", value))
        path = work / "big.bin"
        sha256 = big_file(path, args.upload_mb)
        pids = [p.process.pid for p in repo.processes if p.process]
        with PeakMemory(pids) as memory, open(path, "rb") as body:
            started = time.perf_counter()
            response = requests.put(
                f"{repo.api}/upload/bench/big/1/big.bin",
                data=body,
                headers={"Authorization": f"token {token}"},
                params={"sha256": sha256},
                timeout=3600,
            )
            upload_seconds = time.perf_counter() - started
        assert response.status_code == 201, response.text
        size = path.stat().st_size
        rows.append(
            (
                f"upload of {size / 1e9:.2f} GB through nginx into S3 (multipart), MB/s",
                f"{size / upload_seconds / 1e6:.0f}",
            )
        )
        rows.append(
            (
                "server memory during the upload (per process, start → peak)",
                f"{memory.describe()} (max growth {memory.growth_mib():.0f} MiB)",
            )
        )
        with PeakMemory(pids) as memory:
            started = time.perf_counter()
            digest = hashlib.sha256()
            with requests.get(
                f"{repo.api}/download/bench/big/1/big.bin", stream=True, timeout=3600
            ) as download:
                for chunk in download.iter_content(1 << 20):
                    digest.update(chunk)
            download_seconds = time.perf_counter() - started
        assert digest.hexdigest() == sha256
        rows.append(
            (
                f"download of the {size / 1e9:.2f} GB file through nginx from S3, MB/s",
                f"{size / download_seconds / 1e6:.0f}",
            )
        )
        rows.append(
            ("server memory during the download (max growth)", f"{memory.growth_mib():.0f} MiB")
        )
    finally:
        repo.close()
        shutil.rmtree(work, ignore_errors=True)
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python "
        f"{platform.python_version()}; load average at start {load[0]:.1f}"
    )
    table = "| measure | value |\n| --- | --- |\n" + "".join(
        f"| {name} | {value} |\n" for name, value in rows
    )
    text = (
        "## Scaled out: PostgreSQL + Swift (S3 API) + two processes behind nginx\n\n"
        f"Latest run of `./scripts/bench scaleout` ({time.strftime('%Y-%m-%d %H:%M %Z')}). "
        f"Machine: {machine}. Everything (database, object store, nginx, both server "
        "processes and the client) runs on this one machine.\n\n" + table
    )
    print(text)
    if not args.no_write:
        write_section("scaleout", text)


if __name__ == "__main__":
    main()
