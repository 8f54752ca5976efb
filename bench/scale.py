"""The million-file benchmark: ``./scripts/bench scale`` (or ``python -m bench.scale``).

For each N (default 100k and 1M files in one namespace: 2/3 linux-64, 1/3 noarch, about 12
files per package name, realistic records and dependencies) it loads the namespace with the
direct database loader (``bench/load.py``: rows only, for building the fixture), starts one
real server process and measures over HTTP:

- the first build of linux-64 (every record serialised once and stored; the snapshot saved);
- publish→visible of ordinary uploads (``PUT /api/upload``) in ``repodata.json.zst``, through
  the CEP-16 shards and in ``repodata.json`` (p50 / p95);
- GET ``repodata.json.zst`` (p50, full body) and the server's RSS (after the publishes, and its
  peak over the whole run, the first build included);
- bulk ingest: an air-gap bundle of ``--ingest-files`` distinct realistic files (default
  10,000; ``bench/bulk_ingest.py``) imported into the loaded namespace with ``jupyter repo
  import``'s code (every file verified, inspected and hashed): files/s at each N;
- restart to serving: from starting a new process to the first 200 of ``repodata.json`` and
  of ``repodata.json.zst`` (its saved snapshot caught up with the import), and its RSS.

It prints one table (with the issue's targets) and writes it to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.bulk_ingest import build_bundle, cpu_bound, measure_import
from bench.load import load, reopen
from bench.results import RESULTS, write_section
from bench.run import (
    ROOT,
    Client,
    PeakRss,
    Publisher,
    Server,
    machine,
    percentile,
    wait_idle,
)

LONG = 1800.0  # seconds a client waits for a first build of a million files


@dataclass
class ScaleRow:
    files: int
    records: int = 0
    load_s: float = 0.0
    first_build_s: float = 0.0
    visible: dict[str, list[float]] = field(default_factory=dict)
    put_ms: list[float] = field(default_factory=list)
    get_zst_ms: list[float] = field(default_factory=list)
    zst_bytes: int = 0
    rss_mib: float = 0.0
    peak_rss_mib: float = 0.0
    restart_json_s: float = 0.0
    restart_zst_s: float = 0.0
    restart_rss_mib: float = 0.0
    ingest_files_per_s: float = 0.0
    ingest_cpu_bound: float = 0.0
    load_average: float = 0.0


def _until_ok(url: str, path: str) -> None:
    """Wait until ``path`` answers 200 (the server may still be starting)."""
    while True:
        try:
            status, _headers, _body = Client(url, timeout=LONG).request("GET", path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)


def measure(files: int, work: Path, args: argparse.Namespace, bundle: Path | None) -> ScaleRow:
    row = ScaleRow(files)
    data_dir = work / f"n{files}"
    started = time.perf_counter()
    if args.reuse and (data_dir / "repo.db").exists():
        loaded = reopen(data_dir, files)
        print(f"  reusing the {files:,} files loaded in {data_dir}", flush=True)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
        loaded = load(data_dir, files)
        row.load_s = time.perf_counter() - started
        print(f"  loaded {files:,} files in {row.load_s:.0f} s", flush=True)
    base = f"/conda/{loaded.owner}"
    server = Server(data_dir, work / f"server-{files}.log").start()
    assert server.process is not None
    peak = PeakRss(server.process.pid, interval=0.05)
    try:
        client = Client(server.url, timeout=LONG)
        started = time.perf_counter()
        status, _headers, body = client.request("GET", f"{base}/linux-64/repodata.json")
        row.first_build_s = time.perf_counter() - started
        assert status == 200
        row.records = body.count(b'"build_number":')
        print(f"  first build of linux-64: {row.first_build_s:.1f} s", flush=True)
        for path in ("linux-64/repodata.json.zst", "linux-64/repodata_shards.msgpack.zst"):
            client.request("GET", f"{base}/{path}")
        wait_idle(server, limit=600)  # records stored and the snapshot saved, off the path
        publisher = Publisher(
            server, loaded.owner, loaded.token, loaded.packages, work / f"pkgs-{files}"
        )
        publisher.client = Client(server.url, timeout=LONG)
        if args.reuse:  # versions unlike any an earlier run on the same data published
            publisher.count = int(time.time()) % 1_000_000 * 100
        publisher.prime()
        for kind in ("zst", "shards", "json"):
            for _ in range(args.publishes):
                publisher.publish(kind, _Series(row, kind))
            wait_idle(server, limit=120)
        for _ in range(args.gets):
            started = time.perf_counter()
            status, _headers, body = client.request("GET", f"{base}/linux-64/repodata.json.zst")
            row.get_zst_ms.append((time.perf_counter() - started) * 1000)
            row.zst_bytes = len(body)
        row.rss_mib = server.rss() / 2**20
    finally:
        row.peak_rss_mib = peak.stop()
        server.stop()  # saves the snapshot it holds
    if bundle is not None:
        ingested = measure_import(data_dir, bundle, loaded.owner)
        row.ingest_files_per_s = ingested.files_per_s
        row.ingest_cpu_bound = cpu_bound(ingested)
        print(f"  bulk ingest: {ingested.files_per_s:.0f} files/s", flush=True)
    started = time.perf_counter()
    server.start(wait=False)
    _until_ok(server.url, f"{base}/linux-64/repodata.json")
    row.restart_json_s = time.perf_counter() - started
    _until_ok(server.url, f"{base}/linux-64/repodata.json.zst")
    row.restart_zst_s = time.perf_counter() - started
    row.restart_rss_mib = server.rss() / 2**20
    row.load_average = os.getloadavg()[0]
    server.stop()
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return row


class _Series:
    """Adapts :class:`Publisher`'s ``row`` argument: it appends to ``visible_<kind>_ms`` and
    ``upload_put_ms``."""

    def __init__(self, row: ScaleRow, kind: str) -> None:
        self.upload_put_ms = row.put_ms
        setattr(self, f"visible_{kind}_ms", row.visible.setdefault(kind, []))


def table(rows: list[ScaleRow]) -> str:
    def pair(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f}"

    lines = [
        "| N files (records in linux-64) | "
        + " | ".join(f"{row.files:,} ({row.records:,})" for row in rows)
        + " | target |",
        "| --- |" + " ---: |" * len(rows) + " --- |",
    ]

    def add(label: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    add("loading the rows (bench/load.py, s)", [f"{row.load_s:.0f}" for row in rows])
    add("first build of linux-64 after loading (s)", [f"{row.first_build_s:.1f}" for row in rows])
    add(
        "of which the upload (`PUT /api/upload`), p50 / p95 (ms)",
        [pair(row.put_ms) for row in rows],
    )
    add(
        "publish→visible in repodata.json.zst, p50 / p95 (ms)",
        [pair(row.visible["zst"]) for row in rows],
        "p50 < 250 ms",
    )
    add(
        "publish→visible through shards, p50 / p95 (ms)",
        [pair(row.visible["shards"]) for row in rows],
        "p50 < 100 ms",
    )
    add(
        "publish→visible in repodata.json, p50 / p95 (ms)",
        [pair(row.visible["json"]) for row in rows],
    )
    add(
        "GET repodata.json.zst, p50 (ms) / size",
        [f"{statistics.median(row.get_zst_ms):.0f} / {row.zst_bytes / 1e6:.1f} MB" for row in rows],
        "p50 < 50 ms",
    )
    add(
        "server RSS after the publishes / peak of the run (MiB)",
        [f"{row.rss_mib:.0f} / {row.peak_rss_mib:.0f}" for row in rows],
        "< 2048 MiB",
    )
    add(
        "restart to serving repodata.json / .zst (s)",
        [f"{row.restart_json_s:.1f} / {row.restart_zst_s:.1f}" for row in rows],
        "< 15 s",
    )
    add("server RSS after the restart (MiB)", [f"{row.restart_rss_mib:.0f}" for row in rows])
    add(
        "bulk ingest (import of a bundle), files/s (CPU bound on idle cores)",
        [f"{row.ingest_files_per_s:.0f} ({row.ingest_cpu_bound:.0f})" for row in rows],
        "≥ 1,000 files/s, flat",
    )
    add("machine load average (1 min) at the end", [f"{row.load_average:.1f}" for row in rows])
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        ratios = [
            statistics.median(large.visible[kind]) / statistics.median(small.visible[kind])
            for kind in ("zst", "shards")
        ]
        lines.append("")
        lines.append(
            f"p50 at {large.files:,} ÷ p50 at {small.files:,}: {ratios[0]:.2f} (repodata.json.zst),"
            f" {ratios[1]:.2f} (shards); target ≤ 2."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--publishes", type=int, default=15, help="uploads per visibility kind")
    parser.add_argument("--gets", type=int, default=10)
    parser.add_argument(
        "--ingest-files", type=int, default=10_000, help="files of the bulk-ingest bundle (0: none)"
    )
    parser.add_argument("--work", default="", help="scratch folder (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse data folders kept in --work by an earlier --keep run (no loading; "
        "for development: the first build then finds the records stored)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    description = machine()
    print(description, flush=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="jupyter-repo-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = []
    bundle = None
    try:
        if args.ingest_files and args.reuse and (work / "ingest.tar").exists():
            bundle = work / "ingest.tar"
        elif args.ingest_files:
            building = time.perf_counter()
            bundle = build_bundle(work / "ingest.tar", args.ingest_files, prefix="ingest")
            print(
                f"built a bundle of {args.ingest_files:,} files in "
                f"{time.perf_counter() - building:.0f} s",
                flush=True,
            )
        for size in (int(size) for size in args.sizes.split(",")):
            print(f"N = {size:,}", flush=True)
            rows.append(measure(size, work, args, bundle))
    finally:
        if not args.work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    result = table(rows)
    print(result)
    print(f"whole run: {minutes:.1f} min")
    if not args.no_write:
        write_section(
            "scale",
            "## A million files in one namespace\n\n"
            f"Latest run of `./scripts/bench scale` ({time.strftime('%Y-%m-%d %H:%M %Z')}), "
            f"{minutes:.0f} min in all, loading included.\n\n"
            f"Machine: {description}.\n\n"
            f"{result}\n\n"
            "One server process (SQLite, local blob store), clients on the same machine. "
            "The rows are loaded straight into the database (one stored blob behind every "
            "row); every measured publish is an ordinary upload. See `bench/README.md`.\n",
        )
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
