"""Labels: which files a label selects, and copying or moving files between labels and owners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jupyter_repo.repository import changes, names
from jupyter_repo.repository.db import dialect_insert
from jupyter_repo.repository.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from jupyter_repo.repository.models import (
    Account,
    File,
    FileLabel,
    Label,
    Package,
    Release,
    now_ms,
    utcnow,
)
from jupyter_repo.repository.permissions import (
    Actor,
    Level,
    account_level,
    package_level,
    readable_files,
    reads_file,
    require_account,
    require_label_reach,
)
from jupyter_repo.repository.services import accounts, packages
from jupyter_repo.repository.storage import BlobStore


def find_label(session: Session, owner: Account, name: str) -> Label | None:
    return session.scalar(
        select(Label).where(Label.owner_id == owner.id, Label.name == names.label(name))
    )


def ensure_label(session: Session, owner_id: int, name: str) -> Label:
    """The label, created when missing; concurrent uploads may create it at the same time."""
    query = select(Label).where(Label.owner_id == owner_id, Label.name == name)
    label = session.scalar(query)
    if label is None:
        insert = dialect_insert(session)
        session.execute(
            insert(Label)
            .values(owner_id=owner_id, name=name, is_locked=False, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        label = session.scalar(query)
        assert label is not None
    return label


def check_unlocked(label: Label) -> None:
    if label.is_locked:
        raise Forbidden(f"The label '{label.name}' is locked; unlock it first.")


def attach(session: Session, file: File, package: Package, label: Label) -> bool:
    """Give ``file`` the label; returns False when it already had it."""
    if session.get(FileLabel, (file.id, label.id)) is not None:
        return False
    check_unlocked(label)
    session.add(FileLabel(file_id=file.id, label_id=label.id))
    changes.record(session, packages.file_changes(file, package, [label.name]))
    return True


def detach(session: Session, file: File, package: Package, label: Label) -> bool:
    row = session.get(FileLabel, (file.id, label.id))
    if row is None:
        return False
    check_unlocked(label)
    session.delete(row)
    changes.record(session, packages.file_changes(file, package, [label.name]))
    return True


def summary(session: Session, actor: Actor, owner: str) -> dict[str, dict[str, Any]]:
    """The namespace's labels with their number of readable files.

    Those who may write to the namespace see every label; everyone else only the labels
    holding a file they may read, so that a label used only by private packages is as
    unknown to outsiders as a label that does not exist.
    """
    account = accounts.get_account(session, owner)
    counts = dict(
        session.execute(
            select(Label.name, func.count(FileLabel.file_id))
            .select_from(Label)
            .join(FileLabel, FileLabel.label_id == Label.id)
            .join(File, File.id == FileLabel.file_id)
            .join(Package, Package.id == File.package_id)
            .where(Label.owner_id == account.id, readable_files(actor))
            .group_by(Label.name)
        ).all()
    )
    every_label = _sees_every_label(session, actor, account)
    result: dict[str, dict[str, Any]] = {}
    for label in session.scalars(
        select(Label).where(Label.owner_id == account.id).order_by(Label.name)
    ):
        if every_label or counts.get(label.name):
            result[label.name] = {
                "is_locked": label.is_locked,
                "num_files": counts.get(label.name, 0),
            }
    return result


def _sees_every_label(session: Session, actor: Actor, account: Account) -> bool:
    return actor.token_label is None and account_level(session, actor, account) >= Level.WRITE


def label_files(session: Session, actor: Actor, owner: str, name: str) -> tuple[Label, list[File]]:
    """A label and its files the actor may read; 'not found' for a label that holds nothing
    the actor may read, unless the actor may write to the namespace (see :func:`summary`)."""
    account = accounts.get_account(session, owner)
    label = find_label(session, account, name)
    missing = NotFound(f"The label '{name}' does not exist for {account.login}.")
    if label is None:
        raise missing
    files = list(
        session.scalars(
            select(File)
            .join(FileLabel, FileLabel.file_id == File.id)
            .join(Package, Package.id == File.package_id)
            .where(FileLabel.label_id == label.id, readable_files(actor))
            .order_by(File.basename)
        )
    )
    if not files and not _sees_every_label(session, actor, account):
        raise missing
    return label, files


def _select_files(
    session: Session,
    actor: Actor,
    owner: Account,
    package_name: str | None,
    version: str | None,
    basename: str | None,
    needed: Level,
    having_label: Label | None = None,
) -> list[tuple[File, Package]]:
    query = (
        select(File, Package)
        .join(Package, Package.id == File.package_id)
        .where(Package.owner_id == owner.id)
    )
    if package_name:
        package = packages.get_package(session, actor, owner.login, package_name, needed)
        query = query.where(Package.id == package.id)
    if version:
        query = query.join(Release, Release.id == File.release_id).where(
            Release.version == names.version(version)
        )
    if basename:
        names.basename(basename)
        query = query.where(File.basename == basename)
    if having_label is not None:
        query = query.join(FileLabel, FileLabel.file_id == File.id).where(
            FileLabel.label_id == having_label.id
        )
    rows = [
        (file, package)
        for file, package in session.execute(query).all()
        if reads_file(actor, package.public, (label.name for label in file.labels))
    ]
    for _file, package in rows:
        level = package_level(session, actor, package)
        if level < needed:
            raise Forbidden(  # never name a package the actor may not read
                f"You do not have write access to {owner.login}/{package.name}."
                if level >= Level.READ
                else "You do not have write access to every package whose files are selected."
            )
    return rows


@dataclass(frozen=True)
class FileSelection:
    """Which files a label change is about: a package's, optionally one version's, optionally
    one file (``package`` ``None``: the whole label, for removing it)."""

    package: str | None = None
    version: str | None = None
    basename: str | None = None


def add_files(
    session: Session, actor: Actor, owner: str, label_name: str, selection: FileSelection
) -> int:
    """``POST /channels/<owner>/<label>``: put the selected files on the label (move)."""
    account = accounts.get_account(session, owner)
    package_name, version, basename = selection.package, selection.version, selection.basename
    if not package_name:
        raise InvalidInput("Name the package whose files get the label.")
    rows = _select_files(session, actor, account, package_name, version, basename, Level.WRITE)
    if not rows:
        raise NotFound("No file matches that package, version and file name.")
    require_label_reach(actor, [names.label(label_name)])
    label = ensure_label(session, account.id, names.label(label_name))
    return sum(attach(session, file, package, label) for file, package in rows)


def remove_files(
    session: Session,
    actor: Actor,
    owner: str,
    label_name: str,
    selection: FileSelection = FileSelection(),
) -> int:
    """``DELETE /channels/<owner>/<label>``: take files off the label, or remove the label."""
    account = accounts.get_account(session, owner)
    label = find_label(session, account, label_name)
    if label is None:
        raise NotFound(f"The label '{label_name}' does not exist for {account.login}.")
    package_name, version, basename = selection.package, selection.version, selection.basename
    if not package_name:
        require_account(session, actor, account, Level.ADMIN)
        if label.name == names.DEFAULT_LABEL:
            raise InvalidInput("The 'main' label cannot be removed.")
        check_unlocked(label)
        rows = _select_files(session, actor, account, None, None, None, Level.READ, label)
        for file, package in rows:
            changes.record(session, packages.file_changes(file, package, [label.name]))
        session.execute(delete(FileLabel).where(FileLabel.label_id == label.id))
        session.delete(label)
        return len(rows)
    rows = _select_files(
        session, actor, account, package_name, version, basename, Level.WRITE, label
    )
    if not rows:
        raise NotFound(
            f"No file of {package_name} matching that version and file name is on "
            f"the label '{label.name}'."
        )
    require_label_reach(actor, [label.name])
    return sum(detach(session, file, package, label) for file, package in rows)


def copy_label(session: Session, actor: Actor, owner: str, from_label: str, to_label: str) -> int:
    account = accounts.get_account(session, owner)
    require_account(session, actor, account, Level.WRITE)
    source = find_label(session, account, from_label)
    if source is None:
        raise NotFound(f"The label '{from_label}' does not exist for {account.login}.")
    require_label_reach(actor, [names.label(to_label)])
    rows = _select_files(session, actor, account, None, None, None, Level.WRITE, source)
    if not rows and not _sees_every_label(session, actor, account):
        raise NotFound(f"The label '{from_label}' does not exist for {account.login}.")
    target = ensure_label(session, account.id, names.label(to_label))
    return sum(attach(session, file, package, target) for file, package in rows)


def set_locked(session: Session, actor: Actor, owner: str, label_name: str, locked: bool) -> None:
    account = accounts.get_account(session, owner)
    require_account(session, actor, account, Level.ADMIN)
    label = find_label(session, account, label_name)
    if label is None:
        raise NotFound(f"The label '{label_name}' does not exist for {account.login}.")
    label.is_locked = locked


def copy_files(
    session: Session,
    store: BlobStore,
    actor: Actor,
    owner: str,
    package_name: str,
    version: str,
    basename: str | None,
    *,
    to_owner: str | None,
    from_label: str,
    to_label: str,
    mode: str = "copy",
) -> list[str]:
    """Copy files to another label and/or owner; ``mode`` is copy, replace or update."""
    if actor.anonymous:
        raise Unauthenticated("Authentication required: log in or pass a token.")
    account = accounts.get_account(session, owner)
    source_label = find_label(session, account, from_label or names.DEFAULT_LABEL)
    if source_label is None:
        raise NotFound(f"The label '{from_label}' does not exist for {account.login}.")
    rows = _select_files(
        session, actor, account, package_name, version, basename, Level.READ, source_label
    )
    if not rows:
        raise NotFound("No file matches that package, version, file name and label.")
    destination = (
        accounts.get_account(session, to_owner) if to_owner else accounts.actor_user(session, actor)
    )
    label_name = names.label(to_label or names.DEFAULT_LABEL)
    require_label_reach(actor, [label_name])
    if destination.id == account.id:  # another label of the same packages: write on them
        label = ensure_label(session, account.id, label_name)
        for file, package in rows:
            if package_level(session, actor, package) < Level.WRITE:
                raise Forbidden(f"You do not have write access to {owner}/{package.name}.")
            attach(session, file, package, label)
        return [file.basename for file, _ in rows]
    source_package = rows[0][1]
    _destination, target_package = packages.package_for_upload(
        session, actor, destination.login, source_package.name
    )
    if target_package is None:
        target_package = packages.create_package(
            session,
            actor,
            destination.login,
            source_package.name,
            public=source_package.public,
            attrs=packages.PackageAttrs(
                **{field: getattr(source_package, field) for field in packages.PACKAGE_TEXT_FIELDS},
                license=source_package.license,
                package_types=tuple(source_package.package_types or ()),
            ),
        )
    label = ensure_label(session, destination.id, label_name)
    copied: list[str] = []
    for file, _package in rows:
        release = packages.ensure_release(session, target_package, file.release.version)
        existing = packages.find_file(session, release, file.basename)
        if existing is not None:
            if mode == "update":
                attach(session, existing, target_package, label)
                continue
            if mode != "replace":
                raise Conflict(
                    f"The file {file.basename} already exists in {destination.login}/"
                    f"{target_package.name}; use --replace or --update."
                )
            packages.remove_file_row(session, store, actor, existing)
        copy = File(
            package_id=target_package.id,
            release_id=release.id,
            basename=file.basename,
            filename=file.filename,
            subdir=file.subdir,
            distribution_type=file.distribution_type,
            size=file.size,
            md5=file.md5,
            sha256=file.sha256,
            attrs=dict(file.attrs),
            dependencies=dict(file.dependencies),
            description=file.description,
            core_metadata=file.core_metadata,
            conda_channel=file.conda_channel,
            blob_id=file.blob_id,
            uploader_id=actor.user_id,
            indexed_at_ms=now_ms(),
            # A copy is the same file: installers pass it by too (its writers may un-yank).
            yanked_at=file.yanked_at,
            yanked_reason=file.yanked_reason,
        )
        session.add(copy)
        session.flush()
        attach(session, copy, target_package, label)
        copied.append(file.basename)
    packages.refresh_package_types(session, target_package)
    return copied
