"""Soak: mixed traffic against one server process for a fixed time (a command, not a test).

Several client threads, each on its own keep-alive connection, pick operations by weight:
repodata revalidation (conditional GETs with the client's last ETag, like conda), PyPI simple
pages, searches, downloads of uploaded files, web pages, and uploads (conda packages, wheels
and plain files). Every answer is checked against the status the operation expects; anything
else, and every 5xx or broken connection, is an error. The server's memory (RSS) is sampled
throughout. The table goes to the ``soak`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.load import load
from bench.results import write_section
from bench.run import Client, Server, machine, percentile
from jupyter_repo.demo import builders
from tests.support.services import PostgreSQL

#: operation → weight. Reads dominate, as they do for a team's repository.
MIX = {
    "repodata": 30,
    "pypi-simple": 10,
    "search": 10,
    "download": 15,
    "web": 15,
    "upload-file": 8,
    "upload-conda": 6,
    "upload-wheel": 6,
}


@dataclass
class Tally:
    """What the clients saw, shared by all threads (under a lock)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)  # download paths of uploaded files
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, problem: str | None) -> None:
        with self.lock:
            self.latencies[operation].append(seconds * 1000)
            if problem:
                self.errors[operation] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{operation}: {problem}")


class Payloads:
    """Conda packages and wheels built before the run, each uploaded once."""

    def __init__(self, folder: Path, count: int) -> None:
        self.conda = [
            builders.conda_package(folder / "conda", "soak-conda", f"1.{i}") for i in range(count)
        ]
        self.wheels = [
            builders.wheel(folder / "wheels", "soak-wheel", f"1.{i}") for i in range(count)
        ]
        self.lock = threading.Lock()

    def take(self, kind: str) -> Path | None:
        with self.lock:
            pool = self.conda if kind == "conda" else self.wheels
            return pool.pop() if pool else None


class Worker:
    def __init__(
        self,
        url: str,
        owner: str,
        token: str,
        packages: list[str],
        tally: Tally,
        payloads: Payloads,
        seed: int,
    ) -> None:
        self.client = Client(url)
        self.owner = owner
        self.auth = {"Authorization": f"token {token}"}
        self.packages = packages
        self.tally = tally
        self.payloads = payloads
        self.rng = random.Random(seed)
        self.etags: dict[str, str] = {}
        self.counter = 0

    def run(self, deadline: float) -> None:
        operations, weights = zip(*MIX.items(), strict=True)
        while time.monotonic() < deadline:
            operation = self.rng.choices(operations, weights)[0]
            started = time.perf_counter()
            try:
                problem = getattr(self, operation.replace("-", "_"))()
            except Exception as error:  # a broken connection is an error of the run
                problem = f"{type(error).__name__}: {error}"
            self.tally.record(operation, time.perf_counter() - started, problem)

    def _get(
        self, path: str, expected: tuple[int, ...] = (200,), headers: dict[str, str] | None = None
    ) -> tuple[str | None, dict[str, str], bytes]:
        status, answer_headers, body = self.client.request("GET", path, headers=headers)
        problem = None if status in expected else f"GET {path} -> {status} {body[:120]!r}"
        return problem, answer_headers, body

    def repodata(self) -> str | None:
        subdir = self.rng.choice(["linux-64", "noarch"])
        path = f"/conda/{self.owner}/{subdir}/repodata.json"
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        problem, answer, _body = self._get(path, (200, 304), {**headers, "Accept-Encoding": "gzip"})
        if "etag" in answer:
            self.etags[path] = answer["etag"]
        return problem

    def pypi_simple(self) -> str | None:
        path = self.rng.choice(
            [f"/pypi/{self.owner}/simple/", f"/pypi/{self.owner}/simple/soak-wheel/"]
        )
        return self._get(path, (200, 404) if path.endswith("soak-wheel/") else (200,))[0]

    def search(self) -> str | None:
        name = self.rng.choice(self.packages)[: self.rng.randint(4, 9)]
        return self._get(f"/api/search?name={quote(name)}")[0]

    def download(self) -> str | None:
        with self.tally.lock:
            choices = list(self.tally.downloads[-200:])
        if not choices:
            return self.search()
        return self._get(self.rng.choice(choices), headers=self.auth)[0]

    def web(self) -> str | None:
        package = self.rng.choice(self.packages)
        path = self.rng.choice(["/", f"/{self.owner}", f"/{self.owner}/{package}"])
        return self._get(path)[0]

    def _upload(
        self, package: str, version: str, basename: str, body: bytes, kind: str
    ) -> str | None:
        path = f"/api/upload/{self.owner}/{package}/{version}/{quote(basename)}?type={kind}"
        status, _headers, answer = self.client.request("PUT", path, body=body, headers=self.auth)
        if status != 201:
            return f"PUT {path} -> {status} {answer[:120]!r}"
        with self.tally.lock:
            self.tally.downloads.append(
                f"/api/download/{self.owner}/{package}/{version}/{quote(basename)}"
            )
        return None

    def upload_file(self) -> str | None:
        self.counter += 1
        name = f"blob-{threading.get_ident() % 10000}-{self.counter}.bin"
        body = os.urandom(self.rng.choice([4_000, 64_000, 1_000_000]))
        # A new package every 2,000 uploads of each client: a package holds at most
        # Repository.max_files_per_package files (10,000), which a fast run reaches.
        package = f"soak-files-{self.counter // 2000}"
        return self._upload(package, "1", name, body, "file")

    def upload_conda(self) -> str | None:
        path = self.payloads.take("conda")
        if path is None:
            return self.upload_file()
        version = path.name.split("-")[2]
        return self._upload(
            "soak-conda", version, f"noarch/{path.name}", path.read_bytes(), "conda"
        )

    def upload_wheel(self) -> str | None:
        path = self.payloads.take("wheel")
        if path is None:
            return self.upload_file()
        version = path.name.split("-")[1]
        return self._upload("soak-wheel", version, path.name, path.read_bytes(), "pypi")


def sample_rss(server: Server, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            samples.append((time.monotonic(), server.rss()))
        except Exception:  # the process went away; the run reports it as errors
            return


def soak(
    seconds: int,
    clients: int,
    files: int,
    work: Path,
    database: str,
    serve: tuple[str, ...],
    log: Path | None = None,
) -> str:
    postgres = PostgreSQL().start() if database == "postgres" else None
    try:
        db_url = postgres.create_database("soak") if postgres else ""
        return _soak(seconds, clients, files, work, database, db_url, serve, log)
    finally:
        if postgres is not None:
            postgres.stop()


def _soak(
    seconds: int,
    clients: int,
    files: int,
    work: Path,
    database: str,
    db_url: str,
    serve: tuple[str, ...],
    log: Path | None = None,
) -> str:
    loaded = load(work / "data", files, owner="soak", db_url=db_url)
    payloads = Payloads(work / "payloads", 400)
    arguments = (*((f"--Repository.db_url={db_url}",) if db_url else ()), *serve)
    server = Server(work / "data", log or work / "server.log", arguments).start()
    tally = Tally()
    load_start = os.getloadavg()
    try:
        # Warm-up (indexes built, pages compiled), then the measured run.
        warm = Worker(server.url, loaded.owner, loaded.token, loaded.packages, Tally(), payloads, 0)
        warm.run(time.monotonic() + 10)
        rss: list[tuple[float, int]] = [(time.monotonic(), server.rss())]
        cpu_start = server.cpu_seconds()
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(server, rss, stop), daemon=True)
        sampler.start()
        workers = [
            Worker(server.url, loaded.owner, loaded.token, loaded.packages, tally, payloads, seed)
            for seed in range(1, clients + 1)
        ]
        started = time.monotonic()
        threads = [threading.Thread(target=w.run, args=(started + seconds,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        rss.append((time.monotonic(), server.rss()))
        cpu = server.cpu_seconds() - cpu_start
        load_end = os.getloadavg()
    finally:
        server.stop()
    return report(
        tally, rss, elapsed, seconds, clients, files, database, serve, (load_start, load_end), cpu
    )


def report(
    tally: Tally,
    rss: list[tuple[float, int]],
    elapsed: float,
    seconds: int,
    clients: int,
    files: int,
    database: str = "sqlite",
    serve: tuple[str, ...] = (),
    loads: tuple[tuple[float, ...], tuple[float, ...]] = ((), ()),
    cpu: float = 0.0,
) -> str:
    total = sum(len(values) for values in tally.latencies.values())
    errors = sum(tally.errors.values())
    every = [value for values in tally.latencies.values() for value in values]
    mib = [value / 2**20 for _, value in rss]
    # Memory growth over the second half of the run: caches fill early, a leak keeps growing.
    half = [value for moment, value in rss if moment >= rss[0][0] + elapsed / 2]
    options = f" --database {database}" if database != "sqlite" else ""
    options += "".join(f" --serve={argument}" for argument in serve)
    store = "PostgreSQL 15 in a throwaway cluster" if database == "postgres" else "SQLite"
    lines = [
        f"### {store}",
        "",
        f"`./scripts/bench soak --seconds {seconds}{options}`: {clients} client threads on "
        "keep-alive "
        f"connections, a channel of {files} conda files loaded first, a 10 s warm-up, then "
        f"{elapsed:.0f} s of traffic mixed by weight ("
        + ", ".join(f"{name} {weight}" for name, weight in MIX.items())
        + f"). One server process ({store}, local blob store); clients on the same 2 cores.",
        "",
        f"Machine: {machine()}; load average (1 / 5 / 15 min) "
        + " at the start, ".join(" / ".join(f"{v:.1f}" for v in load) for load in loads)
        + " at the end (the cores are shared with other work)",
        "",
        f"- requests: {total}, **{total / elapsed:.1f} requests/s**",
        f"- latency p50 / p99: {percentile(every, 0.5):.1f} / {percentile(every, 0.99):.1f} ms",
        f"- server CPU: {cpu:.0f} s over {elapsed:.0f} s ({cpu / elapsed:.2f} cores on average; "
        "a process's Python code runs on one core at a time)",
        f"- **errors: {errors}**" + (f" ({'; '.join(tally.examples)})" if errors else ""),
        f"- server RSS: {mib[0]:.0f} MiB at start, {max(mib):.0f} MiB peak, "
        f"{mib[-1]:.0f} MiB at end; growth over the second half "
        f"{(half[-1] - half[0]) / 2**20 if len(half) > 1 else 0:+.1f} MiB",
        "",
        "| operation | requests | errors | p50 (ms) | p99 (ms) | mean (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in MIX:
        values = tally.latencies.get(name, [])
        if not values:
            continue
        lines.append(
            f"| {name} | {len(values)} | {tally.errors[name]} | "
            f"{percentile(values, 0.5):.1f} | {percentile(values, 0.99):.1f} | "
            f"{statistics.fmean(values):.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="length of the measured run")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--files", type=int, default=2000, help="conda files loaded first")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the server's database (postgres: a throwaway cluster, tests/support/services.py)",
    )
    parser.add_argument(
        "--serve",
        action="append",
        default=[],
        help="one more option of `jupyter repo serve` (repeatable), e.g. --serve=--ServeApp.x=1",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--log", default="", help="keep the server's log in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        text = soak(
            args.seconds,
            args.clients,
            args.files,
            Path(scratch),
            args.database,
            tuple(args.serve),
            Path(args.log) if args.log else None,
        )
    print(text)
    if not args.no_write:
        write_section(f"soak-{args.database}", text)


if __name__ == "__main__":
    main()
