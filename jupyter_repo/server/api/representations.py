"""JSON shapes of the API, as anaconda-client 1.16 reads them (see the protocol reference)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, not_, select
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import (
    Account,
    File,
    FileLabel,
    Group,
    Label,
    Package,
    Release,
    Token,
)
from jupyter_repo.repository.permissions import Actor, readable_files, reads_file


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Urls:
    """Absolute URLs of this server, derived from the request's base URL."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.api = self.base + "/api"

    def html(self, owner: str, package: str | None = None) -> str:
        return f"{self.base}/{owner}" + (f"/{quote(package)}" if package else "")

    def download(self, owner: str, package: str, version: str, basename: str) -> str:
        return f"{self.api}/download/{owner}/{quote(package)}/{quote(version)}/{quote(basename)}"

    def conda_channel(self, owner: str, label: str = "main") -> str:
        suffix = "" if label == "main" else f"/label/{label}"
        return f"{self.base}/conda/{owner}{suffix}"

    def pypi_index(self, owner: str, label: str = "main") -> str:
        suffix = "" if label == "main" else f"/label/{label}"
        return f"{self.base}/pypi/{owner}{suffix}/simple/"


def user(account: Account) -> dict[str, Any]:
    return {
        "login": account.login,
        "name": account.name,
        "user_type": account.kind,
        "created_at": iso(account.created_at),
        "company": account.company,
        "location": account.location,
        "url": account.url,
        "description": account.description,
    }


def file(
    session: Session,
    row: File,
    package: Package,
    owner: Account,
    urls: Urls,
    version: str,
    label_names: list[str] | None = None,
) -> dict[str, Any]:
    if label_names is None:
        label_names = [label.name for label in row.labels]
    attrs = dict(row.attrs or {})
    attrs.update({"md5": row.md5, "sha256": row.sha256, "size": row.size})
    return {
        "basename": row.basename,
        "description": row.description,
        "distribution_type": row.distribution_type,
        "type": row.distribution_type,
        "attrs": attrs,
        "dependencies": row.dependencies or {},
        "md5": row.md5,
        "sha256": row.sha256,
        "size": row.size,
        "upload_time": iso(row.upload_time),
        "full_name": f"{owner.login}/{package.name}/{version}/{row.basename}",
        "download_url": urls.download(owner.login, package.name, version, row.basename),
        "version": version,
        "owner": owner.login,
        "labels": sorted(label_names),
        "ndownloads": row.ndownloads,
        "platform": row.subdir,
        "yanked": row.yanked_at is not None,
        "yanked_reason": row.yanked_reason or "",
        "yanked_at": iso(row.yanked_at) if row.yanked_at is not None else None,
        "origin_url": row.origin_url,
    }


def _labels_by_file(session: Session, file_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    if not file_ids:
        return result
    rows = session.execute(
        select(FileLabel.file_id, Label.name)
        .join(Label, Label.id == FileLabel.label_id)
        .where(FileLabel.file_id.in_(file_ids))
    )
    for file_id, name in rows:
        result[file_id].append(name)
    return result


@lru_cache(maxsize=8192)
def _version_key(value: str) -> tuple[int, Any]:
    """A version's sort key, parsed once: a search's 100 summaries parse over a thousand
    versions, mostly the same few (bounded: 8192 keys of a few hundred bytes)."""
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(value))
    except InvalidVersion:
        return (0, value)


def sorted_versions(versions: list[str]) -> list[str]:
    """Oldest first: PEP 440 order where versions parse, text order for the rest (first)."""
    return list(_sorted_versions(tuple(versions)))


@lru_cache(maxsize=2048)
def _sorted_versions(versions: tuple[str, ...]) -> tuple[str, ...]:
    """A package's versions change with its releases only; comparing ``Version`` objects
    was a tenth of a search's time (bounded: 2048 lists)."""
    return tuple(sorted(versions, key=_version_key))


def _readable(
    reader: Actor, package: Package, files: list[File], labels_by_file: dict[int, list[str]]
) -> list[File]:
    return [
        item
        for item in files
        if reads_file(reader, package.public, labels_by_file.get(item.id, []))
    ]


def package(
    session: Session, row: Package, urls: Urls, reader: Actor, *, owner: Account | None = None
) -> dict[str, Any]:
    """The package with every file ``reader`` may read (``package_summary``: without them)."""
    owner = owner or session.get(Account, row.owner_id)
    assert owner is not None
    releases = list(session.scalars(select(Release).where(Release.package_id == row.id)))
    version_of = {release.id: release.version for release in releases}
    files = list(
        session.scalars(
            select(File).where(File.package_id == row.id).order_by(File.upload_time, File.id)
        )
    )
    labels_by_file = _labels_by_file(session, [f.id for f in files])
    readable = _readable(reader, row, files, labels_by_file)
    if len(readable) < len(files):  # a label-limited token: show only what it reads
        shown = {item.release_id for item in readable}
        version_of = {key: value for key, value in version_of.items() if key in shown}
        files = readable
    data = _package_data(
        row,
        owner,
        urls,
        list(version_of.values()),
        FileFacts.of(
            [
                (
                    version_of[item.release_id],
                    item.subdir,
                    item.distribution_type,
                    item.attrs.get("build"),
                    item.ndownloads,
                )
                for item in files
            ]
        ),
        {name for item in files for name in labels_by_file.get(item.id, [])},
    )
    data["files"] = [
        file(
            session,
            item,
            row,
            owner,
            urls,
            version_of[item.release_id],
            labels_by_file.get(item.id, []),
        )
        for item in files
    ]
    return data


#: version, subdir, distribution type, build, downloads
FileSketch = tuple[str, str | None, str, Any, int]


@dataclass
class FileFacts:
    """What a package's shape needs of its files: each subdir's newest version (subdirs in
    the order their first file came), the conda builds, how many files, their downloads."""

    platforms: dict[str, str] = field(default_factory=dict)
    builds: set[str] = field(default_factory=set)
    count: int = 0
    downloads: int = 0

    @classmethod
    def of(cls, files: list[FileSketch]) -> FileFacts:
        """From the files themselves, in upload order."""
        facts = cls(count=len(files), downloads=sum(sketch[4] for sketch in files))
        for version, subdir, distribution_type, build, _downloads in files:
            if subdir:
                facts.platforms[subdir] = version
            if distribution_type == "conda" and build:
                facts.builds.add(str(build))
        return facts


def _package_data(
    row: Package,
    owner: Account,
    urls: Urls,
    release_versions: list[str],
    files: FileFacts,
    labels: set[str],
) -> dict[str, Any]:
    """The package's shape from its releases and files."""
    versions = sorted_versions(release_versions)
    platforms = files.platforms
    builds = files.builds
    return {
        "name": row.name,
        "id": str(row.id),
        "full_name": f"{owner.login}/{row.name}",
        "owner": user(owner),
        "summary": row.summary,
        "description": row.description,
        "license": row.license,
        "license_url": row.license_url,
        "home": row.home,
        "dev_url": row.dev_url,
        "doc_url": row.doc_url,
        "source_git_url": row.source_git_url,
        "public": row.public,
        "package_types": list(row.package_types or []),
        "url": urls.api + f"/package/{owner.login}/{quote(row.name)}",
        "html_url": urls.html(owner.login, row.name),
        "versions": versions,
        "latest_version": versions[-1] if versions else None,
        "releases": [{"version": version} for version in versions],
        "platforms": platforms,
        "conda_platforms": sorted(platforms),
        "builds": sorted(builds),
        "labels": sorted(labels),
        "created_at": iso(row.created_at),
        "modified_at": iso(row.modified_at),
        "revision": files.count,
        # Every download of the files shown (anaconda.org's per-package total).
        "ndownloads": files.downloads,
    }


def package_summary(session: Session, row: Package, urls: Urls, reader: Actor) -> dict[str, Any]:
    """The lighter shape used in lists and search results."""
    return package_summaries(session, [row], urls, reader)[0]


def package_summaries(
    session: Session, rows: Sequence[Package], urls: Urls, reader: Actor
) -> list[dict[str, Any]]:
    """``package_summary`` of many packages in four queries, not four per package: a
    search or a namespace listing shows hundreds, and the soak saw 1.3 s searches.
    Versions, platforms and labels come from the files ``reader`` may read."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    hidden_files: set[int] = set()
    if reader.token_label is not None:  # private files off the token's label stay unknown
        hidden_files = set(
            session.scalars(
                select(File.id)
                .join(Package, Package.id == File.package_id)
                .where(File.package_id.in_(ids), not_(readable_files(reader)))
            )
        )
    # Plain rows from the connection, not ORM entities: a search's hundred summaries step
    # through a thousand file rows, and the ORM's work per row was a third of its time.
    connection = session.connection()
    versions, facts = _facts_per_file(connection, ids, hidden_files)
    labels: dict[int, set[str]] = defaultdict(set)
    labelled = (
        select(File.package_id, Label.name)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(File.package_id.in_(ids))
    )
    if hidden_files:
        for package_id, name, file_id in connection.execute(labelled.add_columns(File.id)):
            if file_id not in hidden_files:
                labels[package_id].add(name)
    else:  # one row per package and label, not per file: fewer rows to step through
        for package_id, name in connection.execute(labelled.distinct()):
            labels[package_id].add(name)
    owners = {
        account.id: account
        for account in session.scalars(
            select(Account).where(Account.id.in_({row.owner_id for row in rows}))
        )
    }
    return [
        _package_data(
            row,
            owners[row.owner_id],
            urls,
            versions[row.id],
            facts[row.id],
            labels[row.id],
        )
        for row in rows
    ]


def _facts_per_file(
    connection: Connection, ids: list[int], hidden_files: set[int]
) -> tuple[dict[int, list[str]], dict[int, FileFacts]]:
    """Each package's versions and file facts, leaving ``hidden_files`` out (and the
    releases only they belong to)."""
    releases: dict[int, dict[int, str]] = defaultdict(dict)
    for release_id, package_id, version in connection.execute(
        select(Release.id, Release.package_id, Release.version).where(Release.package_id.in_(ids))
    ):
        releases[package_id][release_id] = version
    files: dict[int, list[FileSketch]] = defaultdict(list)
    shown_releases: dict[int, set[int]] = defaultdict(set)
    # Each file with its own release's version: on PostgreSQL every statement reads the
    # latest commits, so a release uploaded between the two queries has files here that the
    # first query did not see (the soak on PostgreSQL answered such uploads with a 500).
    for (
        file_id,
        package_id,
        release_id,
        version,
        subdir,
        distribution_type,
        build,
        count,
    ) in connection.execute(
        select(
            File.id,
            File.package_id,
            File.release_id,
            Release.version,
            File.subdir,
            File.distribution_type,
            File.attrs["build"].as_string(),  # text: no JSON decoding per row
            File.ndownloads,
        )
        .join(Release, Release.id == File.release_id)
        .where(File.package_id.in_(ids))
        .order_by(File.upload_time, File.id)
    ):
        if file_id in hidden_files:
            continue
        releases[package_id].setdefault(release_id, version)
        shown_releases[package_id].add(release_id)
        files[package_id].append((version, subdir, distribution_type, build, count))
    versions = {
        package_id: [
            version
            for release_id, version in releases[package_id].items()
            if release_id in shown_releases[package_id] or not hidden_files
        ]
        for package_id in ids
    }
    return versions, {package_id: FileFacts.of(files[package_id]) for package_id in ids}


def release(session: Session, row: Release, urls: Urls, reader: Actor) -> dict[str, Any]:
    pkg = row.package
    owner = session.get(Account, pkg.owner_id)
    assert owner is not None
    labels_by_file = _labels_by_file(session, [f.id for f in row.files])
    files = _readable(reader, pkg, list(row.files), labels_by_file)
    return {
        "version": row.version,
        "package": pkg.name,
        "full_name": f"{owner.login}/{pkg.name}/{row.version}",
        "summary": row.summary,
        "description": row.description,
        "public_attrs": {"description": row.description, "summary": row.summary, **row.attrs},
        "created_at": iso(row.created_at),
        "modified_at": iso(row.modified_at),
        "ndownloads": sum(item.ndownloads for item in files),
        "distributions": [
            file(session, item, pkg, owner, urls, row.version, labels_by_file.get(item.id, []))
            for item in files
        ],
    }


def token(row: Token) -> dict[str, Any]:
    return {
        "id": row.id,
        "application": row.name,
        "name": row.name,
        "remote_addr": row.remote_addr,
        "hostname": row.hostname,
        "expires": iso(row.expires_at),
        "created_at": iso(row.created_at),
        "scopes": list(row.scopes or []),
        "package": row.package_id,
        "label": row.label,
        "org": row.account.login if row.account_id and row.account else None,
        "origin": row.origin,
    }


def group(row: Group, member_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": row.name,
        "permission": row.permission,
        "owner": row.org.login,
        "description": row.description,
        "created_at": iso(row.created_at),
    }
    if member_count is not None:
        data["member_count"] = member_count
    return data


def actor_summary(actor: Actor) -> dict[str, Any]:
    return {"login": actor.login, "token": actor.token_id is not None}
