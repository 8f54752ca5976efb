"""The bulk-ingest benchmark: ``./scripts/bench ingest`` (or ``python -m bench.bulk_ingest``).

Builds an air-gap bundle of K distinct, realistic small files (default 10,000: conda
packages with a real ``info/index.json``, 2/3 ``linux-64`` and 1/3 ``noarch``, half
``.conda`` and half ``.tar.bz2``, and one package in ten made of wheels; payloads of a few
KB to 90 KB), then imports it with ``jupyter repo import``'s own code into a namespace
that already holds N files (``bench/load.py``'s direct bulk loader), for each N of
``--sizes`` (default 10,000 and 100,000). Every file is verified, inspected and hashed as
in any import. It prints files/s and MB/s per N with the import's own phase times (read +
hash, inspection, store writes, the disk sync, the database) and the cost of building the
bundle; the table goes into ``bench/RESULTS.md`` (section ``bulk-ingest``).

The pieces are plain functions (:func:`build_bundle`, :func:`measure_import`) so a larger
benchmark can call them on a data folder it filled itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.results import write_section
from jupyter_repo.demo.sample_bundle import sample_bundle
from jupyter_repo.mirroring.bundle import import_bundle
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.services import bundles


@dataclass(frozen=True)
class IngestResult:
    files: int
    seconds: float
    files_per_s: float
    mb_per_s: float
    bytes: int = 0
    phases: dict[str, float] = field(default_factory=dict)


def build_bundle(
    path: Path, count: int, *, prefix: str = "bulk", seed: int = 1, workers: int = 2
) -> Path:
    """Write a bundle of ``count`` distinct realistic files to ``path`` (see
    ``jupyter_repo/demo/sample_bundle.py``), built by ``workers`` processes; import it
    with :func:`measure_import`. Call from under an ``if __name__ == "__main__":`` guard."""
    return sample_bundle(path, count, prefix=prefix, seed=seed, workers=workers)


def measure_import(
    data_dir: Path, bundle: Path, namespace: str, *, inspect_processes: int | None = None
) -> IngestResult:
    """Import ``bundle`` into ``namespace`` of the repository at ``data_dir`` (SQLite + local
    store, as ``jupyter repo import`` would) and time it end to end.

    Inspection runs in a process pool (forkserver): call this from under an
    ``if __name__ == "__main__":`` guard, as with any use of ``multiprocessing``.
    """
    repo = Repository(data_dir=str(data_dir))
    try:
        started = time.perf_counter()
        result = import_bundle(
            repo,
            bundle,
            bundles.ImportTarget(namespace=namespace),
            inspect_processes=inspect_processes,
        )
        seconds = time.perf_counter() - started
    finally:
        repo.close()
    files = result.report.created_files
    return IngestResult(
        files=files,
        seconds=seconds,
        files_per_s=files / seconds,
        mb_per_s=result.bytes_stored / seconds / 1e6,
        bytes=result.bytes_stored,
        phases=dict(result.phases),
    )


def cpu_bound(result: IngestResult, cores: int | None = None) -> float:
    """Files/s the measured CPU per file allows on ``cores`` idle cores: the import's own
    thread (``main_cpu``) and the inspection (``inspect_cpu``, in the pool) share them,
    and the main thread alone cannot go faster than its own CPU time allows. On a busy
    machine this says what the wall-clock rate would be without the other load."""
    cores = cores or os.cpu_count() or 1
    main = result.phases.get("main_cpu", 0.0)
    inspect = result.phases.get("inspect_cpu", 0.0)
    per_file = max(main, (main + inspect) / cores) / max(result.files, 1)
    return 1 / per_file if per_file else 0.0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    from bench.load import load
    from bench.run import machine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the bundle")
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="files already in the namespace (N), comma-separated",
    )
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    sizes = [int(value) for value in args.sizes.split(",") if value]
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch_name:
        scratch = Path(scratch_name)
        load_before = _load()
        started = time.perf_counter()
        bundle = build_bundle(scratch / "bulk.tar", args.files, prefix="bulk", seed=1)
        built = time.perf_counter() - started
        size = bundle.stat().st_size
        print(
            f"built a bundle of {args.files} files ({size / 1e6:.1f} MB) in {built:.1f} s "
            f"({args.files / built:.0f} files/s; load {load_before})",
            flush=True,
        )
        rows: list[str] = []
        for existing in sizes:
            data_dir = scratch / f"repo-{existing}"
            started = time.perf_counter()
            load(data_dir, existing, owner="bench")
            filled = time.perf_counter() - started
            load_at = _load()
            result = measure_import(data_dir, bundle, "bench")
            phases = ", ".join(
                f"{name} {seconds * 1000 / max(result.files, 1):.3f}"
                for name, seconds in result.phases.items()
            )
            bound = cpu_bound(result)
            row = (
                f"| {existing:,} | {result.files:,} | {result.seconds:.1f} | "
                f"{result.files_per_s:,.0f} | {result.mb_per_s:.1f} | {bound:,.0f} | "
                f"{phases} | {load_at} |"
            )
            print(row + f"  (namespace filled in {filled:.1f} s)", flush=True)
            rows.append(row)
            shutil.rmtree(data_dir, ignore_errors=True)
    lines = [
        "## Bulk ingest (`./scripts/bench ingest`)",
        "",
        f"Machine: {machine()}",
        "",
        f"A bundle of {args.files:,} distinct files ({size / 1e6:.1f} MB: conda `.conda` and "
        "`.tar.bz2`, 2/3 linux-64, 1/3 noarch, one package in ten wheels) imported with "
        "`jupyter repo import`'s code into a namespace already holding N files; every file "
        f"verified, inspected and hashed. Building the bundle took {built:.1f} s "
        f"({args.files / built:.0f} files/s, not counted below). *CPU bound*: the files/s "
        "that the measured CPU time per file (import thread + inspection pool) allows on "
        "this machine's idle cores; the wall-clock rate is lower by the other load.",
        "",
        "| N before | files | seconds | files/s | MB/s | CPU bound, files/s | ms per file by "
        "phase | load 1/5/15 |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_results:
        write_section("bulk-ingest", text)


if __name__ == "__main__":
    main()
