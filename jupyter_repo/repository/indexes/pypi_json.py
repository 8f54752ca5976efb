"""The per-project JSON API in Warehouse's shape: ``/pypi/<project>[/<version>]/json``.

Tools written for pypi.org (pip-tools, pip-audit, poetry, dependency bots) read a project's
latest metadata, its releases and each file's digests from here instead of downloading every
file to hash it. The shape follows Warehouse's documented one: ``info`` (the chosen release's
core metadata), ``releases`` (every version's files; the project document only, as on PyPI),
``urls`` (the chosen release's files), ``last_serial`` and ``vulnerabilities``. Values this
repository does not keep are what Warehouse sends when it has none (``null``, ``-1``, ``[]``);
``digests`` holds the two it has, ``md5`` and ``sha256`` (no ``blake2b_256``).

``info`` comes from the ``METADATA`` of the release's wheel (or a static sdist's
``PKG-INFO``, PEP 643), parsed with ``packaging``; a release with neither falls back to what
the upload's inspection recorded. File URLs are absolute (these clients do not resolve
relative ones): the caller passes the base they start from. The documents are built per
request from the same visibility-checked rows as the simple index, so a private project is
"not found" to anyone who may not read it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any

from packaging.metadata import parse_email
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version
from sqlalchemy.orm import Session

from jupyter_repo.repository.errors import NotFound
from jupyter_repo.repository.indexes import pypi
from jupyter_repo.repository.indexes.lookup import Located
from jupyter_repo.repository.models import File, Package, Release
from jupyter_repo.repository.permissions import Actor

#: Warehouse's placeholder for download counts it no longer keeps.
NO_DOWNLOADS = {"last_day": -1, "last_month": -1, "last_week": -1}


@dataclass(frozen=True)
class Urls:
    """Where the documents point: absolute URLs, all ending in ``/``."""

    #: The project pages of the simple index (``.../simple/``); files are below them.
    simple: str
    #: This JSON API (``.../pypi/``): ``<project>/json`` and ``<project>/<version>/json``.
    json: str

    def file(self, project: str, filename: str) -> str:
        return f"{self.simple}{project}/{filename}"


def project_document(
    session: Session,
    actor: Actor,
    located: Located,
    project: str,
    version: str | None,
    urls: Urls,
) -> bytes:
    """The project document (``version`` ``None``) or one release's; 404 when the actor
    sees no such project or release."""
    files = pypi.project_files(session, actor, located, project)
    versions = _ordered_versions({item.version for item in files})
    yanked = _yanked_versions(files)
    chosen = _latest(versions, yanked) if version is None else _matching(versions, version)
    release_files = [item for item in files if item.version == chosen]
    package, metadata = _release_metadata(session, actor, located, project, chosen)
    info = _info(package, metadata, chosen, project, urls)
    if chosen in yanked:  # Warehouse's release-level yank: every file of it is yanked
        info["yanked"] = True
        info["yanked_reason"] = next(
            (item.yanked_reason for item in release_files if item.yanked_reason), None
        )
    document: dict[str, Any] = {
        "info": info,
        "last_serial": located.revision,
    }
    if version is None:
        document["releases"] = {
            number: [_file(item, project, urls) for item in files if item.version == number]
            for number in versions
        }
    document["urls"] = [_file(item, project, urls) for item in release_files]
    document["vulnerabilities"] = []
    return json.dumps(document, separators=(",", ":")).encode()


def _sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _ordered_versions(versions: set[str]) -> list[str]:
    return sorted(versions, key=_sort_key)


def _yanked_versions(files: Sequence[pypi.DistFile]) -> set[str]:
    """The versions all of whose files are yanked (PEP 592)."""
    return {item.version for item in files} - {item.version for item in files if not item.yanked}


def _latest(versions: Sequence[str], yanked: Set[str] = frozenset()) -> str:
    """Warehouse's choice: the highest final release not yanked, else the highest release
    not yanked, else the highest of all."""
    kept = [number for number in versions if number not in yanked]
    finals = [
        number for number in kept if _sort_key(number)[0] and not Version(number).is_prerelease
    ]
    return (finals or kept or list(versions))[-1]


def _matching(versions: Sequence[str], asked: str) -> str:
    if asked in versions:
        return asked
    try:
        wanted = canonicalize_version(asked)
    except InvalidVersion:
        wanted = asked
    for number in versions:
        if canonicalize_version(number) == wanted:
            return number
    raise NotFound(f"No release {asked!r} of this project in this index.")


def _release_metadata(
    session: Session, actor: Actor, located: Located, project: str, version: str
) -> tuple[Package, dict[str, Any]]:
    """The release's package and its parsed core metadata (a wheel's first)."""
    rows = session.execute(
        pypi.files_query(located, actor).where(
            Package.pypi_key == project, Release.version == version
        )
    ).all()
    if not rows:
        raise NotFound(f"No release {version!r} of this project in this index.")
    ranked: list[File] = sorted(
        (row[0] for row in rows),
        key=lambda file: (not file.filename.endswith(".whl"), file.core_metadata is None),
    )
    package: Package = rows[0][1]
    best = ranked[0]
    if best.core_metadata is not None:
        fields, _unparsed = parse_email(best.core_metadata)
        return package, dict(fields)
    attrs = best.attrs or {}
    return package, {
        "name": attrs.get("name") or package.name,
        "version": version,
        "summary": package.summary,
        "license": package.license,
        "home_page": package.home,
        "requires_python": attrs.get("requires_python"),
        "requires_dist": attrs.get("requires_dist") or [],
        "provides_extra": attrs.get("provides_extra") or [],
    }


def _info(
    package: Package, fields: dict[str, Any], version: str, project: str, urls: Urls
) -> dict[str, Any]:
    keywords = fields.get("keywords")
    platforms = fields.get("platforms")
    return {
        "author": fields.get("author"),
        "author_email": fields.get("author_email"),
        "bugtrack_url": None,
        "classifiers": list(fields.get("classifiers", [])),
        "description": fields.get("description") or "",
        "description_content_type": fields.get("description_content_type"),
        "docs_url": None,
        "download_url": fields.get("download_url"),
        "downloads": dict(NO_DOWNLOADS),
        "dynamic": list(fields["dynamic"]) if "dynamic" in fields else None,
        "home_page": fields.get("home_page"),
        "keywords": ",".join(keywords) if keywords else None,
        "license": fields.get("license"),
        "license_expression": fields.get("license_expression"),
        "license_files": list(fields["license_files"]) if "license_files" in fields else None,
        "maintainer": fields.get("maintainer"),
        "maintainer_email": fields.get("maintainer_email"),
        "name": fields.get("name") or package.name,
        "package_url": f"{urls.json}{project}/",
        "platform": ",".join(platforms) if platforms else None,
        "project_url": f"{urls.json}{project}/",
        "project_urls": dict(fields["project_urls"]) if fields.get("project_urls") else None,
        "provides_extra": list(fields.get("provides_extra", [])) or None,
        "release_url": f"{urls.json}{project}/{version}/",
        "requires_dist": [str(item) for item in fields.get("requires_dist", [])] or None,
        "requires_python": fields.get("requires_python") or "",
        "summary": fields.get("summary"),
        "version": version,
        "yanked": False,
        "yanked_reason": None,
    }


def _file(item: pypi.DistFile, project: str, urls: Urls) -> dict[str, Any]:
    uploaded = item.upload_time
    return {
        "comment_text": "",
        "digests": {"md5": item.md5, "sha256": item.sha256},
        "downloads": -1,
        "filename": item.filename,
        "has_sig": False,
        "md5_digest": item.md5,
        "packagetype": item.packagetype,
        "python_version": item.python_version,
        "requires_python": item.requires_python,
        "size": item.size,
        "upload_time": uploaded.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": uploaded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": urls.file(project, item.filename),
        "yanked": item.yanked,
        "yanked_reason": item.yanked_reason or None,
    }
