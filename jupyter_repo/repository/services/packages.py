"""Packages, releases and files: look-up, creation, update and removal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from jupyter_repo.repository import changes, names
from jupyter_repo.repository.db import dialect_insert
from jupyter_repo.repository.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
)
from jupyter_repo.repository.models import (
    Account,
    Collaborator,
    File,
    Group,
    GroupMember,
    GroupPackage,
    Label,
    Package,
    Release,
    utcnow,
)
from jupyter_repo.repository.permissions import (
    Actor,
    Level,
    account_level,
    package_level,
    reads_file,
    require_account,
    require_label_reach,
    require_package,
    visible_packages,
)
from jupyter_repo.repository.services import accounts, blobs
from jupyter_repo.repository.storage import BlobStore

PACKAGE_TEXT_FIELDS = (
    "summary",
    "description",
    "license_url",
    "home",
    "dev_url",
    "doc_url",
    "source_git_url",
)


def find_package(session: Session, owner: Account, name: str) -> Package | None:
    """The package that answers ``name`` in the namespace: names are compared in their
    PEP 503 form, so every spelling of a project reaches the one package that owns it."""
    return session.scalar(
        select(Package).where(
            Package.owner_id == owner.id, Package.pypi_key == names.project_key(name)
        )
    )


def get_package(
    session: Session, actor: Actor, owner: str, name: str, needed: Level = Level.READ
) -> Package:
    """A package the actor may access at ``needed``; private ones are 'not found' to others."""
    try:
        account = accounts.get_account(session, owner)
    except NotFound:
        raise NotFound(f"The package {owner}/{name} does not exist.") from None
    package = find_package(session, account, name)
    return require_package(session, actor, package, needed, f"package {owner}/{name}")


def package_for_upload(
    session: Session, actor: Actor, owner: str, name: str
) -> tuple[Account, Package | None]:
    """The namespace and the package a new file goes to (None: the upload creates it).

    To a caller who may not create packages in the namespace, a package they cannot read
    answers exactly like a missing one (the namespace's "no write access"); a caller who
    may create packages there is told it exists, as creating it would tell them anyway.
    """
    if actor.anonymous:
        raise Unauthenticated("Authentication required: log in or pass a token.")
    account = accounts.get_account(session, owner)
    package = find_package(session, account, name)
    if package is None or package_level(session, actor, package) < Level.READ:
        require_account(session, actor, account, Level.WRITE)
        if package is None:
            return account, None
    return account, require_package(session, actor, package, Level.WRITE, f"package {owner}/{name}")


@dataclass(frozen=True)
class PackageAttrs:
    """What a request sets on a package (anaconda.org's ``public_attrs``), parsed from JSON
    at the HTTP layer; ``None`` and empty leave a value unchanged."""

    summary: str | None = None
    description: str | None = None
    license_url: str | None = None
    home: str | None = None
    dev_url: str | None = None
    doc_url: str | None = None
    source_git_url: str | None = None
    license: str | None = None
    #: Package types as the caller named them (normalised here).
    package_types: tuple[str, ...] = ()
    #: Other JSON values, kept in ``Package.attrs``.
    extra: Mapping[str, Any] = field(default_factory=dict)


def _column_length(model: Any, name: str) -> int:
    length = getattr(model.__table__.c[name].type, "length", None)
    return length if length is not None else 20_000


def _apply_public_attrs(package: Package, attrs: PackageAttrs) -> None:
    for name in (*PACKAGE_TEXT_FIELDS, "license"):
        value = getattr(attrs, name)
        if value is not None:  # cut to what the column holds (PostgreSQL refuses more)
            setattr(package, name, value[: _column_length(Package, name)])
    if attrs.package_types:
        package.package_types = sorted({names.package_type(item) for item in attrs.package_types})
    if attrs.extra:
        package.attrs = {**(package.attrs or {}), **attrs.extra}


def new_package_rows(
    session: Session,
    actor: Actor,
    account: Account,
    wanted: list[tuple[str, bool, PackageAttrs]],
) -> list[Package]:
    """Create many packages of ``account`` at once (a bulk import): the rules of
    :func:`create_package` (write access, valid and unused names, attributes cut to their
    columns), one executemany, then the new rows read back in one query per chunk."""
    if not wanted:
        return []
    require_account(session, actor, account, Level.WRITE)
    if account.is_org and account_level(session, actor, account) < Level.ADMIN:
        # Write-group members get grants per package: the one-by-one path knows how.
        return [
            create_package(session, actor, account.login, name, public=public, attrs=attrs)
            for name, public, attrs in wanted
        ]
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for name, public, attrs in wanted:
        package = Package(package_types=[], attrs={})
        _apply_public_attrs(package, attrs)
        rows.append(
            {
                "owner_id": account.id,
                "name": names.package(name),
                "name_key": names.package_key(name),
                "pypi_key": names.project_key(name),
                "public": bool(public),
                "created_by_id": actor.user_id,
                "package_types": package.package_types,
                "attrs": package.attrs,
                **{
                    field: getattr(package, field) or ""
                    for field in (*PACKAGE_TEXT_FIELDS, "license")
                },
                "created_at": now,
                "modified_at": now,
            }
        )
    wanted_keys = [str(row["pypi_key"]) for row in rows]
    keys = sorted(set(wanted_keys))
    if len(keys) != len(rows) or any(
        session.scalars(
            select(Package.id).where(Package.owner_id == account.id, Package.pypi_key.in_(part))
        ).first()
        for part in (keys[start : start + 500] for start in range(0, len(keys), 500))
    ):
        raise Conflict(f"Some of these packages already exist in {account.login}.")
    for start in range(0, len(rows), 500):
        session.execute(insert(Package), rows[start : start + 500])
    found: dict[str, Package] = {}
    for start in range(0, len(keys), 500):
        for package in session.scalars(
            select(Package).where(
                Package.owner_id == account.id, Package.pypi_key.in_(keys[start : start + 500])
            )
        ):
            found[package.pypi_key] = package
    return [found[key] for key in wanted_keys]


def create_package(
    session: Session,
    actor: Actor,
    owner: str,
    name: str,
    *,
    public: bool = True,
    attrs: PackageAttrs = PackageAttrs(),
) -> Package:
    account = accounts.get_account(session, owner)
    require_account(session, actor, account, Level.WRITE)
    names.package(name)
    existing = find_package(session, account, name)
    if existing is not None:
        raise Conflict(
            f"The package {account.login}/{existing.name} already exists"
            + ("." if existing.name == name else f" (the same name as {name!r}).")
        )
    package = Package(
        owner_id=account.id,
        name=name,
        name_key=names.package_key(name),
        pypi_key=names.project_key(name),
        public=bool(public),
        created_by_id=actor.user_id,
        package_types=[],
        attrs={},
    )
    _apply_public_attrs(package, attrs)
    session.add(package)
    session.flush()
    if account.is_org and account_level(session, actor, account) < Level.ADMIN:
        _grant_to_writer_groups(session, account, actor, package)
    return package


def _grant_to_writer_groups(session: Session, org: Account, actor: Actor, package: Package) -> None:
    """A package created by a write-group member is granted to that member's write groups."""
    groups = session.scalars(
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(
            Group.org_id == org.id,
            GroupMember.user_id == actor.user_id,
            Group.permission == "write",
        )
    )
    for group in groups:
        session.add(GroupPackage(group_id=group.id, package_id=package.id))
    session.flush()


def update_package(
    session: Session,
    actor: Actor,
    owner: str,
    name: str,
    attrs: PackageAttrs,
    *,
    public: bool | None = None,
) -> Package:
    """Set ``attrs``, and the visibility unless ``public`` is ``None``."""
    package = get_package(session, actor, owner, name, Level.WRITE)
    _apply_public_attrs(package, attrs)
    if public is not None:
        _change_visibility(session, actor, package, public)
    package.modified_at = utcnow()
    return package


def set_visibility(session: Session, actor: Actor, owner: str, name: str, public: bool) -> Package:
    package = get_package(session, actor, owner, name, Level.WRITE)
    _change_visibility(session, actor, package, public)
    package.modified_at = utcnow()
    return package


def _change_visibility(session: Session, actor: Actor, package: Package, public: bool) -> None:
    """Publishing or hiding a package decides who reads it: an administrator's decision,
    like choosing collaborators (writers may change its contents, not its audience)."""
    if package.public == public:
        return
    require_package(session, actor, package, Level.ADMIN)
    package.public = public
    _record_package_files(session, package)


def _record_package_files(session: Session, package: Package) -> None:
    """Every index the package appears in changes (e.g. it became private)."""
    rows = session.execute(
        select(File.distribution_type, File.subdir, Label.name)
        .select_from(File)
        .join(File.labels)
        .where(File.package_id == package.id)
        .distinct()
    )
    changes.record(
        session,
        (
            changes.Change(package.owner_id, label, dtype, subdir, package.name_key)
            for dtype, subdir, label in rows
        ),
    )


def delete_package(session: Session, store: BlobStore, actor: Actor, owner: str, name: str) -> None:
    package = get_package(session, actor, owner, name, Level.WRITE)
    files = list(session.scalars(select(File).where(File.package_id == package.id)))
    for file in files:
        remove_file_row(session, store, actor, file)
    session.delete(package)


def list_packages(
    session: Session,
    actor: Actor,
    owner: str,
    *,
    package_type: str | None = None,
    platform: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Package]:
    account = accounts.get_account(session, owner)
    query = (
        select(Package)
        .where(Package.owner_id == account.id, visible_packages(actor))
        .order_by(Package.name_key)
    )
    query = filter_packages(query, package_type, platform)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def count_packages(session: Session, actor: Actor, owner: str) -> int:
    account = accounts.get_account(session, owner)
    return (
        session.scalar(
            select(func.count())
            .select_from(Package)
            .where(Package.owner_id == account.id, visible_packages(actor))
        )
        or 0
    )


def filter_packages(query: Any, package_type: str | None, platform: str | None) -> Any:
    if package_type:
        wanted = names.package_type(package_type)
        query = query.where(
            Package.id.in_(select(File.package_id).where(File.distribution_type == wanted))
        )
    if platform:
        query = query.where(
            Package.id.in_(select(File.package_id).where(File.subdir == names.subdir(platform)))
        )
    return query


# -- releases --------------------------------------------------------------------------------


def find_release(session: Session, package: Package, version: str) -> Release | None:
    return session.scalar(
        select(Release).where(Release.package_id == package.id, Release.version == version)
    )


def get_release(
    session: Session, actor: Actor, owner: str, name: str, version: str, needed: Level = Level.READ
) -> Release:
    package = get_package(session, actor, owner, name, needed)
    release = find_release(session, package, names.version(version))
    if release is None or (
        actor.token_label is not None
        and not package.public
        and release.files
        and not any(
            reads_file(actor, False, (label.name for label in file.labels))
            for file in release.files
        )
    ):
        raise NotFound(f"The release {owner}/{name}/{version} does not exist.")
    return release


@dataclass(frozen=True)
class ReleaseAttrs:
    """What a request sets on a release, parsed from JSON at the HTTP layer."""

    summary: str | None = None
    description: str | None = None
    #: Other JSON values, kept in ``Release.attrs``.
    extra: Mapping[str, Any] = field(default_factory=dict)


def _apply_release_attrs(release: Release, attrs: ReleaseAttrs) -> None:
    for name in ("summary", "description"):
        value = getattr(attrs, name)
        if value is not None:
            setattr(release, name, value[:50_000])
    release.attrs = {**(release.attrs or {}), **attrs.extra}


def create_release(
    session: Session,
    actor: Actor,
    owner: str,
    name: str,
    version: str,
    attrs: ReleaseAttrs = ReleaseAttrs(),
) -> Release:
    package = get_package(session, actor, owner, name, Level.WRITE)
    names.version(version)
    if find_release(session, package, version):
        raise Conflict(f"The release {owner}/{name}/{version} already exists.")
    release = Release(package_id=package.id, version=version, attrs={})
    _apply_release_attrs(release, attrs)
    session.add(release)
    session.flush()
    return release


def ensure_release(session: Session, package: Package, version: str) -> Release:
    """The release, created when missing; concurrent uploads may create it at the same time."""
    release = find_release(session, package, version)
    if release is None:
        now = utcnow()
        insert = dialect_insert(session)
        session.execute(
            insert(Release)
            .values(
                package_id=package.id,
                version=version,
                summary="",
                description="",
                attrs={},
                created_at=now,
                modified_at=now,
            )
            .on_conflict_do_nothing()
        )
        release = find_release(session, package, version)
        assert release is not None
    return release


def update_release(
    session: Session, actor: Actor, owner: str, name: str, version: str, attrs: ReleaseAttrs
) -> Release:
    release = get_release(session, actor, owner, name, version, Level.WRITE)
    _apply_release_attrs(release, attrs)
    release.modified_at = utcnow()
    return release


def delete_release(
    session: Session, store: BlobStore, actor: Actor, owner: str, name: str, version: str
) -> None:
    release = get_release(session, actor, owner, name, version, Level.WRITE)
    for file in list(release.files):
        remove_file_row(session, store, actor, file)
    session.delete(release)
    _refresh_package_types(session, release.package)


# -- files -----------------------------------------------------------------------------------


def find_file(session: Session, release: Release, basename: str) -> File | None:
    return session.scalar(
        select(File).where(File.release_id == release.id, File.basename == basename)
    )


def get_file(
    session: Session,
    actor: Actor,
    owner: str,
    name: str,
    version: str,
    basename: str,
    needed: Level = Level.READ,
) -> File:
    release = get_release(session, actor, owner, name, version, needed)
    names.basename(basename)
    file = find_file(session, release, basename)
    if file is None or not reads_file(
        actor, release.package.public, (label.name for label in file.labels)
    ):
        raise NotFound(f"The file {owner}/{name}/{version}/{basename} does not exist.")
    return file


def distribution_key(filename: str) -> tuple[str, ...]:
    """What makes two Python distributions the same file for an installer: project, version
    and tags of a wheel (PEP 503/440 normalised), project and version of an sdist (one per
    release, as on PyPI). Names that do not parse are compared case-insensitively."""
    try:
        if filename.endswith(".whl"):
            name, version, build, tags = parse_wheel_filename(filename)
            return ("wheel", name, str(version), str(build), *sorted(str(tag) for tag in tags))
        name, version = parse_sdist_filename(filename)
        return ("sdist", name, str(version))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return ("file", filename.lower())


def pypi_release_spelling(session: Session, package: Package, version: str) -> str | None:
    """The spelling of an existing release with Python files whose version is ``version``
    under PEP 440 (``1.0`` and ``1.00``, ``2.0a1`` and ``2.0-alpha1``), or None."""
    wanted = canonicalize_version(version)
    versions = session.scalars(
        select(Release.version).where(
            Release.package_id == package.id,
            Release.id.in_(
                select(File.release_id).where(
                    File.package_id == package.id, File.distribution_type == "pypi"
                )
            ),
        )
    )
    return next((found for found in versions if canonicalize_version(found) == wanted), None)


def find_equivalent_file(
    session: Session, package: Package, distribution_type: str, subdir: str | None, filename: str
) -> File | None:
    """A file of the package that an index would list as the same as ``filename``."""
    if distribution_type == "conda":
        return session.scalar(
            select(File)
            .where(
                File.package_id == package.id,
                File.distribution_type == "conda",
                File.subdir == subdir,
                func.lower(File.filename) == filename.lower(),
            )
            .limit(1)
        )
    if distribution_type == "pypi":
        wanted = distribution_key(filename)
        candidates = session.execute(
            select(File.id, File.filename).where(
                File.package_id == package.id, File.distribution_type == "pypi"
            )
        )
        found = next(
            (file_id for file_id, name in candidates if distribution_key(name) == wanted), None
        )
        return session.get(File, found) if found is not None else None
    return None


def file_changes(file: File, package: Package, labels: list[str]) -> list[changes.Change]:
    return [
        changes.Change(
            package.owner_id, label, file.distribution_type, file.subdir, package.name_key
        )
        for label in labels
    ]


def require_changeable(actor: Actor, file: File, locked_says: str) -> list[str]:
    """The file's label names, once it may change: no label holding it is locked (what a
    locked label shows stays as it is) and ``actor`` reaches every one of them (a token
    limited to a label changes nothing another label shows). ``locked_says`` ends the
    refusal's message."""
    label_names = [label.name for label in file.labels]
    locked = sorted(label.name for label in file.labels if label.is_locked)
    if locked:
        raise Forbidden(
            f"The file {file.basename} is on the locked label '{locked[0]}'; "
            f"{locked_says} until it is unlocked."
        )
    require_label_reach(actor, label_names)
    return label_names


def remove_file_row(session: Session, store: BlobStore, actor: Actor, file: File) -> None:
    """Delete a file row, announce the index changes and release its blob if unused.

    Every route that removes a file comes here (file, release and package deletion, a copy
    that replaces), so this is where a locked label keeps what it holds and a token limited
    to a label removes only files that no other label holds.
    """
    package = session.get(Package, file.package_id)
    assert package is not None
    label_names = require_changeable(
        actor, file, "nothing on a locked label can be removed or replaced"
    )
    changes.record(session, file_changes(file, package, label_names))
    blob_id = file.blob_id
    session.delete(file)
    session.flush()
    blobs.release_unreferenced(session, store, {blob_id})


def delete_file(
    session: Session,
    store: BlobStore,
    actor: Actor,
    owner: str,
    name: str,
    version: str,
    basename: str,
) -> dict[str, Any]:
    file = get_file(session, actor, owner, name, version, basename, Level.WRITE)
    release = file.release
    package = release.package
    summary = {"basename": file.basename, "version": release.version, "package": package.name}
    remove_file_row(session, store, actor, file)
    _refresh_package_types(session, package)
    return summary


def _refresh_package_types(session: Session, package: Package) -> None:
    session.flush()
    types = session.scalars(
        select(File.distribution_type).where(File.package_id == package.id).distinct()
    ).all()
    if types:
        package.package_types = sorted(set(types))
    package.modified_at = utcnow()


def refresh_package_types(session: Session, package: Package) -> None:
    _refresh_package_types(session, package)


# -- collaborators ---------------------------------------------------------------------------


def list_collaborators(session: Session, actor: Actor, owner: str, name: str) -> list[Account]:
    package = get_package(session, actor, owner, name, Level.READ)
    return list(
        session.scalars(
            select(Account)
            .join(Collaborator, Collaborator.user_id == Account.id)
            .where(Collaborator.package_id == package.id)
            .order_by(Account.login)
        )
    )


def add_collaborator(session: Session, actor: Actor, owner: str, name: str, login: str) -> None:
    package = get_package(session, actor, owner, name, Level.ADMIN)
    user = accounts.get_user(session, login)
    if session.get(Collaborator, (package.id, user.id)) is None:
        session.add(Collaborator(package_id=package.id, user_id=user.id))


def remove_collaborator(session: Session, actor: Actor, owner: str, name: str, login: str) -> None:
    package = get_package(session, actor, owner, name, Level.ADMIN)
    user = accounts.get_user(session, login)
    row = session.get(Collaborator, (package.id, user.id))
    if row is None:
        raise NotFound(f"{login} is not a collaborator on {owner}/{name}.")
    session.delete(row)


def can_write(session: Session, actor: Actor, package: Package) -> bool:
    return package_level(session, actor, package) >= Level.WRITE
