"""Bulk-load a conda channel of N files straight into the database (for building, not measuring).

``load`` builds a channel (about 12 files per package name); ``bulk_packages`` builds many
package names with one release and one file each (the web pages and the search benchmark).

Rows are what uploads create (packages, releases, files with a realistic ``info/index.json``,
labels, the index revision), written with executemany in a few seconds instead of N HTTP
uploads. Every file row points at one real stored package blob; each row carries its own
random md5/sha256, so the repodata compresses like real repodata (hashes do not compress).
"""

from __future__ import annotations

import random
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from jupyter_repo.demo import builders
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import (
    Blob,
    File,
    FileLabel,
    IndexState,
    Label,
    Package,
    Release,
    now_ms,
    utcnow,
)
from jupyter_repo.repository.services import accounts, blobs, tokens

FILES_PER_PACKAGE = 12
BATCH = 5000


@dataclass(frozen=True)
class Loaded:
    owner: str
    token: str
    packages: list[str]  # linux-64 package names (new versions are uploaded to these)
    files: int


def _record(
    name: str,
    version: str,
    build: str,
    number: int,
    subdir: str,
    others: list[str],
    rng: random.Random,
) -> dict[str, object]:
    depends = sorted(
        {
            f"{rng.choice(others)} >={rng.randint(0, 9)}.{rng.randint(0, 20)}"
            for _ in range(rng.randint(2, 7))
        }
    )
    record: dict[str, object] = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": number,
        "depends": [*depends, "libgcc-ng >=12"] if subdir != "noarch" else depends,
        "license": rng.choice(["BSD-3-Clause", "MIT", "Apache-2.0", "GPL-3.0-or-later"]),
        "subdir": subdir,
        "timestamp": 1_700_000_000_000 + rng.randint(0, 10**10),
    }
    if subdir == "noarch":
        record["noarch"] = "generic"
    else:
        record["platform"], record["arch"] = subdir.split("-", 1)
    if rng.random() < 0.3:
        record["constrains"] = [f"{rng.choice(others)} >=1"]
    return record


def load(data_dir: Path, files: int, *, owner: str = "bench", seed: int = 1) -> Loaded:
    """Create the owner and ``files`` conda files on its ``main`` label (2/3 linux-64)."""
    rng = random.Random(seed)
    repo = Repository(data_dir=str(data_dir))
    repo.migrate()
    try:
        user = repo.call(
            lambda s: accounts.password_actor(accounts.create_user(s, owner, "bench-password-1")),
            write=True,
        )
        _row, token = repo.call(tokens.create_token, user, name="bench", scopes=["all"], write=True)
        with tempfile.TemporaryDirectory() as scratch:
            sample = builders.conda_package(Path(scratch), "bench-sample", "1.0")
            blob_id, key = blobs.store_spool(repo.store, _copy(sample, Path(scratch) / "b"))
            size = sample.stat().st_size
        count = max(1, files // FILES_PER_PACKAGE)
        names = [f"bpkg-{index:05d}" for index in range(count)]
        linux = [name for index, name in enumerate(names) if index % 3 != 2]
        now = utcnow()
        stamp = now_ms()
        with repo.transaction(write=True) as session:
            session.add(Blob(id=blob_id, key=key, size=size, md5="0" * 32, sha256="0" * 64))
            label = Label(owner_id=user.user_id, name="main")
            session.add(label)
            session.flush()
            label_id = label.id
            session.execute(
                insert(Package),
                [
                    {
                        "owner_id": user.user_id,
                        "name": name,
                        "name_key": name,
                        "pypi_key": name,
                        "summary": f"Benchmark package {name}",
                        "public": True,
                        "package_types": ["conda"],
                        "attrs": {},
                        "created_at": now,
                        "modified_at": now,
                    }
                    for name in names
                ],
            )
            package_ids = dict(
                session.execute(
                    select(Package.name, Package.id).where(Package.owner_id == user.user_id)
                ).all()
            )
            release_rows = []
            file_plan = []
            for index in range(files):
                name = names[index % count]
                number = index // count
                version = f"1.{number}"
                subdir = "noarch" if index % count % 3 == 2 else "linux-64"
                build = f"h{secrets.token_hex(4)}_{number % 3}"
                ext = ".conda" if index % 2 == 0 else ".tar.bz2"
                release_rows.append(
                    {
                        "package_id": package_ids[name],
                        "version": version,
                        "attrs": {},
                        "created_at": now,
                        "modified_at": now,
                    }
                )
                file_plan.append((name, version, build, number % 3, subdir, ext))
            for start in range(0, len(release_rows), BATCH):
                session.execute(insert(Release), release_rows[start : start + BATCH])
            release_ids = {
                (package_id, version): release_id
                for release_id, package_id, version in session.execute(
                    select(Release.id, Release.package_id, Release.version)
                )
            }
            file_rows = []
            for name, version, build, number, subdir, ext in file_plan:
                filename = f"{name}-{version}-{build}{ext}"
                attrs = _record(name, version, build, number, subdir, names, rng)
                file_rows.append(
                    {
                        "package_id": package_ids[name],
                        "release_id": release_ids[(package_ids[name], version)],
                        "basename": f"{subdir}/{filename}",
                        "filename": filename,
                        "subdir": subdir,
                        "distribution_type": "conda",
                        "size": rng.randint(10_000, 50_000_000),
                        "md5": secrets.token_hex(16),
                        "sha256": secrets.token_hex(32),
                        "attrs": attrs,
                        "dependencies": {"depends": attrs["depends"]},
                        "blob_id": blob_id,
                        "uploader_id": user.user_id,
                        "upload_time": now,
                        "indexed_at_ms": stamp,
                    }
                )
            for start in range(0, len(file_rows), BATCH):
                session.execute(insert(File), file_rows[start : start + BATCH])
            file_ids = session.scalars(
                select(File.id)
                .join(Package, Package.id == File.package_id)
                .where(Package.owner_id == user.user_id)
            ).all()
            for start in range(0, len(file_ids), BATCH):
                session.execute(
                    insert(FileLabel),
                    [
                        {"file_id": file_id, "label_id": label_id}
                        for file_id in file_ids[start : start + BATCH]
                    ],
                )
            for subdir in ("linux-64", "noarch"):
                session.add(
                    IndexState(
                        owner_id=user.user_id,
                        kind="conda",
                        label="main",
                        subdir=subdir,
                        revision=1,
                        changed_at_ms=stamp,
                        pruned_through=0,
                    )
                )
        return Loaded(owner, token, linux, files)
    finally:
        repo.close()


def reopen(data_dir: Path, files: int, *, owner: str = "bench") -> Loaded:
    """A channel ``load`` made earlier in ``data_dir`` (kept with ``--keep``), with a new token:
    for re-running a benchmark without loading again."""
    repo = Repository(data_dir=str(data_dir))
    try:
        user = repo.call(
            lambda s: accounts.password_actor(accounts.get_user(s, owner)), write=False
        )
        _row, token = repo.call(
            tokens.create_token, user, name="bench-again", scopes=["all"], write=True
        )
    finally:
        repo.close()
    count = max(1, files // FILES_PER_PACKAGE)
    linux = [f"bpkg-{index:05d}" for index in range(count) if index % 3 != 2]
    return Loaded(owner, token, linux, files)


def bulk_packages(
    repo: Repository,
    owner_id: int,
    count: int,
    *,
    prefix: str = "pkg",
    now: datetime | None = None,
    description_bytes: int = 0,
) -> None:
    """``count`` packages ``{prefix}-00000``… of ``owner_id``, one release ``1.0`` and one
    ``noarch`` conda file each, on the owner's ``main`` label; every tenth is private.

    Summaries read ``Benchmark package number N``; ``modified_at`` decreases with N, so the
    newest packages come first in listings. Files point at one placeholder blob (no bytes).
    ``description_bytes``: the size of each package's description (uploads store the
    README there; 0 leaves it empty).
    """
    now = now or datetime.now(timezone.utc)

    def bulk(session):  # type: ignore[no-untyped-def]
        session.execute(
            insert(Blob),
            [
                {
                    "id": f"{prefix}-bench-blob",
                    "key": f"be/nc/{prefix}-bench-blob",
                    "size": 1234,
                    "md5": "0" * 32,
                    "sha256": "0" * 64,
                }
            ],
        )
        label = session.scalar(
            select(Label).where(Label.owner_id == owner_id, Label.name == "main")
        )
        if label is None:
            label = Label(owner_id=owner_id, name="main")
            session.add(label)
            session.flush()
        session.execute(
            insert(Package),
            [
                {
                    "owner_id": owner_id,
                    "name": f"{prefix}-{index:05d}",
                    "name_key": f"{prefix}-{index:05d}",
                    "pypi_key": f"{prefix}-{index:05d}",
                    "summary": f"Benchmark package number {index}",
                    "description": _description(index, description_bytes),
                    "public": index % 10 != 0,
                    "package_types": ["conda"],
                    "attrs": {},
                    "created_at": now,
                    "modified_at": now - timedelta(seconds=index),
                }
                for index in range(count)
            ],
        )
        ids = dict(
            session.execute(
                select(Package.name, Package.id).where(
                    Package.owner_id == owner_id, Package.name.like(f"{prefix}-%")
                )
            ).all()
        )
        session.execute(
            insert(Release),
            [
                {"package_id": package_id, "version": "1.0", "attrs": {}}
                for package_id in ids.values()
            ],
        )
        releases = dict(
            session.execute(
                select(Release.package_id, Release.id).where(
                    Release.package_id.in_(
                        select(Package.id).where(
                            Package.owner_id == owner_id, Package.name.like(f"{prefix}-%")
                        )
                    )
                )
            ).all()
        )
        session.execute(
            insert(File),
            [
                {
                    "package_id": package_id,
                    "release_id": releases[package_id],
                    "basename": f"noarch/{name}-1.0-0.conda",
                    "filename": f"{name}-1.0-0.conda",
                    "subdir": "noarch",
                    "distribution_type": "conda",
                    "size": 1234,
                    "md5": "0" * 32,
                    "sha256": "0" * 64,
                    "attrs": {},
                    "dependencies": {},
                    "blob_id": f"{prefix}-bench-blob",
                }
                for name, package_id in ids.items()
            ],
        )
        files = (
            session.execute(select(File.id).where(File.package_id.in_(list(ids.values()))))
            .scalars()
            .all()
        )
        session.execute(
            insert(FileLabel), [{"file_id": file_id, "label_id": label.id} for file_id in files]
        )

    repo.call(bulk, write=True)


def _description(index: int, size: int) -> str:
    if not size:
        return ""
    words = f"Benchmark package {index} does useful things, with examples and a changelog. "
    return (f"# pkg {index}\n\n" + words * (size // len(words) + 1))[:size]


def _copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    return target
