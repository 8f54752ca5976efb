"""Bundles for air-gapped sites: what a namespace's export holds, and applying an import.

A bundle is one file made of a manifest (this module's :class:`Manifest`) and the bytes of
its files; the file format itself (a tar, streamed) lives in ``jupyter_repo/mirroring/
bundle.py``. Here are the two domain halves:

* :func:`collect_export` lists a namespace's files (optionally one label's, optionally
  only those uploaded since a date) with everything needed to re-create their rows.
* :func:`plan_import` (read-only, before any byte is read) says which files are new and
  refuses conflicts early; :func:`apply_import` then creates every row -- namespace when
  missing, packages, releases, files, labels, visibility -- in ONE write transaction, from
  blobs already stored and verified. Importing the same bundle twice changes nothing.

A manifest from outside is checked field by field (:func:`manifest_from_json`): every name
through ``names``, digests as hex of the right length, bounded strings and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo import __version__
from jupyter_repo.repository import names
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import Conflict, InvalidInput, NotFound
from jupyter_repo.repository.inspect import Inspection
from jupyter_repo.repository.models import (
    Account,
    AccountKind,
    Blob,
    File,
    FileLabel,
    Label,
    Package,
    Release,
    utcnow,
)
from jupyter_repo.repository.permissions import Actor, Level, require_account
from jupyter_repo.repository.services import (
    accounts,
    bulk_files,
    labels,
    mirrors,
    packages,
    uploads,
    yanking,
)

FORMAT = "jupyter-repo-bundle"
VERSION = 1
#: Longest free text kept from a manifest (descriptions are READMEs, often kilobytes).
MAX_TEXT = 200_000
HEX = frozenset("0123456789abcdef")


#: A verified file's checked names (``uploads.parse_target``) and its inspection.
Inspected = tuple[uploads.Target, Inspection]


class BundleRefused(InvalidInput):
    """The bundle is not one this server will import; the message says why."""


# -- the manifest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One file as the bundle describes it (its bytes are the bundle member ``sha256``)."""

    basename: str
    distribution_type: str
    size: int
    md5: str
    sha256: str
    labels: tuple[str, ...]
    description: str | None = None
    upload_time: datetime | None = None
    yanked_at: datetime | None = None
    yanked_reason: str | None = None
    origin_url: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def subdir(self) -> str | None:
        return names.basename(self.basename, self.distribution_type)[0]


@dataclass(frozen=True)
class ReleaseEntry:
    version: str
    summary: str = ""
    description: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[FileEntry, ...] = ()


@dataclass(frozen=True)
class PackageEntry:
    name: str
    public: bool
    summary: str = ""
    description: str = ""
    license: str = ""
    license_url: str = ""
    home: str = ""
    dev_url: str = ""
    doc_url: str = ""
    source_git_url: str = ""
    package_types: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    releases: tuple[ReleaseEntry, ...] = ()


@dataclass(frozen=True)
class Manifest:
    namespace: str
    kind: AccountKind
    created: datetime
    packages: tuple[PackageEntry, ...]
    label: str | None = None
    since: datetime | None = None
    namespace_name: str = ""
    namespace_description: str = ""

    def files(self) -> Iterable[tuple[PackageEntry, ReleaseEntry, FileEntry]]:
        for package in self.packages:
            for release in package.releases:
                for file in release.files:
                    yield package, release, file

    def digests(self) -> dict[str, int]:
        """Every member the bundle must hold: sha256 → size."""
        return {file.sha256: file.size for _p, _r, file in self.files()}


PACKAGE_TEXT: tuple[str, ...] = (
    *("summary", "description", "license", "license_url"),
    *("home", "dev_url", "doc_url", "source_git_url"),
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def manifest_to_json(manifest: Manifest) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": _iso(manifest.created),
        "generator": f"jupyter-repo {__version__}",
        "source": {
            "namespace": manifest.namespace,
            "kind": manifest.kind.value,
            "name": manifest.namespace_name,
            "description": manifest.namespace_description,
            "label": manifest.label,
            "since": _iso(manifest.since),
        },
        "packages": [
            {
                "name": package.name,
                "owner": manifest.namespace,
                "public": package.public,
                **{name: getattr(package, name) for name in PACKAGE_TEXT},
                "package_types": list(package.package_types),
                "attrs": dict(package.attrs),
                "releases": [
                    {
                        "version": release.version,
                        "summary": release.summary,
                        "description": release.description,
                        "attrs": dict(release.attrs),
                        "files": [_file_json(file) for file in release.files],
                    }
                    for release in package.releases
                ],
            }
            for package in manifest.packages
        ],
    }


def _file_json(file: FileEntry) -> dict[str, Any]:
    return {
        "basename": file.basename,
        "distribution_type": file.distribution_type,
        "subdir": file.subdir,
        "size": file.size,
        "md5": file.md5,
        "sha256": file.sha256,
        "labels": list(file.labels),
        "description": file.description,
        "upload_time": _iso(file.upload_time),
        "yanked_at": _iso(file.yanked_at),
        "yanked_reason": file.yanked_reason,
        "origin_url": file.origin_url,
        "attrs": dict(file.attrs),
    }


class _Reader:
    """Typed access to one JSON object of the manifest; errors name where they are."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise BundleRefused(f"The bundle's manifest is damaged: {where} is not an object.")
        self.value = value
        self.where = where

    def fail(self, key: str, what: str) -> BundleRefused:
        return BundleRefused(f"The bundle's manifest is damaged: {self.where}.{key} {what}.")

    def text(self, key: str, *, optional: bool = False, limit: int = MAX_TEXT) -> str:
        value = self.value.get(key)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or len(value) > limit:
            raise self.fail(key, f"must be a string of at most {limit} characters")
        return value

    def maybe_text(self, key: str, limit: int = MAX_TEXT) -> str | None:
        return None if self.value.get(key) is None else self.text(key, limit=limit)

    def boolean(self, key: str) -> bool:
        value = self.value.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def integer(self, key: str) -> int:
        value = self.value.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 62:
            raise self.fail(key, "must be a whole number of bytes")
        return value

    def digest(self, key: str, length: int) -> str:
        value = self.value.get(key)
        if not isinstance(value, str) or len(value) != length or not set(value) <= HEX:
            raise self.fail(key, f"must be {length} lower-case hexadecimal characters")
        return value

    def time(self, key: str) -> datetime | None:
        value = self.value.get(key)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise self.fail(key, "must be an ISO 8601 time with a time zone")
        return parsed

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.value.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be an object")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.value.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return value

    def name(self, key: str, check: Any) -> str:
        value = self.value.get(key)
        try:
            return str(check(value))
        except InvalidInput as error:
            raise BundleRefused(
                f"The bundle's manifest is refused: {self.where}.{key}: {error.message}"
            ) from None


def manifest_from_json(data: Any, *, max_files: int) -> Manifest:
    """Check a manifest from outside into a :class:`Manifest` (or refuse it, saying why)."""
    top = _Reader(data, "manifest")
    if data.get("format") != FORMAT:
        raise BundleRefused(f"This is not a jupyter-repo bundle (its format is not {FORMAT!r}).")
    if data.get("version") != VERSION:
        raise BundleRefused(
            f"The bundle has format version {data.get('version')!r}; this server reads "
            f"version {VERSION}."
        )
    source = _Reader(top.mapping("source"), "source")
    kind = source.text("kind")
    if kind not in (AccountKind.USER.value, AccountKind.ORG.value):
        raise source.fail("kind", "must be 'user' or 'org'")
    label = source.value.get("label")
    count = 0
    package_entries: list[PackageEntry] = []
    for index, item in enumerate(top.items("packages")):
        package = _Reader(item, f"packages[{index}]")
        release_entries: list[ReleaseEntry] = []
        for rindex, ritem in enumerate(package.items("releases")):
            release = _Reader(ritem, f"{package.where}.releases[{rindex}]")
            file_entries: list[FileEntry] = []
            for findex, fitem in enumerate(release.items("files")):
                count += 1
                if count > max_files:
                    raise BundleRefused(
                        f"The bundle lists more than {max_files} files, this server's limit "
                        "per import (ImportApp.max_files)."
                    )
                file_entries.append(_file_entry(_Reader(fitem, f"{release.where}.files[{findex}]")))
            release_entries.append(
                ReleaseEntry(
                    version=release.name("version", names.version),
                    summary=release.text("summary", optional=True),
                    description=release.text("description", optional=True),
                    attrs=release.mapping("attrs"),
                    files=tuple(file_entries),
                )
            )
        package_entries.append(
            PackageEntry(
                name=package.name("name", names.package),
                public=package.boolean("public"),
                **{name: package.text(name, optional=True) for name in PACKAGE_TEXT},
                package_types=tuple(
                    names.package_type(str(value)) for value in package.items("package_types")
                ),
                attrs=package.mapping("attrs"),
                releases=tuple(release_entries),
            )
        )
    created = top.time("created")
    return Manifest(
        namespace=source.name("namespace", names.login),
        kind=AccountKind(kind),
        created=created or utcnow(),
        packages=tuple(package_entries),
        label=None if label is None else source.name("label", names.label),
        since=source.time("since"),
        namespace_name=source.text("name", optional=True, limit=200),
        namespace_description=source.text("description", optional=True),
    )


def _labels(item: _Reader, values: list[Any]) -> tuple[str, ...]:
    try:
        return tuple(names.labels(values))
    except InvalidInput as error:
        raise BundleRefused(
            f"The bundle's manifest is refused: {item.where}.labels: {error.message}"
        ) from None


def _reason(item: _Reader) -> str | None:
    text = item.maybe_text("yanked_reason", limit=yanking.MAX_REASON)
    try:
        return None if text is None else yanking.clean_reason(text)
    except InvalidInput as error:
        raise BundleRefused(
            f"The bundle's manifest is refused: {item.where}.yanked_reason: {error.message}"
        ) from None


def _origin(item: _Reader) -> str | None:
    """An http(s) URL without credentials (pages link to it), or none."""
    url = item.maybe_text("origin_url", limit=1000)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise item.fail("origin_url", "must be an http:// or https:// URL")
    return mirrors.clean_url(url)


def _file_entry(item: _Reader) -> FileEntry:
    dtype = item.name("distribution_type", names.package_type)
    basename = item.text("basename", limit=300)
    try:
        names.basename(basename, dtype)
    except InvalidInput as error:
        raise BundleRefused(
            f"The bundle's manifest is refused: {item.where}.basename: {error.message}"
        ) from None
    label_values = item.items("labels")
    return FileEntry(
        basename=basename,
        distribution_type=dtype,
        size=item.integer("size"),
        md5=item.digest("md5", 32),
        sha256=item.digest("sha256", 64),
        labels=_labels(item, label_values),
        description=item.maybe_text("description"),
        upload_time=item.time("upload_time"),
        yanked_at=item.time("yanked_at"),
        yanked_reason=_reason(item),
        origin_url=_origin(item),
        attrs=item.mapping("attrs"),
    )


# -- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedBlob:
    """Where an exported file's bytes are in this server's store."""

    sha256: str
    key: str
    size: int
    name: str


@dataclass(frozen=True)
class Export:
    manifest: Manifest
    blobs: tuple[ExportedBlob, ...]


def collect_export(
    session: Session, actor: Actor, owner: str, label: str | None, since: datetime | None
) -> Export:
    """Everything a bundle of ``owner`` (one label of it, files uploaded since a time) holds.

    Private packages are included, so only the namespace's administrators may export.
    """
    account = accounts.get_account(session, owner)
    require_account(session, actor, account, Level.ADMIN)
    query = (
        select(File, Blob.key)
        .join(Blob, Blob.id == File.blob_id)
        .join(Package, Package.id == File.package_id)
        .where(Package.owner_id == account.id)
        .order_by(Package.name_key, File.release_id, File.id)
    )
    if label is not None:
        found = labels.find_label(session, account, label)
        if found is None:
            raise NotFound(f"The label {account.login}/{names.label(label)} does not exist.")
        query = query.where(
            File.id.in_(select(FileLabel.file_id).where(FileLabel.label_id == found.id))
        )
    if since is not None:
        query = query.where(File.upload_time >= since)
    rows = session.execute(query).all()
    file_labels: dict[int, list[str]] = {}
    for file_id, name in session.execute(
        select(FileLabel.file_id, Label.name)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Label.owner_id == account.id)
        .order_by(Label.name)
    ):
        file_labels.setdefault(file_id, []).append(name)
    by_release: dict[int, list[FileEntry]] = {}
    blobs: dict[str, ExportedBlob] = {}
    for file, key in rows:
        by_release.setdefault(file.release_id, []).append(
            FileEntry(
                basename=file.basename,
                distribution_type=file.distribution_type,
                size=file.size,
                md5=file.md5,
                sha256=file.sha256,
                labels=tuple(file_labels.get(file.id, ())),
                description=file.description,
                upload_time=file.upload_time,
                yanked_at=file.yanked_at,
                yanked_reason=file.yanked_reason,
                origin_url=file.origin_url,
                attrs=file.attrs or {},
            )
        )
        blobs.setdefault(file.sha256, ExportedBlob(file.sha256, key, file.size, file.basename))
    # The namespace's releases and packages, kept when they hold an exported file (one
    # query each, no list of ids: SQLite bounds the parameters of one statement).
    by_package: dict[int, list[ReleaseEntry]] = {}
    for release in session.scalars(
        select(Release)
        .join(Package, Package.id == Release.package_id)
        .where(Package.owner_id == account.id)
        .order_by(Release.id)
    ):
        if release.id in by_release:
            by_package.setdefault(release.package_id, []).append(
                ReleaseEntry(
                    version=release.version,
                    summary=release.summary or "",
                    description=release.description or "",
                    attrs=release.attrs or {},
                    files=tuple(by_release[release.id]),
                )
            )
    package_entries: list[PackageEntry] = []
    for package in session.scalars(
        select(Package).where(Package.owner_id == account.id).order_by(Package.name_key)
    ):
        package_releases = by_package.get(package.id)
        if not package_releases:
            continue
        package_entries.append(
            PackageEntry(
                name=package.name,
                public=package.public,
                **{name: getattr(package, name) or "" for name in PACKAGE_TEXT},
                package_types=tuple(package.package_types or ()),
                attrs=package.attrs or {},
                releases=tuple(package_releases),
            )
        )
    manifest = Manifest(
        namespace=account.login,
        kind=account.kind,
        created=datetime.now(timezone.utc),
        packages=tuple(package_entries),
        label=names.label(label) if label is not None else None,
        since=since,
        namespace_name=account.name or "",
        namespace_description=account.description or "",
    )
    return Export(manifest, tuple(blobs.values()))


# -- import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportTarget:
    """Where a bundle goes: its own namespace unless ``namespace`` is given; a missing
    organization is created owned by ``org_owner`` (a user of this server)."""

    namespace: str | None = None
    org_owner: str | None = None

    def login(self, manifest: Manifest) -> str:
        return names.login(self.namespace) if self.namespace else manifest.namespace


@dataclass(frozen=True)
class ImportPlan:
    """What an import will store: the digests of files not here yet (the rest is skipped)."""

    namespace: str
    new_digests: frozenset[str]
    new_files: int
    present_files: int


@dataclass(frozen=True)
class StoredBlob:
    """A member already verified and moved into the store by the import."""

    blob_id: str
    key: str
    size: int
    md5: str
    sha256: str


@dataclass
class ImportReport:
    namespace: str
    created_namespace: bool = False
    created_packages: int = 0
    created_files: int = 0
    skipped_files: int = 0
    labels_added: int = 0
    made_private: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _conflict(
    account: Account, package: Package, version: str, entry: FileEntry, sha256: str
) -> Conflict:
    return Conflict(
        f"The import is refused: {account.login}/{package.name} {version} already has a file "
        f"{entry.basename} with other contents (sha256 {sha256[:12]}…, the bundle's "
        f"is {entry.sha256[:12]}…). Nothing was imported."
    )


def _find_packages(session: Session, account: Account, manifest: Manifest) -> dict[str, Package]:
    """The manifest's packages already here, by PEP 503 key (one query per chunk of names)."""
    keys = sorted({names.project_key(package.name) for package in manifest.packages})
    found: dict[str, Package] = {}
    for part in bulk_files.chunks(keys):
        for package in session.scalars(
            select(Package).where(Package.owner_id == account.id, Package.pypi_key.in_(part))
        ):
            found[package.pypi_key] = package
    return found


def plan_import(session: Session, manifest: Manifest, target: ImportTarget) -> ImportPlan:
    """Which files are new, before any byte is read; refuses conflicts and a missing owner.

    A fixed number of queries whatever the size of the namespace or the bundle: the
    bundle's packages, then their files, in chunks.
    """
    login = target.login(manifest)
    account = accounts.find_account(session, login)
    if account is None and manifest.kind is AccountKind.ORG:
        _org_owner(session, login, target)
    found = _find_packages(session, account, manifest) if account is not None else {}
    existing = bulk_files.Existing(session, (package.id for package in found.values()))
    new: set[str] = set()
    counts = [0, 0]
    for package_entry, release, entry in manifest.files():
        package = found.get(names.project_key(package_entry.name))
        here = existing.find(package.id, release.version, entry.basename) if package else None
        if here is None:
            new.add(entry.sha256)
            counts[0] += 1
            continue
        if here[1].sha256 != entry.sha256:
            assert account is not None and package is not None
            raise _conflict(account, package, release.version, entry, here[1].sha256)
        counts[1] += 1
    return ImportPlan(login, frozenset(new), counts[0], counts[1])


def _org_owner(session: Session, login: str, target: ImportTarget) -> Account:
    if not target.org_owner:
        raise NotFound(
            f"The organization {login} does not exist here; create it first "
            "(jupyter repo admin create-org) or name its owner with --org-owner USER."
        )
    return accounts.get_user(session, target.org_owner)


def _ensure_namespace(
    session: Session, manifest: Manifest, target: ImportTarget, report: ImportReport
) -> Account:
    login = target.login(manifest)
    account = accounts.find_account(session, login)
    if account is not None:
        return account
    report.created_namespace = True
    if manifest.kind is AccountKind.ORG:
        owner = _org_owner(session, login, target)
        return accounts.create_org(
            session,
            login,
            owner,
            name=manifest.namespace_name,
            description=manifest.namespace_description,
        )
    # A user made by an import has no password: a site admin sets one (admin set-password).
    return accounts.create_user(session, login, None, name=manifest.namespace_name)


def apply_import(
    session: Session,
    repo: Repository,
    manifest: Manifest,
    target: ImportTarget,
    stored: Mapping[str, StoredBlob],
    inspections: Mapping[tuple[str, str, str], Inspected],
) -> ImportReport:
    """Create every row of the bundle in this one transaction (blobs are already stored).

    Files already here with the same sha256 are skipped (their missing labels added);
    a package the bundle marks private becomes private here, none is made public. The
    files are checked and inserted as one batch (``services/bulk_files.py``): the number
    of statements does not grow with the namespace, nor (beyond chunks) with the bundle.
    """
    report = ImportReport(namespace=target.login(manifest))
    account = _ensure_namespace(session, manifest, target, report)
    actor = Actor(user_id=account.id, login=account.login, is_site_admin=True, cap=Level.ADMIN)
    found = _find_packages(session, account, manifest)
    existing = bulk_files.Existing(session, (package.id for package in found.values()))
    batch = bulk_files.Batch(session, repo, actor, existing)
    missing: dict[str, PackageEntry] = {}
    for package_entry in manifest.packages:
        key = names.project_key(package_entry.name)
        if key not in found:
            missing.setdefault(key, package_entry)
    created = packages.new_package_rows(
        session,
        actor,
        account,
        [
            (
                entry.name,
                entry.public,
                packages.PackageAttrs(
                    **{name: getattr(entry, name) for name in PACKAGE_TEXT},
                    package_types=entry.package_types,
                    extra=entry.attrs,
                ),
            )
            for entry in missing.values()
        ],
    )
    found.update((package.pypi_key, package) for package in created)
    report.created_packages += len(created)
    planned: dict[tuple[int, str, str], str] = {}
    for package_entry in manifest.packages:
        package = found[names.project_key(package_entry.name)]
        key = names.project_key(package_entry.name)
        if key not in missing and package.public and not package_entry.public:
            packages.set_visibility(session, actor, account.login, package.name, False)
            report.made_private += 1
        for release_entry in package_entry.releases:
            for entry in release_entry.files:
                version = release_entry.version
                here = existing.find(package.id, version, entry.basename)
                if here is not None:
                    if here[1].sha256 != entry.sha256:
                        raise _conflict(account, package, version, entry, here[1].sha256)
                    report.skipped_files += 1
                    file = session.get(File, here[0])
                    assert file is not None
                    report.labels_added += _add_labels(session, file, package, entry.labels)
                    continue
                twin = planned.get((package.id, version, entry.basename))
                if twin is not None:  # listed twice: the same file is one file
                    if twin != entry.sha256:
                        raise _conflict(account, package, version, entry, twin)
                    report.skipped_files += 1
                    continue
                planned[(package.id, version, entry.basename)] = entry.sha256
                batch.add(_new_file(package, release_entry, entry, stored, inspections))
    report.created_files = batch.register()
    return report


def _add_labels(session: Session, file: File, package: Package, wanted: Iterable[str]) -> int:
    added = 0
    for name in wanted:
        label = labels.ensure_label(session, package.owner_id, name)
        added += labels.attach(session, file, package, label)
    return added


def _new_file(
    package: Package,
    release_entry: ReleaseEntry,
    entry: FileEntry,
    stored: Mapping[str, StoredBlob],
    inspections: Mapping[tuple[str, str, str], Inspected],
) -> bulk_files.NewFile:
    inspected = inspections.get((package_key(package.name), release_entry.version, entry.basename))
    bytes_ = stored.get(entry.sha256)
    if inspected is None or bytes_ is None:
        raise BundleRefused(f"The bundle's file {entry.basename} was not verified; not imported.")
    target, inspection = inspected
    return bulk_files.NewFile(
        package=package,
        target=target,
        inspection=inspection,
        blob=bulk_files.NewBlob(bytes_.blob_id, bytes_.key, bytes_.size, bytes_.md5, bytes_.sha256),
        labels=entry.labels,
        description=entry.description,
        upload_time=entry.upload_time,
        yanked_at=entry.yanked_at,
        yanked_reason=entry.yanked_reason,
        origin_url=entry.origin_url,
        release_summary=release_entry.summary,
        release_description=release_entry.description,
        release_attrs=dict(release_entry.attrs),
    )


def package_key(name: str) -> str:
    """The key under which an import pairs a manifest's file with its inspection."""
    return names.project_key(name)
