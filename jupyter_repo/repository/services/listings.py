"""Paged, read-only views for browsing, in a few indexed queries per page.

Pages list packages by the thousand. These functions select only the columns a list shows,
count with one query, and fetch what the rows need (owners, latest versions, labels) in one
batch query per page, never several queries per package. Permissions are the same as
everywhere: private packages are simply absent for those who may not read them.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import InvalidInput, NotFound, Unauthenticated
from jupyter_repo.repository.models import (
    Account,
    File,
    FileLabel,
    Group,
    GroupMember,
    GroupPackage,
    Label,
    Package,
    Release,
)
from jupyter_repo.repository.permissions import (
    Actor,
    Level,
    account_level,
    package_level,
    visible_packages,
)
from jupyter_repo.repository.services import accounts, downloads, orgs, packages, search

if TYPE_CHECKING:  # in annotations only (typing has them from Python 3.11)
    from typing_extensions import TypeVarTuple, Unpack

    Columns = TypeVarTuple("Columns")

T = TypeVar("T")
MAX_PER_PAGE = 200
MAX_LISTED_VERSIONS = 30


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def check_page(page: int, per_page: int) -> None:
    if page < 1:
        raise InvalidInput("The page number must be 1 or more.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}.")


def _paged(
    session: Session, statement: Select[Unpack[Columns]], page: int, per_page: int
) -> tuple[list[Row[Unpack[Columns]]], int]:
    check_page(page, per_page)
    total = (
        session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    )
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


# -- packages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageRow:
    owner: str
    name: str
    summary: str
    public: bool
    package_types: list[str]
    latest_version: str | None
    modified_at: datetime


_ROW_COLUMNS = (
    Package.id,
    Package.owner_id,
    Package.name,
    Package.summary,
    Package.public,
    Package.package_types,
    Package.modified_at,
)


def latest_versions(session: Session, package_ids: Sequence[int]) -> dict[int, str]:
    """The most recently created release of each package, in two queries."""
    if not package_ids:
        return {}
    newest = (
        select(func.max(Release.id))
        .where(Release.package_id.in_(package_ids))
        .group_by(Release.package_id)
    )
    rows = session.execute(
        select(Release.package_id, Release.version).where(Release.id.in_(newest))
    )
    return {package_id: version for package_id, version in rows}


def _owner_logins(session: Session, owner_ids: Iterable[int]) -> dict[int, str]:
    ids = set(owner_ids)
    if not ids:
        return {}
    rows = session.execute(select(Account.id, Account.login).where(Account.id.in_(ids)))
    return {account_id: login for account_id, login in rows}


def _rows(session: Session, rows: Sequence[Any]) -> list[PackageRow]:
    latest = latest_versions(session, [row.id for row in rows])
    logins = _owner_logins(session, (row.owner_id for row in rows))
    return [
        PackageRow(
            owner=logins[row.owner_id],
            name=row.name,
            summary=row.summary,
            public=row.public,
            package_types=list(row.package_types or []),
            latest_version=latest.get(row.id),
            modified_at=row.modified_at,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class OwnerView:
    account: Account
    #: The actor's rights over the namespace itself (manage labels, groups).
    level: Level
    packages: Page[PackageRow]


def owner_packages(
    session: Session,
    actor: Actor,
    owner: str,
    *,
    package_type: str | None = None,
    page: int = 1,
    per_page: int = 50,
    sort: str = "name",
) -> OwnerView:
    """A namespace and one page of the packages the actor may see in it, by name (or most
    recently changed first)."""
    account = accounts.get_account(session, owner)
    order = (
        (Package.modified_at.desc(), Package.id.desc())
        if sort == "updated"
        else (Package.name_key, Package.id)
    )
    statement = (
        select(*_ROW_COLUMNS)
        .where(Package.owner_id == account.id, visible_packages(actor))
        .order_by(*order)
    )
    statement = packages.filter_packages(statement, package_type, None)
    rows, total = _paged(session, statement, page, per_page)
    return OwnerView(
        account,
        account_level(session, actor, account),
        Page(_rows(session, rows), total, page, per_page),
    )


def recent_packages(
    session: Session, actor: Actor, *, limit: int = 20
) -> tuple[list[PackageRow], int]:
    """The most recently changed visible packages, and how many are visible in all."""
    condition = visible_packages(actor)
    rows = session.execute(
        select(*_ROW_COLUMNS)
        .where(condition)
        .order_by(Package.modified_at.desc(), Package.id.desc())
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(Package).where(condition)) or 0
    return _rows(session, rows), total


def search_packages(
    session: Session,
    actor: Actor,
    query: str,
    *,
    package_type: str | None = None,
    platform: str | None = None,
    label: str | None = None,
    page: int = 1,
    per_page: int = 50,
    sort: str = "relevance",
) -> Page[PackageRow]:
    found = search.search(
        session,
        actor,
        query,
        package_type=package_type,
        platform=platform,
        label=label,
        page=page,
        per_page=per_page,
        sort=sort,
    )
    return Page(_rows(session, found.packages), found.total, page, per_page)


#: The most choices offered for one filter (the most common first).
MAX_FACET_CHOICES = 40


@dataclass(frozen=True)
class Facets:
    """What the search's filters can choose from, each with how many packages match it."""

    types: list[tuple[str, int]]
    platforms: list[tuple[str, int]]
    labels: list[tuple[str, int]]


#: Up to this many matching packages, their ids are sent along (an index lookup per id);
#: beyond it the counts read the match as a subquery.
FACETS_BY_ID = 2_000


def search_facets(session: Session, actor: Actor, query: str) -> Facets:
    """For the packages matching ``query`` (before filtering): how many have files of
    each type, of each platform, and on each label, in three grouped queries."""
    matched_ids = list(
        session.scalars(search.matching(session, actor, query).limit(FACETS_BY_ID + 1))
    )
    matched: Any = (
        matched_ids if len(matched_ids) <= FACETS_BY_ID else search.matching(session, actor, query)
    )
    counted = func.count(File.package_id.distinct())

    def grouped(column: Any, *joins: Any, where: Any = None) -> list[tuple[str, int]]:
        if not matched_ids:
            return []
        statement = select(column, counted).select_from(File)
        for join in joins:
            statement = statement.join(*join)
        statement = statement.where(File.package_id.in_(matched), column.is_not(None))
        if where is not None:
            statement = statement.where(where)
        rows = session.execute(
            statement.group_by(column).order_by(counted.desc(), column).limit(MAX_FACET_CHOICES)
        ).all()
        return [(str(value), int(count)) for value, count in rows]

    label_limit = None
    if actor.token_label is not None:  # as search: a label-limited token sees no others
        label_limit = or_(
            Label.name == actor.token_label,
            File.package_id.in_(select(Package.id).where(Package.public.is_(True))),
        )
    return Facets(
        types=grouped(File.distribution_type),
        platforms=grouped(File.subdir),
        labels=grouped(
            Label.name,
            (FileLabel, FileLabel.file_id == File.id),
            (Label, Label.id == FileLabel.label_id),
            where=label_limit,
        ),
    )


# -- one package -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRow:
    basename: str
    version: str
    distribution_type: str
    subdir: str | None
    size: int
    sha256: str
    upload_time: datetime
    labels: list[str]
    title: str
    #: The environment a notebook names in its publish record (as recorded; unchecked).
    environment: dict[str, Any] | None = None
    yanked: bool = False
    yanked_reason: str = ""
    ndownloads: int = 0
    #: Where a mirror copied the file from ("" when it was uploaded here).
    origin_url: str = ""


@dataclass(frozen=True)
class PackageDetail:
    owner: Account
    package: Package
    can_write: bool
    #: The newest version with a file on the main label (what installs get by default).
    latest_version: str | None
    #: A newer version found only on other labels (e.g. dev), and those labels.
    newer_elsewhere: tuple[str, list[str]] | None
    #: Newest first (by upload), at most MAX_LISTED_VERSIONS of them.
    versions: list[str]
    version_count: int
    label_counts: list[tuple[str, int]]
    platform_counts: list[tuple[str, int]]
    #: distribution type -> the labels holding files of that type ("main" first).
    type_labels: dict[str, list[str]]
    files: Page[FileRow]
    #: Downloads of every file the viewer sees, and per listed version.
    ndownloads: int = 0
    version_downloads: dict[str, int] = field(default_factory=dict)
    #: Listed version holding a notebook → the next older listed one that holds one too
    #: (what the versions list links to as "changes").
    notebook_predecessors: dict[str, str] = field(default_factory=dict)
    #: The long description shown (the package's own, else its newest version's) and how
    #: it is written (text/markdown, text/x-rst, text/plain).
    description: str = ""
    description_content_type: str = ""


def _recorded_environment(attrs: dict[str, Any] | None) -> dict[str, Any] | None:
    recorded = (attrs or {}).get("environment")
    return recorded if isinstance(recorded, dict) else None


def label_order(name: str) -> tuple[int, str]:
    return (0 if name == names.DEFAULT_LABEL else 1, name)


def _labels_of(session: Session, file_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    if file_ids:
        rows = session.execute(
            select(FileLabel.file_id, Label.name)
            .join(Label, Label.id == FileLabel.label_id)
            .where(FileLabel.file_id.in_(file_ids))
        )
        for file_id, name in rows:
            result[file_id].append(name)
    return {key: sorted(value, key=label_order) for key, value in result.items()}


def _token_label_condition(actor: Actor, package: Package) -> ColumnElement[bool] | None:
    """A token limited to one label sees only that label's files of a private package."""
    if package.public or actor.token_label is None:
        return None
    return File.id.in_(
        select(FileLabel.file_id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Label.owner_id == package.owner_id, Label.name == actor.token_label)
    )


def package_detail(
    session: Session,
    actor: Actor,
    owner: str,
    name: str,
    *,
    label: str | None = None,
    platform: str | None = None,
    version: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> PackageDetail:
    """A package page: versions, label and platform counts, and one page of its files."""
    package = packages.get_package(session, actor, owner, name)
    account = session.get(Account, package.owner_id)
    assert account is not None
    level = package_level(session, actor, package)
    restriction = _token_label_condition(actor, package)

    def restricted(statement: Select[Unpack[Columns]]) -> Select[Unpack[Columns]]:
        return statement.where(restriction) if restriction is not None else statement

    version_rows = (
        session.execute(
            select(Release.version)
            .where(Release.package_id == package.id)
            .order_by(Release.created_at.desc(), Release.id.desc())
            .limit(MAX_LISTED_VERSIONS)
        )
        .scalars()
        .all()
    )
    version_count = (
        session.scalar(
            select(func.count()).select_from(Release).where(Release.package_id == package.id)
        )
        or 0
    )
    labelled = restricted(
        select(Label.name, File.distribution_type, func.count())
        .select_from(FileLabel)
        .join(Label, Label.id == FileLabel.label_id)
        .join(File, File.id == FileLabel.file_id)
        .where(File.package_id == package.id)
        .group_by(Label.name, File.distribution_type)
    )
    label_totals: dict[str, int] = defaultdict(int)
    type_labels: dict[str, list[str]] = defaultdict(list)
    for label_name, distribution_type, count in session.execute(labelled):
        label_totals[label_name] += count
        type_labels[distribution_type].append(label_name)
    downloads_by_version = {
        version: int(count or 0)
        for version, count in session.execute(
            restricted(
                select(Release.version, func.sum(File.ndownloads))
                .join(Release, Release.id == File.release_id)
                .where(File.package_id == package.id)
                .group_by(Release.version)
            )
        )
    }
    description, description_content_type = package.description, "text/markdown"
    if not description:
        described = session.execute(
            select(Release.description, Release.attrs)
            .where(Release.package_id == package.id, Release.description != "")
            .order_by(Release.created_at.desc(), Release.id.desc())
            .limit(1)
        ).first()
        if described is not None:
            description = described.description
            description_content_type = str(
                (described.attrs or {}).get("description_content_type") or "text/plain"
            )
    with_notebooks = set(
        session.scalars(
            restricted(
                select(Release.version)
                .join(File, File.release_id == Release.id)
                .where(
                    File.package_id == package.id,
                    File.distribution_type == "ipynb",
                    Release.version.in_(version_rows),
                )
                .distinct()
            )
        )
    )
    notebook_versions = [item for item in version_rows if item in with_notebooks]
    platform_counts = session.execute(
        restricted(
            select(File.subdir, func.count())
            .where(File.package_id == package.id, File.subdir.is_not(None))
            .group_by(File.subdir)
            .order_by(File.subdir)
        )
    ).all()

    statement = restricted(
        select(
            File.id,
            File.basename,
            Release.version,
            File.distribution_type,
            File.subdir,
            File.size,
            File.sha256,
            File.upload_time,
            File.attrs,
            File.yanked_at,
            File.yanked_reason,
            File.ndownloads,
            File.origin_url,
        )
        .join(Release, Release.id == File.release_id)
        .where(File.package_id == package.id)
        .order_by(File.upload_time.desc(), File.id.desc())
    )
    if label:
        statement = statement.where(
            File.id.in_(
                select(FileLabel.file_id)
                .join(Label, Label.id == FileLabel.label_id)
                .where(Label.owner_id == package.owner_id, Label.name == names.label(label))
            )
        )
    if platform:
        statement = statement.where(File.subdir == names.subdir(platform))
    if version:
        statement = statement.where(Release.version == names.version(version))
    rows, total = _paged(session, statement, page, per_page)
    labels_by_file = _labels_of(session, [row.id for row in rows])
    latest_on_main = session.execute(
        restricted(
            select(Release.id, Release.version)
            .join(File, File.release_id == Release.id)
            .join(FileLabel, FileLabel.file_id == File.id)
            .join(Label, Label.id == FileLabel.label_id)
            .where(Release.package_id == package.id, Label.name == names.DEFAULT_LABEL)
            .order_by(Release.created_at.desc(), Release.id.desc())
            .limit(1)
        )
    ).first()
    newer_elsewhere = None
    if version_rows and (latest_on_main is None or version_rows[0] != latest_on_main.version):
        newest_labels = session.scalars(
            restricted(
                select(Label.name)
                .distinct()
                .join(FileLabel, FileLabel.label_id == Label.id)
                .join(File, File.id == FileLabel.file_id)
                .join(Release, Release.id == File.release_id)
                .where(Release.package_id == package.id, Release.version == version_rows[0])
            )
        ).all()
        newer_elsewhere = (version_rows[0], sorted(newest_labels, key=label_order))
    files = [
        FileRow(
            basename=row.basename,
            version=row.version,
            distribution_type=row.distribution_type,
            subdir=row.subdir,
            size=row.size,
            sha256=row.sha256,
            upload_time=row.upload_time,
            labels=labels_by_file.get(row.id, []),
            title=str((row.attrs or {}).get("title") or ""),
            environment=_recorded_environment(row.attrs),
            yanked=row.yanked_at is not None,
            yanked_reason=row.yanked_reason or "",
            ndownloads=row.ndownloads,
            origin_url=row.origin_url or "",
        )
        for row in rows
    ]
    return PackageDetail(
        owner=account,
        package=package,
        can_write=level >= Level.WRITE,
        latest_version=latest_on_main.version if latest_on_main else None,
        newer_elsewhere=newer_elsewhere,
        versions=list(version_rows),
        version_count=version_count,
        label_counts=sorted(label_totals.items(), key=lambda item: label_order(item[0])),
        platform_counts=[
            (subdir, count) for subdir, count in platform_counts if subdir is not None
        ],  # none are: the query leaves them out
        type_labels={
            key: sorted(set(value), key=label_order) for key, value in type_labels.items()
        },
        files=Page(files, total, page, per_page),
        ndownloads=sum(downloads_by_version.values()),
        version_downloads={key: downloads_by_version.get(key, 0) for key in version_rows},
        notebook_predecessors=dict(itertools.pairwise(notebook_versions)),
        description=description,
        description_content_type=description_content_type,
    )


# -- one file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileView:
    owner: Account
    package: Package
    public: bool
    can_write: bool
    version: str
    basename: str
    filename: str
    distribution_type: str
    subdir: str | None
    size: int
    sha256: str
    md5: str
    upload_time: datetime
    attrs: dict[str, Any]
    dependencies: dict[str, Any]
    labels: list[str]
    blob_key: str
    #: Versions of the package holding a file of the same type, newest first.
    other_versions: list[tuple[str, str]]
    #: (basename, distribution type) of the other files of the same release.
    release_files: list[tuple[str, str]]
    ndownloads: int = 0
    #: Where a mirror copied the file from ("" when it was uploaded here).
    origin_url: str = ""


def _one_per_version(rows: Sequence[Any], basename: str) -> list[tuple[str, str]]:
    """One file per version (newest first): the one named like this file if there is one
    (an environment's environment.yml and requirements.txt are one version, not two)."""
    chosen: dict[str, str] = {}
    for version, name in rows:
        if version not in chosen or name == basename:
            chosen[version] = name
    return list(chosen.items())


def file_view(
    session: Session, actor: Actor, owner: str, name: str, version: str, basename: str
) -> FileView:
    file, public = downloads.locate(session, actor, owner, name, version, basename)
    package = file.release.package
    account = session.get(Account, package.owner_id)
    assert account is not None
    restriction = _token_label_condition(actor, package)
    siblings = (
        select(Release.version, File.basename)
        .join(Release, Release.id == File.release_id)
        .where(File.package_id == package.id, File.distribution_type == file.distribution_type)
    )
    if restriction is not None:
        siblings = siblings.where(restriction)
    other_versions = session.execute(
        siblings.order_by(Release.created_at.desc(), Release.id.desc(), File.id).limit(
            MAX_LISTED_VERSIONS
        )
    ).all()
    release_files = [
        (row.basename, row.distribution_type) for row in file.release.files if row.id != file.id
    ]
    return FileView(
        owner=account,
        package=package,
        public=public,
        can_write=package_level(session, actor, package) >= Level.WRITE,
        version=file.release.version,
        basename=file.basename,
        filename=file.filename,
        distribution_type=file.distribution_type,
        subdir=file.subdir,
        size=file.size,
        sha256=file.sha256,
        md5=file.md5,
        upload_time=file.upload_time,
        attrs=dict(file.attrs or {}),
        dependencies=dict(file.dependencies or {}),
        labels=sorted((label.name for label in file.labels), key=label_order),
        blob_key=file.blob.key,
        other_versions=_one_per_version(other_versions, file.basename),
        release_files=sorted(release_files),
        ndownloads=file.ndownloads,
        origin_url=file.origin_url or "",
    )


# -- organizations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    name: str
    permission: str
    description: str
    members: int
    packages: int


@dataclass(frozen=True)
class OrgView:
    org: Account
    is_admin: bool
    groups: list[GroupRow]
    #: (login, name, group names) of one page of members.
    members: Page[tuple[str, str, list[str]]]


def org_view(
    session: Session, actor: Actor, org: str, *, page: int = 1, per_page: int = 50
) -> OrgView:
    """An organization's groups and members, for its members (others: not found)."""
    account = orgs.get_org(session, actor, org)
    member_counts = dict(
        session.execute(
            select(GroupMember.group_id, func.count())
            .join(Group, Group.id == GroupMember.group_id)
            .where(Group.org_id == account.id)
            .group_by(GroupMember.group_id)
        ).all()
    )
    package_counts = dict(
        session.execute(
            select(GroupPackage.group_id, func.count())
            .join(Group, Group.id == GroupPackage.group_id)
            .join(Package, Package.id == GroupPackage.package_id)
            .where(Group.org_id == account.id, visible_packages(actor))
            .group_by(GroupPackage.group_id)
        ).all()
    )
    groups = [
        GroupRow(
            group.name,
            group.permission,
            group.description,
            member_counts.get(group.id, 0),
            package_counts.get(group.id, 0),
        )
        for group in session.scalars(
            select(Group).where(Group.org_id == account.id).order_by(Group.name)
        )
    ]
    in_org = (
        select(GroupMember.user_id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(Group.org_id == account.id)
    )
    statement = (
        select(Account.id, Account.login, Account.name)
        .where(Account.id.in_(in_org))
        .order_by(Account.login)
    )
    rows, total = _paged(session, statement, page, per_page)
    group_names: dict[int, list[str]] = defaultdict(list)
    if rows:
        for user_id, group_name in session.execute(
            select(GroupMember.user_id, Group.name)
            .join(Group, Group.id == GroupMember.group_id)
            .where(Group.org_id == account.id, GroupMember.user_id.in_([row.id for row in rows]))
            .order_by(Group.name)
        ):
            group_names[user_id].append(group_name)
    members = [(row.login, row.name, group_names[row.id]) for row in rows]
    return OrgView(
        org=account,
        is_admin=account_level(session, actor, account) >= Level.ADMIN,
        groups=groups,
        members=Page(members, total, page, per_page),
    )


@dataclass(frozen=True)
class GroupView:
    org: Account
    name: str
    permission: str
    description: str
    is_admin: bool
    members: Page[tuple[str, str]]
    packages: Page[tuple[str, bool]]


def group_view(
    session: Session,
    actor: Actor,
    org: str,
    group_name: str,
    *,
    members_page: int = 1,
    packages_page: int = 1,
    per_page: int = 50,
) -> GroupView:
    """A group's members and the packages granted to it, one page of each."""
    group = orgs.get_group(session, actor, org, group_name)
    account = session.get(Account, group.org_id)
    assert account is not None
    member_rows, member_total = _paged(
        session,
        (
            select(Account.login, Account.name)
            .join(GroupMember, GroupMember.user_id == Account.id)
            .where(GroupMember.group_id == group.id)
            .order_by(Account.login)
        ),
        members_page,
        per_page,
    )
    package_rows, package_total = _paged(
        session,
        (
            select(Package.name, Package.public)
            .join(GroupPackage, GroupPackage.package_id == Package.id)
            .where(GroupPackage.group_id == group.id, visible_packages(actor))
            .order_by(Package.name_key)
        ),
        packages_page,
        per_page,
    )
    return GroupView(
        org=account,
        name=group.name,
        permission=group.permission,
        description=group.description,
        is_admin=account_level(session, actor, account) >= Level.ADMIN,
        members=Page(
            [(row.login, row.name) for row in member_rows], member_total, members_page, per_page
        ),
        packages=Page(
            [(row.name, row.public) for row in package_rows], package_total, packages_page, per_page
        ),
    )


def manageable_account(session: Session, actor: Actor, owner: str, needed: Level) -> Account:
    """A namespace the actor may manage at ``needed``; to anyone else it does not exist
    (anonymous callers are asked to log in first, whether it exists or not)."""
    if actor.anonymous:
        raise Unauthenticated("Log in to manage a namespace.")
    account = accounts.get_account(session, owner)
    if account_level(session, actor, account) < needed:
        raise NotFound(f"{owner} does not exist or you may not manage it.")
    return account


# -- badges ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeFacts:
    """What a package's badges say, from the files the viewer may read."""

    public: bool
    latest_version: str | None
    ndownloads: int
    platforms: list[str]
    package_types: list[str]


def badge_facts(session: Session, actor: Actor, owner: str, name: str) -> BadgeFacts:
    """The latest version (newest release holding a file on ``main``, else the newest
    release), total downloads and platforms of a package; 'not found' as for its page."""
    package = packages.get_package(session, actor, owner, name)
    restriction = _token_label_condition(actor, package)

    def restricted(statement: Select[Unpack[Columns]]) -> Select[Unpack[Columns]]:
        return statement.where(restriction) if restriction is not None else statement

    newest = (Release.created_at.desc(), Release.id.desc())
    on_main = File.id.in_(
        select(FileLabel.file_id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Label.owner_id == package.owner_id, Label.name == names.DEFAULT_LABEL)
    )
    versions = restricted(
        select(Release.version)
        .join(File, File.release_id == Release.id)
        .where(Release.package_id == package.id)
    )
    latest = session.scalar(versions.where(on_main).order_by(*newest).limit(1))
    if latest is None:
        latest = session.scalar(versions.order_by(*newest).limit(1))
    total = session.scalar(
        restricted(select(func.sum(File.ndownloads)).where(File.package_id == package.id))
    )
    subdirs = session.scalars(
        restricted(
            select(File.subdir)
            .where(File.package_id == package.id, File.subdir.is_not(None))
            .distinct()
        )
    ).all()
    return BadgeFacts(
        public=package.public,
        latest_version=latest,
        ndownloads=int(total or 0),
        platforms=sorted(subdir for subdir in subdirs if subdir),
        package_types=[str(kind) for kind in package.package_types or []],
    )


# -- two versions of a notebook --------------------------------------------------------------


@dataclass(frozen=True)
class NotebookFile:
    version: str
    basename: str
    filename: str
    sha256: str
    size: int
    blob_key: str


@dataclass(frozen=True)
class NotebookPair:
    """The notebooks of two versions of a package, to show what changed between them."""

    owner: Account
    package: Package
    old: NotebookFile
    new: NotebookFile


def notebook_pair(
    session: Session, actor: Actor, owner: str, name: str, old_version: str, new_version: str
) -> NotebookPair:
    """The notebook of each version (the same file name in both when there is one); 'not
    found' for a package, version or notebook the actor cannot read."""
    package = packages.get_package(session, actor, owner, name)
    account = session.get(Account, package.owner_id)
    assert account is not None
    restriction = _token_label_condition(actor, package)

    def basenames(version: str) -> list[str]:
        statement = (
            select(File.basename)
            .join(Release, Release.id == File.release_id)
            .where(
                File.package_id == package.id,
                Release.version == names.version(version),
                File.distribution_type == "ipynb",
            )
            .order_by(File.basename)
        )
        if restriction is not None:
            statement = statement.where(restriction)
        found = list(session.scalars(statement))
        if not found:
            raise NotFound(f"Version {version} of {package.name} holds no notebook.")
        return found

    old_names, new_names = basenames(old_version), basenames(new_version)
    shared = sorted(set(old_names) & set(new_names))
    chosen = (shared[0], shared[0]) if shared else (old_names[0], new_names[0])

    def notebook(version: str, basename: str) -> NotebookFile:
        file, _public = downloads.locate(session, actor, owner, name, version, basename)
        return NotebookFile(
            version=file.release.version,
            basename=file.basename,
            filename=file.filename,
            sha256=file.sha256,
            size=file.size,
            blob_key=file.blob.key,
        )

    return NotebookPair(
        owner=account,
        package=package,
        old=notebook(old_version, chosen[0]),
        new=notebook(new_version, chosen[1]),
    )
