"""Mirroring PyPI projects from any PEP 691/503 index: ``sync_pypi``.

The mirror's ``include`` are requirement specs (``numpy>=2``, ``requests[socks]``): every
file of every version a spec admits is copied, when it fits the mirror's Python versions and
platforms (``pypi_targets.py``); ``exclude`` specs leave files out. With
``with_dependencies`` the closure follows ``Requires-Dist`` of the newest admitted version
of each project, markers evaluated for the targets, up to ``MAX_CLOSURE_PROJECTS`` projects.

Each project page is fetched conditionally (its validators and parsed files stay in the
mirror's state, so an unchanged upstream answers 304 and transfers nothing); each missing
file goes through ``fetch_and_ingest`` (sha256 and size checked against the index before it
is stored, a few at once), so it gets the PEP 658 metadata an upload would. The upstream's
yanks are applied here with their reasons, and un-yanks too; with ``keep_removed`` off,
files this mirror copied that the upstream no longer lists are removed. ``dry_run`` reads
the upstream and reports, and changes nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version
from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.mirroring.ingest import UpstreamFile, fetch_and_ingest
from jupyter_repo.mirroring.pypi_pages import ACCEPT, IndexFile, ProjectPage, parse_page
from jupyter_repo.mirroring.pypi_targets import Targets
from jupyter_repo.mirroring.sync import SyncContext
from jupyter_repo.mirroring.upstream import PYPI_FILE_HOSTS, UpstreamError, Validators
from jupyter_repo.repository.errors import InvalidInput, RepositoryError
from jupyter_repo.repository.inspect import inspect_file
from jupyter_repo.repository.models import Account, File, Package, Release
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import packages, yanking
from jupyter_repo.repository.services.mirrors import mask_url

#: The most projects a dependency closure reaches; past it the sync says so and stops adding.
MAX_CLOSURE_PROJECTS = 500
#: Hosts besides the upstream's own that its pages may link files on.
FILE_HOSTS = PYPI_FILE_HOSTS
#: Files downloaded at once.
DOWNLOAD_WORKERS = 4
#: The largest project page and PEP 658 metadata document read from an upstream.
MAX_PAGE_BYTES = 64 << 20
MAX_METADATA_BYTES = 8 << 20
STATE_VERSION = 1


@dataclass(frozen=True)
class Candidate:
    """An upstream file with what its name says (project, version, kind)."""

    file: IndexFile
    project: str  # canonical
    version: Version
    wheel: bool


@dataclass
class Stored:
    """A file of this namespace with the same name as an upstream one."""

    file_id: int
    package: str
    version: str
    basename: str
    sha256: str
    yanked: bool
    yanked_reason: str
    origin_mirror_id: int | None
    metadata_sha256: str | None


@dataclass
class _Project:
    """One upstream project as this sync knows it."""

    key: str
    name: str
    page_url: str
    page: ProjectPage
    candidates: list[Candidate]
    stored: dict[str, Stored] = field(default_factory=dict)


def _candidate(item: IndexFile, project: str) -> Candidate | None:
    try:
        if item.filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(item.filename)
            wheel = True
        else:
            name, version = parse_sdist_filename(item.filename)
            wheel = False
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None  # eggs, exes and odd names: not installable by pip or uv from an index
    if name != project:
        return None
    return Candidate(item, project, version, wheel)


def _requirements(specs: Iterable[str], what: str) -> list[Requirement]:
    parsed = []
    for spec in specs:
        try:
            parsed.append(Requirement(spec))
        except InvalidRequirement as error:
            reason = str(error).splitlines()[0]
            raise InvalidInput(f"The {what} {spec!r} is not a requirement spec: {reason}") from None
    return parsed


def _admits(requirement: Requirement, version: Version) -> bool:
    return requirement.specifier.contains(version, prereleases=True)


def _stored_files(session: Session, owner: str, project: str) -> dict[str, Stored]:
    rows = session.execute(
        select(File, Package.name, Release.version)
        .join(Package, Package.id == File.package_id)
        .join(Release, Release.id == File.release_id)
        .join(Account, Account.id == Package.owner_id)
        .where(
            Account.login == owner,
            Package.pypi_key == project,
            File.distribution_type == "pypi",
        )
    ).all()
    return {
        file.filename: Stored(
            file_id=file.id,
            package=package_name,
            version=version,
            basename=file.basename,
            sha256=file.sha256,
            yanked=file.yanked_at is not None,
            yanked_reason=file.yanked_reason or "",
            origin_mirror_id=file.origin_mirror_id,
            metadata_sha256=(
                hashlib.sha256(file.core_metadata).hexdigest() if file.core_metadata else None
            ),
        )
        for file, package_name, version in rows
    }


def _core_metadata(session: Session, file_id: int) -> bytes | None:
    file = session.get(File, file_id)
    return file.core_metadata if file is not None else None


def _set_core_metadata(session: Session, file_id: int, metadata: bytes) -> None:
    file = session.get(File, file_id)
    if file is not None and file.core_metadata is None:
        file.core_metadata = metadata


def _yank_file(session: Session, actor: Actor, file_id: int, reason: str) -> None:
    file = session.get(File, file_id)
    if file is not None:
        yanking.set_yanked(
            session,
            actor,
            file.package.owner.login,
            file.package.name,
            file.release.version,
            basename=file.basename,
            reason=_reason(reason),
        )


def _reason(text: str) -> str:
    """An upstream's yank reason as this server keeps it (one line, no control characters,
    at most ``yanking.MAX_REASON``): an odd reason must not keep the yank from applying."""
    printable = "".join(char if char.isprintable() else " " for char in text)
    return " ".join(printable.split())[: yanking.MAX_REASON]


class PypiSync:
    """One sync of a PyPI mirror (``sync_pypi`` runs it)."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        config = context.config
        self.targets = Targets(tuple(config.python_versions), tuple(config.platforms))
        self.includes = _requirements(config.include, "include")
        self.excludes = _requirements(config.exclude, "exclude")
        if not self.includes:
            raise InvalidInput("A PyPI mirror needs at least one requirement to include.")
        old = context.state if context.state.get("version") == STATE_VERSION else {}
        self.old_pages: dict[str, Any] = dict(old.get("projects", {}))
        self.new_pages: dict[str, Any] = {}
        self.projects: dict[str, _Project | None] = {}
        self.planned: dict[str, tuple[_Project, Candidate]] = {}
        self.ingested: set[str] = set()
        self._lock = threading.Lock()

    # -- the upstream's pages ----------------------------------------------------------------

    def project(self, key: str) -> _Project | None:
        """The upstream page of a project (once per sync); None when the upstream has none."""
        if key in self.projects:
            return self.projects[key]
        context = self.context
        path = f"{key}/"
        old = self.old_pages.get(key)
        validators = Validators(old.get("etag"), old.get("last_modified")) if old else None
        try:
            fetched = context.upstream.get_document(
                path, validators, max_size=MAX_PAGE_BYTES, accept=ACCEPT
            )
        except UpstreamError as error:
            if error.status is None:
                raise  # the upstream is unreachable: the whole sync fails, clearly
            context.report.failed.append(str(error))
            self.projects[key] = None
            return None
        if fetched.not_modified and old:
            page = ProjectPage(
                old.get("name"), [IndexFile.from_json(item) for item in old.get("files", [])]
            )
            self.new_pages[key] = old
        else:
            page = parse_page(fetched.body, fetched.content_type, fetched.url)
            self.new_pages[key] = {
                "etag": fetched.validators.etag,
                "last_modified": fetched.validators.last_modified,
                "name": page.name,
                "files": [item.to_json() for item in page.files],
            }
        candidates = [
            candidate
            for item in page.files
            if (candidate := _candidate(item, key)) is not None and self._allowed(item)
        ]
        project = _Project(key, page.name or key, fetched.url, page, candidates)
        project.stored = context.repo.read(_stored_files, context.owner, key)
        self.projects[key] = project
        return project

    def _allowed(self, item: IndexFile) -> bool:
        """Files only from the upstream's own host and port, or from ``FILE_HOSTS``: a
        hostile page cannot send the sync to fetch from inside the site's network."""
        target = urlsplit(item.url)
        own = urlsplit(self.context.upstream.base_url)
        if (target.hostname, target.port) == (own.hostname, own.port) or (
            target.hostname or ""
        ).lower() in FILE_HOSTS:
            return True
        self.context.report.failed.append(
            f"{item.filename}: the upstream links it on another host ({target.hostname}); "
            "only its own host and FILE_HOSTS are followed."
        )
        return False

    # -- choosing files ------------------------------------------------------------------------

    def _excluded(self, candidate: Candidate) -> bool:
        return any(
            canonicalize_name(rule.name) == candidate.project and _admits(rule, candidate.version)
            for rule in self.excludes
        )

    def _fits(self, candidate: Candidate) -> bool:
        if candidate.wheel and not self.targets.wheel_fits(candidate.file.filename):
            return False
        return self.targets.requires_python_fits(candidate.file.requires_python)

    def admitted(self, project: _Project, requirement: Requirement) -> list[Candidate]:
        return [
            candidate
            for candidate in project.candidates
            if _admits(requirement, candidate.version)
            and not self._excluded(candidate)
            and self._fits(candidate)
        ]

    def plan(self, project: _Project, chosen: list[Candidate]) -> None:
        for candidate in chosen:
            self.planned.setdefault(candidate.file.filename, (project, candidate))

    def resolve(self) -> None:
        """The files to mirror: every admitted file of the included requirements, and with
        ``with_dependencies`` the newest admitted version of each dependency (bounded)."""
        context = self.context
        queue: deque[tuple[Requirement, bool]] = deque((req, True) for req in self.includes)
        seen: set[tuple[str, str, tuple[str, ...], bool]] = set()
        while queue:
            requirement, top = queue.popleft()
            key = canonicalize_name(requirement.name)
            marker = (key, str(requirement.specifier), tuple(sorted(requirement.extras)), top)
            if marker in seen:
                continue
            seen.add(marker)
            if key not in self.projects and len(self.projects) >= MAX_CLOSURE_PROJECTS:
                context.report.failed.append(
                    f"The dependency closure reached {MAX_CLOSURE_PROJECTS} projects "
                    f"(MAX_CLOSURE_PROJECTS); {requirement} and the rest were not followed."
                )
                return
            project = self.project(key)
            if project is None:
                continue
            admitted = self.admitted(project, requirement)
            if not admitted:
                context.progress.note(f"{key}: no file upstream matches {requirement}.")
                continue
            newest = self._newest(admitted)
            self.plan(project, admitted if top else [c for c in admitted if c.version == newest])
            if context.config.with_dependencies:
                for dependency in self.dependencies(project, admitted, newest, requirement):
                    queue.append((dependency, False))

    @staticmethod
    def _newest(admitted: list[Candidate]) -> Version:
        """The version an installer would take: not yanked, and a final release when
        there is one (as pip and uv choose without ``--pre``)."""
        every = [candidate.version for candidate in admitted]
        unyanked = [c.version for c in admitted if not c.file.yanked] or every
        return max([version for version in unyanked if not version.is_prerelease] or unyanked)

    def dependencies(
        self,
        project: _Project,
        admitted: list[Candidate],
        newest: Version,
        requirement: Requirement,
    ) -> list[Requirement]:
        """``Requires-Dist`` of the newest admitted version whose markers hold on a target."""
        files = sorted(
            (candidate for candidate in admitted if candidate.version == newest),
            key=lambda candidate: (not candidate.wheel, not candidate.file.has_metadata),
        )
        metadata = None
        for candidate in files:
            metadata = self.metadata(project, candidate)
            if metadata is not None:
                break
        if metadata is None:
            self.context.progress.note(
                f"{project.key} {newest}: no metadata; its dependencies were not followed."
            )
            return []
        fields, _unparsed = parse_email(metadata)
        found = []
        for line in fields.get("requires_dist", []):
            try:
                dependency = Requirement(line)
            except InvalidRequirement:
                continue
            if self.targets.marker_holds(dependency.marker, requirement.extras):
                dependency.marker = None
                found.append(dependency)
        return found

    def metadata(self, project: _Project, candidate: Candidate) -> bytes | None:
        """A file's core metadata: the upstream's PEP 658 document (checked against its
        hash), else the stored file's (ingesting it first), else, in a dry run, read from a
        download into a spool that is thrown away."""
        context = self.context
        item = candidate.file
        if item.has_metadata:
            try:
                fetched = context.upstream.get_document(
                    item.url + ".metadata", max_size=MAX_METADATA_BYTES
                )
            except UpstreamError as error:
                if error.status is None:
                    raise
                context.progress.note(f"{item.filename}: {error}")
            else:
                digest = hashlib.sha256(fetched.body).hexdigest()
                if item.metadata_sha256 is None or digest == item.metadata_sha256:
                    return fetched.body
                context.progress.note(f"{item.filename}: the upstream's metadata fails its hash.")
        stored = project.stored.get(item.filename)
        if stored is None and not context.dry_run:
            self.fetch(project, candidate)
            project.stored = context.repo.read(_stored_files, context.owner, project.key)
            stored = project.stored.get(item.filename)
        if stored is not None:
            return context.repo.read(_core_metadata, stored.file_id)
        if context.dry_run:
            return self._downloaded_metadata(item)
        return None

    def _downloaded_metadata(self, item: IndexFile) -> bytes | None:
        repo = self.context.repo
        spool = repo.store.new_spool(repo.max_upload_size)
        try:
            self.context.upstream.download(item.url, spool.write)
            spool.finish()
            return inspect_file(spool.path, "pypi", item.filename, repo.limits).core_metadata
        except UpstreamError as error:
            if error.status is None:
                raise
            self.context.progress.note(f"{item.filename}: {error}")
            return None
        except RepositoryError:
            return None
        finally:
            spool.discard()

    # -- copying -------------------------------------------------------------------------------

    def fetch(self, project: _Project, candidate: Candidate) -> None:
        """Download, verify and store one file (a worker thread may call it); a file the
        upstream has yanked is yanked here at once, with the upstream's reason."""
        context = self.context
        item = candidate.file
        with self._lock:
            if item.filename in self.ingested:
                return
            self.ingested.add(item.filename)
        received = 0

        def on_bytes(count: int) -> None:
            nonlocal received
            received += count
            context.progress.advanced(count)

        try:
            stored = fetch_and_ingest(
                context.repo,
                context.actor,
                context.upstream,
                context.owner,
                context.mirror_id,
                UpstreamFile(
                    url=item.url,
                    package=project.name,
                    version=str(candidate.version),
                    basename=item.filename,
                    distribution_type="pypi",
                    sha256=item.sha256,
                    size=item.size,
                ),
                labels=(context.label,),
                public=context.config.public,
                on_bytes=on_bytes,
            )
            if item.yanked:
                context.repo.write(
                    _yank_file, context.actor, int(str(stored["file_id"])), item.yanked_reason
                )
        except (UpstreamError, RepositoryError) as error:
            with self._lock:
                context.report.failed.append(f"{item.filename}: {_message(error)}")
            return
        with self._lock:
            context.report.fetched.append(item.filename)
            context.report.fetched_bytes += received
        context.progress.file_done(item.filename)

    def copy(self) -> None:
        """Fetch every planned file not stored yet (``DOWNLOAD_WORKERS`` at once)."""
        context = self.context
        missing: list[tuple[_Project, Candidate]] = []
        for filename, (project, candidate) in sorted(self.planned.items()):
            stored = project.stored.get(filename)
            if filename in self.ingested:
                continue
            if stored is None:
                missing.append((project, candidate))
            elif candidate.file.sha256 is None or stored.sha256 == candidate.file.sha256:
                context.report.skipped += 1
            else:
                context.report.failed.append(
                    f"{filename}: stored here with other content than the upstream's "
                    f"({mask_url(candidate.file.url)}); left as it is."
                )
        context.progress.planned(len(missing), sum(c.file.size or 0 for _p, c in missing))
        if context.dry_run:
            context.report.fetched.extend(c.file.filename for _p, c in missing)
            context.report.fetched_bytes += sum(c.file.size or 0 for _p, c in missing)
            return
        with ThreadPoolExecutor(DOWNLOAD_WORKERS, thread_name_prefix="pypi-mirror") as pool:
            for _ in pool.map(lambda pair: self.fetch(*pair), missing):
                pass

    # -- after copying: metadata, yanks, removals ----------------------------------------------

    def reconcile(self) -> None:
        """Make what this mirror copied agree with the upstream's pages: PEP 658 metadata
        the upstream offers for files that have none here, yanks and un-yanks, and (with
        ``keep_removed`` off) files the upstream no longer lists."""
        context = self.context
        for project in self.projects.values():
            if project is None:
                continue
            if not context.dry_run:
                project.stored = context.repo.read(_stored_files, context.owner, project.key)
            listed = {item.filename: item for item in project.page.files}
            for filename, stored in project.stored.items():
                if stored.origin_mirror_id != context.mirror_id:
                    continue  # uploaded here, or by another mirror: not this sync's to change
                item = listed.get(filename)
                if item is None:
                    self._removed(stored)
                    continue
                self._yank(stored, item)
                if stored.metadata_sha256 is None and item.has_metadata and not context.dry_run:
                    self._metadata_from_upstream(stored, item)

    def _yank(self, stored: Stored, item: IndexFile) -> None:
        context = self.context
        reason = _reason(item.yanked_reason) if item.yanked else ""
        if (stored.yanked, stored.yanked_reason) == (item.yanked, reason):
            return
        what = "yank" if item.yanked else "un-yank"
        context.progress.note(f"{what} {stored.basename}" + (f": {reason}" if reason else ""))
        if context.dry_run:
            return
        try:
            context.repo.write(
                yanking.set_yanked,
                context.actor,
                context.owner,
                stored.package,
                stored.version,
                basename=stored.basename,
                yanked=item.yanked,
                reason=reason,
            )
        except RepositoryError as error:
            context.report.failed.append(f"{stored.basename}: cannot {what}: {_message(error)}")

    def _removed(self, stored: Stored) -> None:
        context = self.context
        if context.config.keep_removed:
            return
        context.report.removed.append(stored.basename)
        if context.dry_run:
            return
        try:
            context.repo.write(
                packages.delete_file,
                context.repo.store,
                context.actor,
                context.owner,
                stored.package,
                stored.version,
                stored.basename,
            )
        except RepositoryError as error:
            context.report.removed.remove(stored.basename)
            context.report.failed.append(f"{stored.basename}: cannot remove: {_message(error)}")

    def _metadata_from_upstream(self, stored: Stored, item: IndexFile) -> None:
        """A file this server could not read metadata from (a dynamic sdist) gets the
        upstream's, when the upstream vouches for it with a hash."""
        if item.metadata_sha256 is None:
            return
        try:
            fetched = self.context.upstream.get_document(
                item.url + ".metadata", max_size=MAX_METADATA_BYTES
            )
        except UpstreamError as error:
            self.context.report.failed.append(f"{item.filename}.metadata: {error}")
            return
        if hashlib.sha256(fetched.body).hexdigest() == item.metadata_sha256:
            self.context.repo.write(_set_core_metadata, stored.file_id, fetched.body)
        else:
            self.context.progress.note(f"{item.filename}: the upstream's metadata fails its hash.")

    def state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "projects": self.new_pages}


def _message(error: Exception) -> str:
    return getattr(error, "message", None) or str(error)


def sync_pypi(context: SyncContext) -> dict[str, Any]:
    """One sync of a PyPI mirror; returns the state the next sync starts from."""
    sync = PypiSync(context)
    sync.resolve()
    candidates = sum(len(p.candidates) for p in sync.projects.values() if p is not None)
    context.report.filtered_out += max(0, candidates - len(sync.planned))
    sync.copy()
    sync.reconcile()
    return sync.state()
