"""The channel benchmark: ``./scripts/bench`` (or ``python -m bench.run``).

For each N (default 1k, 10k, 100k files) it bulk-loads a channel (``bench/load.py``), starts a
real server process on 127.0.0.1 and measures, over HTTP:

- publish→visible: a real upload (``PUT /api/upload``) of one more package version, timed
  until a client sees it in ``repodata.json``, in ``repodata.json.zst``, and through the
  CEP-16 shards (three separate series, each from a fresh conditional-request state);
- GET latency of ``linux-64/repodata.json`` and ``.zst`` (full bodies, keep-alive);
- 304 revalidation throughput with ``wrk`` (a separate process) and ``If-None-Match``;
- upload throughput of a 500 MB file and the server's peak memory during it;
- search latency (``/api/search``);
- the cold build of the 66k-record subdir after a restart.

It prints one table and writes it, with the machine's description, to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import msgpack
import psutil

from bench.load import load
from bench.results import RESULTS, write_section
from jupyter_repo.demo import builders
from tests.support import processes

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent


# -- a minimal keep-alive client (http.client reads big bodies in one go) --------------------


class Client:
    def __init__(self, base: str, timeout: float = 120) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
                if attempt:
                    raise
        raise AssertionError("unreachable")


# -- the server ------------------------------------------------------------------------------


class Server:
    def __init__(self, data_dir: Path, log: Path, arguments: tuple[str, ...] = ()) -> None:
        """``arguments``: more command-line options of ``serve`` (e.g. ``--Repository.db_url``)."""
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = log
        self.arguments = arguments
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> Server:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.data_dir / "config"),
            "PYTHONUNBUFFERED": "1",
        }
        with open(self.log, "ab") as log:
            self.process = processes.popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_repo",
                    "serve",
                    f"--port={self.port}",
                    "--ip=127.0.0.1",
                    f"--Repository.data_dir={self.data_dir}",
                    *self.arguments,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not wait:
            return self
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                Client(self.url).request("GET", "/api/")
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; see {self.log}")

    def rss(self) -> int:
        assert self.process is not None
        return psutil.Process(self.process.pid).memory_info().rss

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(60)  # a large snapshot is saved at shutdown
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


# -- measurements ----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Row:
    files: int
    subdir_records: int = 0
    cold_build_s: float = 0.0
    upload_put_ms: list[float] = field(default_factory=list)
    visible_json_ms: list[float] = field(default_factory=list)
    visible_zst_ms: list[float] = field(default_factory=list)
    visible_shards_ms: list[float] = field(default_factory=list)
    get_json_ms: list[float] = field(default_factory=list)
    get_zst_ms: list[float] = field(default_factory=list)
    json_bytes: int = 0
    zst_bytes: int = 0
    revalidations_per_s: float = 0.0
    upload_mb_s: float = 0.0
    upload_peak_mib: float = 0.0
    upload_base_mib: float = 0.0
    search_ms: list[float] = field(default_factory=list)
    idle_rss_mib: float = 0.0
    restart_build_s: float = 0.0
    load_average: float = 0.0


class Publisher:
    """Uploads new versions of existing linux-64 packages and waits until clients see them."""

    def __init__(
        self, server: Server, owner: str, token: str, packages: list[str], work: Path
    ) -> None:
        self.server, self.owner, self.token = server, owner, token
        self.packages = packages
        self.work = work
        self.base = f"/conda/{owner}/linux-64"
        self.client = Client(server.url)
        self.uploader = Client(server.url)
        self.etags: dict[str, str] = {}
        self.count = 0
        self.arrived = 0.0

    def _conditional(self, path: str) -> tuple[int, bytes]:
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        status, response_headers, body = self.client.request("GET", path, headers=headers)
        self.arrived = time.perf_counter()
        if status == 200:
            self.etags[path] = response_headers["etag"]
        return status, body

    # Each check says whether the file is in what the server answered; the publish is
    # visible when that answer arrived (``self.arrived``), not when the client has finished
    # decompressing and searching it (~0.7 s for a million-file repodata.json.zst).

    def _sees_json(self, filename: str) -> bool:
        status, body = self._conditional(self.base + "/repodata.json")
        return status == 200 and f'"{filename}"'.encode() in body

    def _sees_zst(self, filename: str) -> bool:
        status, body = self._conditional(self.base + "/repodata.json.zst")
        return status == 200 and f'"{filename}"'.encode() in zstd.decompress(body)

    def _sees_shard(self, filename: str, name: str) -> bool:
        status, body = self._conditional(self.base + "/repodata_shards.msgpack.zst")
        if status != 200:
            return False
        digest = msgpack.unpackb(zstd.decompress(body))["shards"][name].hex()
        status, _headers, shard = self.client.request(
            "GET", f"{self.base}/shards/{digest}.msgpack.zst"
        )
        self.arrived = time.perf_counter()
        records = msgpack.unpackb(zstd.decompress(shard))
        return filename in records["packages.conda"]

    def prime(self) -> None:
        for path in ("/repodata.json", "/repodata.json.zst", "/repodata_shards.msgpack.zst"):
            self._conditional(self.base + path)

    def publish(self, kind: str, row: Row) -> None:
        name = self.packages[(self.count * 7919) % len(self.packages)]
        version = f"9.{self.count}"
        self.count += 1
        path = builders.conda_package(
            self.work / f"{name}-{version}", name, version, subdir="linux-64", build="h0_0"
        )
        body = path.read_bytes()
        check = {
            "json": lambda: self._sees_json(path.name),
            "zst": lambda: self._sees_zst(path.name),
            "shards": lambda: self._sees_shard(path.name, name),
        }[kind]
        started = time.perf_counter()
        status, _headers, answer = self.uploader.request(
            "PUT",
            f"/api/upload/{self.owner}/{name}/{version}/linux-64/{path.name}",
            body=body,
            headers={"Authorization": f"token {self.token}", "Content-Length": str(len(body))},
        )
        put_done = time.perf_counter()
        assert status == 201, answer[:300]
        deadline = started + 30
        while not check():
            if time.perf_counter() > deadline:
                raise AssertionError(f"{path.name} not visible ({kind}) after 30 s")
        visible = self.arrived
        row.upload_put_ms.append((put_done - started) * 1000)
        getattr(row, f"visible_{kind}_ms").append((visible - started) * 1000)


def wait_idle(server: Server, limit: float = 120.0) -> None:
    """Wait until the server process has used under 10 % of a core for a second."""
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    deadline = time.monotonic() + limit
    process.cpu_percent()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        if process.cpu_percent() < 10:
            return


def revalidation_rate(server: Server, path: str, etag: str, seconds: int) -> float:
    """Requests per second of conditional GETs answered 304, loaded by wrk (or Python)."""
    url = server.url + path
    if shutil.which("wrk"):
        result = processes.run(
            ["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"If-None-Match: {etag}", url],
            capture_output=True,
            text=True,
            check=True,
        )
        if "Non-2xx or 3xx" in result.stdout:
            raise AssertionError("wrk saw errors:\n" + result.stdout)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    return _python_load(url, etag, seconds)


def _python_load(url: str, etag: str, seconds: int) -> float:
    script = (
        "import http.client,sys,time\n"
        "from urllib.parse import urlsplit\n"
        "u=urlsplit(sys.argv[1]);c=http.client.HTTPConnection(u.hostname,u.port);n=0\n"
        "end=time.time()+float(sys.argv[3])\n"
        "while time.time()<end:\n"
        "  c.request('GET',u.path,headers={'If-None-Match':sys.argv[2]})\n"
        "  r=c.getresponse();r.read();assert r.status==304;n+=1\n"
        "print(n)\n"
    )
    workers = [
        processes.popen(
            [sys.executable, "-c", script, url, etag, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    return sum(int(worker.communicate()[0]) for worker in workers) / seconds


class PeakRss:
    """A process's RSS when created (``base``, bytes) and its peak until :meth:`stop`,
    polled on a thread every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.base = self.peak = self.process.memory_info().rss
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:  # the process has gone
                return
            time.sleep(self.interval)

    def stop(self) -> float:
        """The peak, in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def upload_throughput(
    server: Server, owner: str, token: str, source: Path, name: str
) -> tuple[float, float, float]:
    """MB/s of a big upload with curl, and the server's RSS before and at peak (MiB)."""
    assert server.process is not None
    rss = PeakRss(server.process.pid)
    path = f"/api/upload/{owner}/{name}/1/{source.name}?type=file"
    started = time.perf_counter()
    if shutil.which("curl"):  # a C client, so that the client is not the bottleneck
        result = processes.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-T",
                str(source),
                "-H",
                f"Authorization: token {token}",
                server.url + path,
            ],
            capture_output=True,
            text=True,
        )
        status = result.stdout.strip()
    else:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, blocksize=1 << 20)
        with open(source, "rb") as body:
            connection.request(
                "PUT",
                path,
                body=body,
                headers={
                    "Authorization": f"token {token}",
                    "Content-Length": str(source.stat().st_size),
                },
            )
        response = connection.getresponse()
        response.read()
        status = str(response.status)
    elapsed = time.perf_counter() - started
    peak = rss.stop()
    if status != "201":
        raise AssertionError(f"upload failed with {status}")
    return source.stat().st_size / elapsed / 1e6, rss.base / 2**20, peak


def measure(files: int, work: Path, big_file: Path | None, args: argparse.Namespace) -> Row:
    row = Row(files)
    data_dir = work / f"n{files}"
    started = time.perf_counter()
    loaded = load(data_dir, files)
    print(f"  loaded {files} files in {time.perf_counter() - started:.1f} s", flush=True)
    server = Server(data_dir, work / f"server-{files}.log").start()
    try:
        client = Client(server.url)
        started = time.perf_counter()
        status, headers, body = client.request(
            "GET", f"/conda/{loaded.owner}/linux-64/repodata.json"
        )
        row.cold_build_s = time.perf_counter() - started
        assert status == 200
        row.subdir_records = len(json.loads(body)["packages.conda"]) + len(
            json.loads(body)["packages"]
        )
        for path in (
            "linux-64/repodata.json.zst",
            "noarch/repodata.json",
            "noarch/repodata.json.zst",
            "linux-64/repodata_shards.msgpack.zst",
        ):
            client.request("GET", f"/conda/{loaded.owner}/{path}")
        wait_idle(server)  # the first build stores its records in the background
        publisher = Publisher(
            server, loaded.owner, loaded.token, loaded.packages, work / f"pkgs-{files}"
        )
        publisher.prime()
        for kind in ("json", "zst", "shards"):
            for _ in range(args.publishes):
                publisher.publish(kind, row)
        time.sleep(0.5)
        for suffix, series in (("", row.get_json_ms), (".zst", row.get_zst_ms)):
            for _ in range(args.gets):
                started = time.perf_counter()
                status, headers, body = client.request(
                    "GET", f"/conda/{loaded.owner}/linux-64/repodata.json{suffix}"
                )
                series.append((time.perf_counter() - started) * 1000)
            if suffix:
                row.zst_bytes = len(body)
            else:
                row.json_bytes = len(body)
                etag = headers["etag"]
        row.idle_rss_mib = server.rss() / 2**20
        row.revalidations_per_s = revalidation_rate(
            server, f"/conda/{loaded.owner}/linux-64/repodata.json", etag, args.wrk_seconds
        )
        for index in range(args.searches):
            started = time.perf_counter()
            status, _headers, _body = client.request(
                "GET", f"/api/search?name=bpkg-{(index * 37) % 1000:03d}"
            )
            assert status == 200
            row.search_ms.append((time.perf_counter() - started) * 1000)
        if big_file is not None:  # the median of a few: other tenants of the machine vary
            runs = [
                upload_throughput(server, loaded.owner, loaded.token, big_file, f"big-data-{index}")
                for index in range(args.uploads)
            ]
            row.upload_mb_s = statistics.median(run[0] for run in runs)
            row.upload_base_mib = runs[0][1]
            row.upload_peak_mib = max(run[2] for run in runs)
        server.stop()  # a restart: the records serialised by the first build are stored now
        server.start()
        started = time.perf_counter()
        status, _headers, _body = Client(server.url).request(
            "GET", f"/conda/{loaded.owner}/linux-64/repodata.json"
        )
        row.restart_build_s = time.perf_counter() - started
        row.load_average = os.getloadavg()[0]
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return row


# -- reporting -------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    load1, load5, _ = os.getloadavg()
    return (
        f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average at start {load1:.1f} / {load5:.1f} (1 / 5 min)"
    )


def table(rows: list[Row], args: argparse.Namespace) -> str:
    def pair(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f}"

    lines = [
        "| N files (records in linux-64) | "
        + " | ".join(f"{row.files:,} ({row.subdir_records:,})" for row in rows)
        + " |",
        "| --- |" + " --- |" * len(rows),
    ]

    def add(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    add(
        "publish→visible in repodata.json, p50 / p95 (ms)",
        [pair(row.visible_json_ms) for row in rows],
    )
    add(
        "publish→visible in repodata.json.zst, p50 / p95 (ms)",
        [pair(row.visible_zst_ms) for row in rows],
    )
    add(
        "publish→visible through shards, p50 / p95 (ms)",
        [pair(row.visible_shards_ms) for row in rows],
    )
    add(
        "the upload PUT alone, p50 (ms)",
        [f"{statistics.median(row.upload_put_ms):.0f}" for row in rows],
    )
    add(
        "GET linux-64 repodata.json, p50 (ms) / size",
        [
            f"{statistics.median(row.get_json_ms):.0f} / {row.json_bytes / 1e6:.2f} MB"
            for row in rows
        ],
    )
    add(
        "GET linux-64 repodata.json.zst, p50 (ms) / size",
        [f"{statistics.median(row.get_zst_ms):.0f} / {row.zst_bytes / 1e6:.2f} MB" for row in rows],
    )
    add(
        "304 revalidation (wrk, 2 threads, 32 conn.), req/s",
        [f"{row.revalidations_per_s:,.0f}" for row in rows],
    )
    add(
        f"upload of a {args.upload_mb} MB file, MB/s, median of {args.uploads} "
        "(server RSS before → peak)",
        [
            f"{row.upload_mb_s:.0f} ({row.upload_base_mib:.0f} → {row.upload_peak_mib:.0f} MiB)"
            if row.upload_mb_s
            else "-"
            for row in rows
        ],
    )
    add("search, p50 / p95 (ms)", [pair(row.search_ms) for row in rows])
    add("first build of linux-64 after loading (s)", [f"{row.cold_build_s:.2f}" for row in rows])
    add("build of linux-64 after a restart (s)", [f"{row.restart_build_s:.2f}" for row in rows])
    add("server RSS after the run (MiB)", [f"{row.idle_rss_mib:.0f}" for row in rows])
    add("machine load average (1 min) at the end", [f"{row.load_average:.1f}" for row in rows])
    return "\n".join(lines)


def disk_write_rate(work: Path) -> float:
    """The durable sequential write rate of the disk under ``work`` (MB/s), for context."""
    target = work / "disk-probe.bin"
    chunk = os.urandom(1 << 20)
    started = time.perf_counter()
    with open(target, "wb") as handle:
        for _ in range(256):
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return 256 * 2**20 / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--publishes", type=int, default=15, help="uploads per visibility kind")
    parser.add_argument("--gets", type=int, default=10)
    parser.add_argument("--searches", type=int, default=30)
    parser.add_argument("--wrk-seconds", type=int, default=8)
    parser.add_argument("--upload-mb", type=int, default=500, help="0 skips the upload test")
    parser.add_argument("--uploads", type=int, default=3, help="big uploads per N (median)")
    parser.add_argument("--work", default="", help="scratch folder (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    description = machine()
    work = Path(args.work or tempfile.mkdtemp(prefix="jupyter-repo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(description, flush=True)
    big_file = None
    if args.upload_mb:
        big_file = work / "big-upload.bin"
        with open(big_file, "wb") as handle:
            for _ in range(args.upload_mb):
                handle.write(os.urandom(1_000_000))
    disk = disk_write_rate(work)
    rows = []
    try:
        for size in sizes:
            print(f"N = {size:,}", flush=True)
            rows.append(measure(size, work, big_file, args))
    finally:
        if big_file is not None:
            big_file.unlink(missing_ok=True)
        if not args.work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = table(rows, args)
    print(result)
    if not args.no_write:
        write_section(
            "channels",
            "## Channels: publish, revalidation, upload and search\n\n"
            f"Latest run of `./scripts/bench` ({time.strftime('%Y-%m-%d %H:%M %Z')}).\n\n"
            f"Machine: {description}. Durable write rate of the data disk (256 MB + fsync): "
            f"{disk:.0f} MB/s.\n\n"
            f"{result}\n\n"
            "One server process (SQLite, local blob store), clients on the same machine. "
            "See `bench/README.md` for what each line measures.\n",
        )
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
