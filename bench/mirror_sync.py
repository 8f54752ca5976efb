"""The conda mirror benchmark: ``./scripts/bench mirror`` (or ``python -m bench.mirror_sync``).

Builds an upstream channel of N small packages (default 10,000; half ``.conda``, half
``.tar.bz2``; half ``noarch``, half ``linux-64``), indexes it with py-rattler's own indexer,
serves it with Python's ``http.server`` on 127.0.0.1 and mirrors it with the real CLI
(``jupyter repo mirror add`` / ``mirror sync --json``) into a fresh data folder. It reports:

- the first sync: files/s and MB/s (package bytes over the sync's wall time);
- a re-sync of the unchanged upstream: requests, bytes received, seconds (the upstream's
  access log confirms that no package file was requested);
- a re-sync after one package was added upstream: the same three numbers.

The table goes into ``bench/RESULTS.md`` (section ``mirror-sync``) with the machine's
description.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.results import write_section
from bench.run import machine
from jupyter_repo.demo import builders
from tests.support.static_channel import StaticChannel, reindex

ROOT = Path(__file__).resolve().parent.parent


def _build_one(args: tuple[Path, int]) -> None:
    root, index = args
    subdir = "noarch" if index % 2 == 0 else "linux-64"
    builders.conda_package(
        root / subdir,
        f"bench-{index // 10:04d}",
        f"1.{index % 10}",
        build="0" if subdir == "noarch" else "h0_0",
        subdir=subdir,
        fmt=".conda" if (index // 2) % 2 == 0 else ".tar.bz2",
        payload={f"share/bench/{index}.txt": os.urandom(256).hex().encode()},
    )


def _build_big(args: tuple[Path, int, int]) -> None:
    root, index, size = args
    builders.conda_package(
        root / "noarch",
        f"big-{index:03d}",
        "1.0",
        payload={f"share/big/{index}.bin": os.urandom(size)},
    )


def build_big_upstream(root: Path, files: int, megabytes: float) -> None:
    """``files`` packages of ``megabytes`` of incompressible payload each, indexed."""
    (root / "noarch").mkdir(parents=True, exist_ok=True)
    size = int(megabytes * 1e6)
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(_build_big, [(root, index, size) for index in range(files)]))
    reindex(root)


def build_upstream(root: Path, files: int) -> float:
    """N packages into ``root/<subdir>``, then py-rattler's index; returns seconds."""
    started = time.monotonic()
    for subdir in ("noarch", "linux-64"):
        (root / subdir).mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(_build_one, [(root, index) for index in range(files)], chunksize=200))
    reindex(root)
    return time.monotonic() - started


def cli(args: list[str], data_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    from tests.support import processes

    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
    }
    result = processes.run(
        [sys.executable, "-m", "jupyter_repo", *args, f"--data-dir={data_dir}"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"jupyter repo {' '.join(args)} failed:\n{result.stderr}")
    return result


def sync(data_dir: Path, home: Path, parallel: int, name: str = "upstream") -> dict[str, Any]:
    started = time.monotonic()
    result = cli(
        ["mirror", "sync", "bench", name, "--json", f"--parallel={parallel}"],
        data_dir,
        home,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    report["wall_seconds"] = time.monotonic() - started
    return report


def package_gets(upstream: StaticChannel, since: int) -> int:
    return sum(
        1
        for method, path, _status in upstream.requests()[since:]
        if method == "GET" and not path.endswith("repodata.json")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="upstream files")
    parser.add_argument("--parallel", type=int, default=4, help="files fetched at once")
    parser.add_argument("--big-files", type=int, default=50, help="files of the big upstream")
    parser.add_argument("--big-mb", type=float, default=4.0, help="MB per big file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    description = machine()
    work = Path(tempfile.mkdtemp(prefix="jr-bench-mirror-"))
    try:
        channel = work / "upstream"
        build_seconds = build_upstream(channel, args.files)
        upstream_bytes = sum(
            path.stat().st_size for path in channel.glob("*/*") if "repodata" not in path.name
        )
        print(f"upstream: {args.files} files, {upstream_bytes / 1e6:.1f} MB, "
              f"built and indexed in {build_seconds:.1f} s", flush=True)  # fmt: skip
        data_dir, home = work / "data", work / "home"
        cli(["admin", "create-user", "bench", "--password=bench-password"], data_dir, home)
        upstream = StaticChannel(channel, work / "upstream.log").start()
        try:
            cli(
                ["mirror", "add", "bench", "upstream", "--kind=conda",
                 f"--upstream={upstream.url}", "--subdir=noarch", "--subdir=linux-64"],
                data_dir, home,
            )  # fmt: skip
            first = sync(data_dir, home, args.parallel)
            print(f"first sync: {first}", flush=True)
            before = len(upstream.requests())
            unchanged = sync(data_dir, home, args.parallel)
            unchanged["package_gets"] = package_gets(upstream, before)
            print(f"unchanged re-sync: {unchanged}", flush=True)
            time.sleep(1.1)  # http.server's Last-Modified has whole seconds
            builders.conda_package(channel / "noarch", "bench-new", "1.0")
            reindex(channel)
            before = len(upstream.requests())
            one_new = sync(data_dir, home, args.parallel)
            one_new["package_gets"] = package_gets(upstream, before)
            print(f"re-sync with one new file: {one_new}", flush=True)
        finally:
            upstream.stop()
        big_channel = work / "big"
        build_big_upstream(big_channel, args.big_files, args.big_mb)
        big_upstream = StaticChannel(big_channel, work / "big.log").start()
        try:
            cli(
                ["mirror", "add", "bench", "big", "--kind=conda",
                 f"--upstream={big_upstream.url}", "--subdir=noarch", "--label=big"],
                data_dir, home,
            )  # fmt: skip
            big = sync(data_dir, home, args.parallel, "big")
            print(f"big files: {big}", flush=True)
        finally:
            big_upstream.stop()
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()[0]
    text = table(args, description, upstream_bytes, first, unchanged, one_new, big, load1)
    print(text)
    if not args.no_write:
        write_section("mirror-sync", text)


def table(
    args: argparse.Namespace,
    description: str,
    upstream_bytes: int,
    first: dict[str, Any],
    unchanged: dict[str, Any],
    one_new: dict[str, Any],
    big: dict[str, Any],
    load1: float,
) -> str:
    seconds = first["seconds"]
    rows = [
        "| sync | files fetched | requests | bytes received | seconds | rate |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        f"| first sync of {args.files:,} files | {first['fetched']:,} | {first['requests']:,} "
        f"| {first['bytes_received'] / 1e6:.1f} MB | {seconds:.1f} "
        f"| {first['fetched'] / seconds:.0f} files/s, "
        f"{first['fetched_bytes'] / 1e6 / seconds:.2f} MB/s |",
    ]
    rows.append(
        f"| first sync of {args.big_files} files of {args.big_mb:g} MB | {big['fetched']} "
        f"| {big['requests']} | {big['bytes_received'] / 1e6:.1f} MB | {big['seconds']:.1f} "
        f"| {big['fetched'] / big['seconds']:.1f} files/s, "
        f"{big['fetched_bytes'] / 1e6 / big['seconds']:.1f} MB/s |"
    )
    for name, report in (("unchanged upstream", unchanged), ("one file added", one_new)):
        rows.append(
            f"| re-sync, {name} | {report['fetched']} | {report['requests']} "
            f"| {report['bytes_received']:,} B | {report['seconds']:.2f} "
            f"| {report['package_gets']} package GETs in the upstream's log; "
            f"{report['wall_seconds']:.1f} s with the CLI's start-up |"
        )
    return "\n".join(
        [
            "## Conda mirror sync: first sync and re-syncs of a 10,000-file channel"
            if args.files == 10_000
            else f"## Conda mirror sync: first sync and re-syncs of a {args.files:,}-file channel",
            "",
            f"Latest run of `./scripts/bench mirror --files {args.files} --parallel "
            f"{args.parallel} --big-files {args.big_files} --big-mb {args.big_mb:g}` "
            f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
            "",
            f"Machine: {description}; load average at the end {load1:.1f}.",
            "",
            *rows,
            "",
            f"Upstream: py-rattler-indexed static channel ({upstream_bytes / 1e6:.1f} MB of "
            "packages, half `.conda`, half `.tar.bz2`, `noarch` and `linux-64`) served by "
            "`python -m http.server` on 127.0.0.1; the mirror is SQLite + the local blob store. "
            "Every file is verified (sha256, size), inspected and indexed in its own "
            "transaction. Seconds are the sync's own (from `mirror sync --json`). The small "
            "files measure the per-file cost (one upload transaction each), the big ones "
            "(incompressible payload) the byte rate.",
        ]
    )


if __name__ == "__main__":
    main()
