"""PyPI "simple" indexes per owner and label: PEP 503 HTML and PEP 691 JSON.

A project appears under ``/pypi/<owner>[/label/<label>]/simple/`` when one of its Python
distributions carries the label and the caller may read its package. Names are PEP 503
normalised; files link to themselves *relatively* (``<file>#sha256=...`` next to the project
page), so a token in the URL path (``/pypi/t/<token>/...``) and any reverse-proxy prefix stay
in every link pip and uv follow. Wheels offer their ``METADATA`` at ``<file>.metadata``
(PEP 658, announced under both PEP 714 names), and so do sdists whose ``PKG-INFO`` is static
(PEP 643; see ``inspect/pypi.py``). ``pypi_json.py`` builds Warehouse's JSON API from the
same rows.

The pages are small and built per request from one indexed query; the handlers answer
conditional requests with a content-derived ETag.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import InvalidInput, NotFound
from jupyter_repo.repository.indexes.lookup import Located, StoredFile
from jupyter_repo.repository.models import Blob, File, FileLabel, Label, Package, Release
from jupyter_repo.repository.permissions import Actor, visible_packages

API_VERSION = "1.1"  # PEP 691 + PEP 700 (versions, size, upload-time)
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class DistFile:
    filename: str
    version: str
    sha256: str
    size: int
    upload_time: datetime
    requires_python: str | None
    metadata_sha256: str | None
    md5: str = ""
    #: Warehouse's names: ``bdist_wheel`` or ``sdist``; ``py3``, ``cp312`` ... or ``source``.
    packagetype: str = ""
    python_version: str = ""
    #: PEP 592: installers skip a yanked file unless a requirement pins its version exactly.
    yanked: bool = False
    #: Why it was yanked ("" when no reason was given).
    yanked_reason: str = ""

    @property
    def yanked_value(self) -> bool | str:
        """PEP 691's ``yanked``: ``False``, or the reason (``True`` when none was given)."""
        if not self.yanked:
            return False
        return self.yanked_reason or True


def _visibility(actor: Actor, label: str) -> Any:
    """Which packages the actor may see in a label's index (a SQL condition)."""
    if actor.token_label is not None and actor.token_label != label:
        return Package.public == true()  # a label-limited token reads private files only there
    return visible_packages(actor)


def files_query(located: Located, actor: Actor) -> Any:
    key = located.key
    return (
        select(File, Package, Release.version)
        .join(Package, Package.id == File.package_id)
        .join(Release, Release.id == File.release_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(
            Package.owner_id == key.owner_id,
            Label.owner_id == key.owner_id,
            Label.name == key.label,
            File.distribution_type == "pypi",
            _visibility(actor, key.label),
        )
    )


def projects(session: Session, actor: Actor, located: Located) -> list[str]:
    """Normalised names of the projects the actor sees in the index."""
    key = located.key
    rows = session.scalars(
        select(Package.pypi_key)
        .join(File, File.package_id == Package.id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(
            Package.owner_id == key.owner_id,
            Label.owner_id == key.owner_id,
            Label.name == key.label,
            File.distribution_type == "pypi",
            _visibility(actor, key.label),
        )
        .distinct()
    )
    return sorted(set(rows))


def project_files(session: Session, actor: Actor, located: Located, project: str) -> list[DistFile]:
    """The files of a project (by normalised name); 404 when the actor sees none."""
    rows = session.execute(files_query(located, actor).where(Package.pypi_key == project)).all()
    if not rows:
        raise NotFound(f"No project named {project!r} in this index.")
    files = []
    for file, _package, version in rows:
        metadata = file.core_metadata
        attrs = file.attrs or {}
        files.append(
            DistFile(
                filename=file.filename,
                version=version,
                sha256=file.sha256,
                size=file.size,
                upload_time=file.upload_time,
                requires_python=attrs.get("requires_python") or None,
                metadata_sha256=hashlib.sha256(metadata).hexdigest() if metadata else None,
                md5=file.md5,
                packagetype=attrs.get("packagetype") or "",
                python_version=attrs.get("python_version") or "",
                yanked=file.yanked_at is not None,
                yanked_reason=file.yanked_reason or "",
            )
        )
    return sorted(files, key=lambda item: item.filename)


def project_file(
    session: Session, actor: Actor, located: Located, project: str, filename: str
) -> tuple[StoredFile, bytes | None]:
    """A file of the project and its core metadata; 404 unless the actor may read it."""
    try:
        names.filename(filename)
    except InvalidInput:
        raise NotFound("No such file in this index.") from None
    row = session.execute(
        files_query(located, actor)
        .add_columns(Blob.key)
        .join(Blob, Blob.id == File.blob_id)
        .where(Package.pypi_key == project, File.filename == filename)
    ).first()
    if row is None:
        raise NotFound("No such file in this index.")
    file, package, _version, blob_key = row
    stored = StoredFile(
        blob_key, file.size, file.sha256, file.filename, file.upload_time, package.public, file.id
    )
    return stored, file.core_metadata


# -- rendering -------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def root_json(project_names: Sequence[str]) -> bytes:
    return json.dumps(
        {
            "meta": {"api-version": API_VERSION},
            "projects": [{"name": name} for name in project_names],
        },
        separators=(",", ":"),
    ).encode()


def root_html(project_names: Sequence[str]) -> bytes:
    links = "\n".join(
        f'    <a href="{html.escape(name)}/">{html.escape(name)}</a><br>' for name in project_names
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{links}\n  </body>\n</html>\n"
    ).encode()


def project_json(project: str, files: Sequence[DistFile]) -> bytes:
    entries = []
    for item in files:
        metadata: Any = {"sha256": item.metadata_sha256} if item.metadata_sha256 else False
        entries.append(
            {
                "filename": item.filename,
                "url": item.filename,
                "hashes": {"sha256": item.sha256},
                "requires-python": item.requires_python,
                "core-metadata": metadata,
                "dist-info-metadata": metadata,
                "size": item.size,
                "upload-time": _iso(item.upload_time),
                "yanked": item.yanked_value,
            }
        )
    versions = sorted({item.version for item in files})
    return json.dumps(
        {
            "meta": {"api-version": API_VERSION},
            "name": project,
            "files": entries,
            "versions": versions,
        },
        separators=(",", ":"),
    ).encode()


def project_html(project: str, files: Sequence[DistFile]) -> bytes:
    links = []
    for item in files:
        attributes = ""
        if item.requires_python:
            attributes += f' data-requires-python="{html.escape(item.requires_python)}"'
        if item.metadata_sha256:
            attributes += (
                f' data-core-metadata="sha256={item.metadata_sha256}"'
                f' data-dist-info-metadata="sha256={item.metadata_sha256}"'
            )
        if item.yanked:  # PEP 592: the attribute's value is the reason, possibly empty
            attributes += f' data-yanked="{html.escape(item.yanked_reason)}"'
        href = html.escape(item.filename)
        links.append(f'    <a href="{href}#sha256={item.sha256}"{attributes}>{href}</a><br>')
    body = "\n".join(links)
    title = html.escape(project)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>Links for {title}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {title}</h1>\n{body}\n  </body>\n</html>\n"
    ).encode()
