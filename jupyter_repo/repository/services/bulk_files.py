"""Registering many verified files in one transaction, at a cost flat in the namespace's size.

An import (``services/bundles.py``) used to register its files one by one through
``uploads.register_file``: a dozen queries and an ORM flush per file. Here the same rules
hold for a whole batch, with a fixed number of statements per batch:

* what is already here is read once per *touched package* (never per namespace): the
  packages' files (name, release, sha256, subdir, type) and releases, in chunks of ids;
* every check of ``uploads._check_new`` / ``_check_room`` runs in memory against those
  rows and the batch itself (same name in a release, conda names differing only in case
  in one subdir, Python distributions an installer would take for one, another spelling
  of a Python release, the per-package file limit, locked labels);
* releases, blobs, files and file labels are inserted with executemany (SQLAlchemy 2
  ``insert()`` with a list), the new files' ids read back by their (new) blobs;
* the index changes are recorded once per (label, subdir, package): the journal and the
  label visibility then do their usual once-per-transaction work at commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from packaging.utils import canonicalize_version
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jupyter_repo.repository import changes
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.db import dialect_insert
from jupyter_repo.repository.errors import Conflict, TooLarge
from jupyter_repo.repository.inspect import Inspection
from jupyter_repo.repository.models import (
    Blob,
    File,
    FileLabel,
    Package,
    Release,
    now_ms,
    utcnow,
)
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import labels, packages
from jupyter_repo.repository.services.uploads import (
    Target,
    check_conda_name,
    check_version_spelling,
    describe_from,
)

#: Ids per ``IN (...)`` and rows per executemany (SQLite bounds a statement's parameters).
CHUNK = 500

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class NewBlob:
    """Bytes already stored (and made durable) for the batch."""

    blob_id: str
    key: str
    size: int
    md5: str
    sha256: str


@dataclass
class NewFile:
    """One file to register: where it goes, what its inspection says, its bytes."""

    package: Package
    target: Target
    inspection: Inspection
    blob: NewBlob
    labels: tuple[str, ...]
    description: str | None = None
    upload_time: datetime | None = None
    yanked_at: datetime | None = None
    yanked_reason: str | None = None
    origin_url: str | None = None
    #: Release text from the bundle, used when neither the release nor the file has any.
    release_summary: str = ""
    release_description: str = ""
    release_attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Row:
    """What the checks need of a file already here."""

    version: str
    basename: str
    sha256: str
    distribution_type: str
    subdir: str | None
    filename: str


class Existing:
    """The touched packages' files as they are before the batch (one query per chunk)."""

    def __init__(self, session: Session, package_ids: Iterable[int]) -> None:
        self.rows: dict[int, list[_Row]] = {}
        self.by_name: dict[tuple[int, str, str], tuple[int, _Row]] = {}
        ids = sorted(set(package_ids))
        for part in chunks(ids):
            for (
                file_id,
                package_id,
                version,
                basename,
                sha256,
                dtype,
                subdir,
                filename,
            ) in session.execute(
                select(
                    File.id,
                    File.package_id,
                    Release.version,
                    File.basename,
                    File.sha256,
                    File.distribution_type,
                    File.subdir,
                    File.filename,
                )
                .join(Release, Release.id == File.release_id)
                .where(File.package_id.in_(part))
            ):
                row = _Row(version, basename, sha256, dtype, subdir, filename)
                self.rows.setdefault(package_id, []).append(row)
                self.by_name[(package_id, version, basename)] = (file_id, row)

    def find(self, package_id: int, version: str, basename: str) -> tuple[int, _Row] | None:
        """(file id, row) of the file of that name, or None."""
        return self.by_name.get((package_id, version, basename))


class _PackageCheck:
    """The upload rules of one package, over its existing rows plus the batch so far."""

    def __init__(self, package: Package, rows: list[_Row]) -> None:
        self.package = package
        self.count = len(rows)
        self.names = {(row.version, row.basename) for row in rows}
        self.conda = {
            (row.subdir, row.filename.lower()) for row in rows if row.distribution_type == "conda"
        }
        self.pypi: dict[tuple[str, ...], _Row] = {}
        self.spellings: dict[str, str] = {}
        for row in rows:
            if row.distribution_type == "pypi":
                self.pypi.setdefault(packages.distribution_key(row.filename), row)
                self.spellings.setdefault(canonicalize_version(row.version), row.version)

    def admit(self, target: Target, limit: int) -> None:
        package = self.package
        if (target.version, target.basename) in self.names:
            raise Conflict(
                f"file {target.basename} already exists for package {package.name} "
                f"version {target.version}"
            )
        check_conda_name(package, target)
        if target.distribution_type == "conda":
            key = (target.subdir, target.filename.lower())
            if key in self.conda:
                raise Conflict(f"file {target.filename} already exists for package {package.name}")
            self.conda.add(key)
        if target.distribution_type == "pypi":
            spelled = self.spellings.setdefault(
                canonicalize_version(target.version), target.version
            )
            check_version_spelling(package, target, spelled)
            dist = packages.distribution_key(target.filename)
            found = self.pypi.get(dist)
            if found is not None:
                raise Conflict(
                    f"file {target.filename} already exists for package {package.name} "
                    f"(as {found.basename} of version {found.version})"
                )
            self.pypi[dist] = _Row(
                target.version, target.basename, "", "pypi", None, target.filename
            )
        if self.count >= limit:
            raise TooLarge(
                f"The package already holds {self.count} files, the server's limit per package."
            )
        self.count += 1
        self.names.add((target.version, target.basename))


class Batch:
    """Files checked as they are added, then registered together by :meth:`register`."""

    def __init__(self, session: Session, repo: Repository, actor: Actor, existing: Existing):
        self.session = session
        self.repo = repo
        self.actor = actor
        self.existing = existing
        self.files: list[NewFile] = []
        self._checks: dict[int, _PackageCheck] = {}

    def add(self, file: NewFile) -> None:
        check = self._checks.get(file.package.id)
        if check is None:
            rows = self.existing.rows.get(file.package.id, [])
            check = self._checks[file.package.id] = _PackageCheck(file.package, rows)
        check.admit(file.target, self.repo.max_files_per_package)
        self.files.append(file)

    def register(self) -> int:
        """Insert every row of the batch; returns the number of files created."""
        if not self.files:
            return 0
        session = self.session
        label_ids = self._labels()
        releases = self._releases()
        now, stamp = utcnow(), now_ms()
        blobs: dict[str, NewBlob] = {}
        for file in self.files:
            blobs.setdefault(file.blob.blob_id, file.blob)
        for blob_part in chunks(list(blobs.values())):
            session.execute(
                insert(Blob),
                [
                    {
                        "id": blob.blob_id,
                        "key": blob.key,
                        "size": blob.size,
                        "md5": blob.md5,
                        "sha256": blob.sha256,
                        "created_at": now,
                    }
                    for blob in blob_part
                ],
            )
        rows = [self._file_row(file, releases, now, stamp) for file in self.files]
        for row_part in chunks(rows):
            session.execute(insert(File), list(row_part))
        ids: dict[tuple[int, str], int] = {}
        for id_part in chunks(list(blobs)):
            for file_id, release_id, basename in session.execute(
                select(File.id, File.release_id, File.basename).where(File.blob_id.in_(id_part))
            ):
                ids[(release_id, basename)] = file_id
        file_labels = []
        recorded: set[changes.Change] = set()
        for file in self.files:
            release = releases[(file.package.id, file.target.version)]
            file_id = ids[(release.id, file.target.basename)]
            for name in file.labels:
                file_labels.append({"file_id": file_id, "label_id": label_ids[name]})
                recorded.add(
                    changes.Change(
                        file.package.owner_id,
                        name,
                        file.target.distribution_type,
                        file.target.subdir,
                        file.package.name_key,
                    )
                )
        for label_part in chunks(file_labels):
            session.execute(insert(FileLabel), list(label_part))
        changes.record(session, recorded)
        self._describe(releases, now)
        return len(self.files)

    def _labels(self) -> dict[str, int]:
        """The batch's labels, created when missing; a locked one refuses the batch."""
        wanted = sorted({name for file in self.files for name in file.labels})
        owner = self.files[0].package.owner
        found: dict[str, int] = {}
        for name in wanted:
            existing = labels.find_label(self.session, owner, name)
            if existing is not None:
                labels.check_unlocked(existing)
            found[name] = labels.ensure_label(self.session, owner.id, name).id
        return found

    def _releases(self) -> dict[tuple[int, str], Release]:
        """Every release the batch needs, the missing ones inserted in one executemany."""
        session = self.session
        package_ids = sorted({file.package.id for file in self.files})

        def load() -> dict[tuple[int, str], Release]:
            found: dict[tuple[int, str], Release] = {}
            for part in chunks(package_ids):
                for release in session.scalars(select(Release).where(Release.package_id.in_(part))):
                    found[(release.package_id, release.version)] = release
            return found

        releases = load()
        missing = sorted(
            {(file.package.id, file.target.version) for file in self.files} - set(releases)
        )
        if missing:
            now = utcnow()
            statement = dialect_insert(session)(Release).on_conflict_do_nothing()
            for part in chunks(missing):
                session.execute(
                    statement,
                    [
                        {
                            "package_id": package_id,
                            "version": version,
                            "summary": "",
                            "description": "",
                            "attrs": {},
                            "created_at": now,
                            "modified_at": now,
                        }
                        for package_id, version in part
                    ],
                )
            releases = load()
        return releases

    def _file_row(
        self,
        file: NewFile,
        releases: dict[tuple[int, str], Release],
        now: datetime,
        stamp: int,
    ) -> dict[str, Any]:
        inspection, target = file.inspection, file.target
        return {
            "package_id": file.package.id,
            "release_id": releases[(file.package.id, target.version)].id,
            "basename": target.basename,
            "filename": target.filename,
            "subdir": target.subdir,
            "distribution_type": target.distribution_type,
            "size": file.blob.size,
            "md5": file.blob.md5,
            "sha256": file.blob.sha256,
            "attrs": inspection.attrs,
            "dependencies": inspection.dependencies,
            "description": file.description,
            "core_metadata": inspection.core_metadata,
            "conda_channel": inspection.conda_channel,
            "blob_id": file.blob.blob_id,
            "uploader_id": self.actor.user_id,
            "upload_time": file.upload_time or now,
            "indexed_at_ms": stamp,
            "ndownloads": 0,
            "yanked_at": file.yanked_at,
            "yanked_reason": (file.yanked_reason or "") if file.yanked_at else None,
            "origin_url": file.origin_url,
        }

    def _describe(self, releases: dict[tuple[int, str], Release], now: datetime) -> None:
        """Release and package text as ``register_file`` fills it: from the first file
        that has some (then the bundle's release text); the packages' types."""
        types: dict[int, set[str]] = {}
        for file in self.files:
            package, inspection = file.package, file.inspection
            release = releases[(package.id, file.target.version)]
            describe_from(package, release, inspection)
            if file.release_summary and not release.summary:
                release.summary = file.release_summary[:50_000]
            if file.release_description and not release.description:
                release.description = file.release_description[:50_000]
            if file.release_attrs and not release.attrs:
                release.attrs = dict(file.release_attrs)
            if package.id not in types:
                rows = self.existing.rows.get(package.id, ())
                types[package.id] = {row.distribution_type for row in rows}
            types[package.id].add(file.target.distribution_type)
        for file in self.files:
            package = file.package
            if package.id in types:
                package.package_types = sorted(types.pop(package.id))
                package.modified_at = now
