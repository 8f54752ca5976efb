"""A bundle of many distinct, realistic small files, for the bulk-ingest benchmark and tests.

Files come in packages of ten (versions 1.0 … 1.9 of one name). Nine packages in ten are
conda packages (2/3 ``linux-64``, 1/3 ``noarch``; ``.conda`` and ``.tar.bz2`` in turn),
each with a real ``info/index.json``, ``paths.json`` and a payload of a few KB to 90 KB;
one package in ten holds wheels (and an sdist as its first file). The bundle has the
format ``jupyter repo import`` reads (``mirroring/bundle.py``): ``manifest.json``, then
``files/<sha256>``. Files are built into a scratch folder beside the bundle and streamed
into it, so memory stays flat whatever the count.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import random
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import AccountKind
from jupyter_repo.repository.services import bundles

#: Files per package (versions 1.0 … 1.9 of one name).
PER_PACKAGE = 10
#: Payload sizes (bytes) and how often each occurs: a few KB to 90 KB.
PAYLOADS: tuple[tuple[int, int], ...] = ((2_000, 40), (8_000, 30), (30_000, 20), (90_000, 10))


def _payload(rng: random.Random, payloads: Sequence[tuple[int, int]]) -> bytes:
    """Half incompressible bytes, half text-like (package files compress 2-4x)."""
    sizes, weights = zip(*payloads, strict=True)
    size = rng.choices(sizes, weights)[0]
    words = b" ".join(rng.choice(WORDS) for _ in range(size // 12))
    return (rng.randbytes(size // 2) + words)[:size]


WORDS = (
    b"import",
    b"def",
    b"return",
    b"self",
    b"value",
    b"data",
    b"array",
    b"numpy",
    b"index",
    b"file",
    b"path",
    b"list",
    b"dict",
    b"config",
    b"float",
    b"int",
    b"str",
    b"none",
    b"true",
    b"false",
    b"class",
    b"yield",
    b"lambda",
    b"async",
    b"await",
    b"with",
    b"open",
    b"read",
)


def _build_file(
    directory: Path,
    index: int,
    prefix: str,
    rng: random.Random,
    payloads: Sequence[tuple[int, int]],
) -> tuple[str, str | None, Path]:
    """File ``index`` of the bundle: (distribution type, conda subdir, path)."""
    package, number = divmod(index, PER_PACKAGE)
    name = f"{prefix}-{package:06d}"
    version = f"1.{number}"
    if package % 10 == 9:
        if number == 0:
            return "pypi", None, builders.sdist(directory, name, version)
        source = f"DATA = {_payload(rng, payloads)[:2000].hex()!r}\n"
        return "pypi", None, builders.wheel(directory, name, version, module_source=source)
    subdir = "noarch" if package % 3 == 2 else "linux-64"
    path = builders.conda_package(
        directory,
        name,
        version,
        build="py_0" if subdir == "noarch" else f"h{package % 997:04x}_{number}",
        build_number=number,
        subdir=subdir,
        depends=[f"{prefix}-{(package + step) % 1000:06d} >=1.{step}" for step in (1, 2, 3)],
        fmt=".conda" if index % 2 == 0 else ".tar.bz2",
        payload={
            f"share/{name}/data-{number}.bin": _payload(rng, payloads),
            f"bin/{name}": b"#!/bin/sh\n",
        },
    )
    return "conda", subdir, path


def _build_range(
    scratch: Path,
    start: int,
    stop: int,
    prefix: str,
    seed: int,
    payloads: Sequence[tuple[int, int]],
) -> list[tuple[int, str, str | None, str, int, str, str]]:
    """Files ``start``…``stop - 1`` into ``scratch``, each renamed to its sha256:
    (index, type, subdir, file name, size, md5, sha256) each."""
    rng = random.Random(f"{seed}-{start}")
    built: list[tuple[int, str, str | None, str, int, str, str]] = []
    for index in range(start, stop):
        folder = scratch / f"{index // 1000:04d}"
        dtype, subdir, path = _build_file(folder, index, prefix, rng, payloads)
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        path.rename(folder / sha256)
        built.append((index, dtype, subdir, path.name, len(data), md5, sha256))
    return built


#: Files per build task.
BUILD_CHUNK = 500


def sample_bundle(
    path: Path,
    count: int,
    *,
    prefix: str = "bulk",
    seed: int = 1,
    payloads: Sequence[tuple[int, int]] = PAYLOADS,
    workers: int = 1,
) -> Path:
    """Write a bundle of ``count`` distinct files to ``path`` (an uncompressed tar) for the
    namespace ``prefix`` (import it anywhere with ``--namespace``). ``workers`` > 1 builds
    the files in that many processes (call from under a ``__main__`` guard then)."""
    scratch = Path(tempfile.mkdtemp(prefix=".bundle-parts-", dir=path.parent))
    try:
        ranges = [
            (start, min(start + BUILD_CHUNK, count)) for start in range(0, count, BUILD_CHUNK)
        ]
        args = [(scratch, start, stop, prefix, seed, payloads) for start, stop in ranges]
        if workers > 1:
            context = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                parts = list(pool.map(_build_range, *zip(*args, strict=True)))
        else:
            parts = [_build_range(*item) for item in args]
        releases: dict[tuple[str, str], list[bundles.ReleaseEntry]] = {}
        members: list[tuple[str, Path]] = []
        now = datetime.now(timezone.utc)
        for index, dtype, subdir, name, size, md5, sha256 in (
            row for part in parts for row in part
        ):
            entry = bundles.FileEntry(
                basename=f"{subdir}/{name}" if subdir else name,
                distribution_type=dtype,
                size=size,
                md5=md5,
                sha256=sha256,
                labels=("main",),
                upload_time=now,
            )
            members.append((sha256, scratch / f"{index // 1000:04d}" / sha256))
            package, number = divmod(index, PER_PACKAGE)
            releases.setdefault((f"{prefix}-{package:06d}", dtype), []).append(
                bundles.ReleaseEntry(version=f"1.{number}", files=(entry,))
            )
        manifest = bundles.Manifest(
            namespace=prefix,
            kind=AccountKind.USER,
            created=now,
            packages=tuple(
                bundles.PackageEntry(
                    name=name, public=True, package_types=(dtype,), releases=tuple(entries)
                )
                for (name, dtype), entries in releases.items()
            ),
        )
        _write_tar(path, manifest, members)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path


def _write_tar(path: Path, manifest: bundles.Manifest, members: list[tuple[str, Path]]) -> None:
    document = json.dumps(bundles.manifest_to_json(manifest)).encode()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(document)
        archive.addfile(info, io.BytesIO(document))
        for sha256, stored in members:
            info = tarfile.TarInfo(f"files/{sha256}")
            info.size = stored.stat().st_size
            with open(stored, "rb") as handle:
                archive.addfile(info, handle)
            stored.unlink()
