"""Uploads: the anaconda-compatible staged flow and the one-request streaming upload.

Both paths end the same way: the bytes are spooled to a temporary file while hashing,
inspected there, moved into storage, and only then does one short transaction create the
file row, its labels and the index changes. A failure at any step leaves no row and no blob.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from packaging.utils import canonicalize_name, canonicalize_version
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import (
    Conflict,
    DigestMismatch,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
)
from jupyter_repo.repository.inspect import Inspection, detect_type, inspect_file
from jupyter_repo.repository.inspect.conda import split_filename
from jupyter_repo.repository.models import (
    Account,
    Blob,
    File,
    Package,
    Release,
    UploadStage,
    now_ms,
    utcnow,
)
from jupyter_repo.repository.permissions import Actor, Level, require_label_reach
from jupyter_repo.repository.security import new_id
from jupyter_repo.repository.services import blobs, labels, packages
from jupyter_repo.repository.storage import Spool

SHA256_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Target:
    """Where a file goes: checked names, as the URL gave them."""

    owner: str
    package: str
    version: str
    basename: str
    distribution_type: str
    subdir: str | None
    filename: str


def parse_target(
    owner: str, package: str, version: str, basename: str, distribution_type: str | None
) -> Target:
    names.login(owner)
    names.package(package)
    names.version(version)
    if distribution_type:
        dtype = names.package_type(distribution_type)
    else:
        dtype = detect_type(basename.rsplit("/", 1)[-1])
    subdir, filename = names.basename(basename, dtype)
    if dtype == "conda":
        name, file_version, _build, _ext = split_filename(filename)
        if name.lower() != package.lower() or file_version != version:
            raise InvalidInput(
                f"The conda file {filename!r} is not {package} version {version}; "
                "its name and version must match the package and release."
            )
    return Target(owner, package, version, basename, dtype, subdir, filename)


def _check_sha256(value: object) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) != 64 or not set(value.lower()) <= SHA256_HEX:
        raise InvalidInput("sha256 must be 64 hexadecimal characters.")
    return value.lower()


def _check_room(session: Session, repo: Repository, package: Package) -> None:
    count = session.scalar(select(func.count()).where(File.package_id == package.id)) or 0
    if count >= repo.max_files_per_package:
        raise TooLarge(f"The package already holds {count} files, the server's limit per package.")


def check_conda_name(package: Package, target: Target) -> None:
    """A conda file goes under the package of its own name (the name it is indexed by)."""
    if target.distribution_type != "conda":
        return
    name = split_filename(target.filename)[0].lower()
    if name != package.name_key:
        raise Conflict(
            f"The name {name!r} belongs to the package {package.name!r} here; a conda "
            f"package must be uploaded under its own name, which must be {package.name!r}."
        )


def check_version_spelling(package: Package, target: Target, spelled: str | None) -> None:
    """A Python version already released as ``spelled`` takes its files under that spelling."""
    if spelled is not None and spelled != target.version:
        raise Conflict(
            f"Version {target.version} of {package.name} is already released as "
            f"{spelled}; upload the file under version {spelled}."
        )


def _check_new(session: Session, package: Package, target: Target) -> None:
    """Refuse a file that the package, or an index it appears in, already has.

    Besides the same name in the same release, an index must never list two files a client
    would take for one: conda file names differing only in case in one subdir, or Python
    distributions naming the same project, version and tags in other spellings
    (``sci_tools-1.0`` and ``Sci.Tools-1.00``) or filed under another spelling of the version.
    """
    release = packages.find_release(session, package, target.version)
    if release is not None and packages.find_file(session, release, target.basename):
        raise Conflict(
            f"file {target.basename} already exists for package {package.name} "
            f"version {target.version}"
        )
    check_conda_name(package, target)
    if target.distribution_type == "pypi":
        spelled = packages.pypi_release_spelling(session, package, target.version)
        check_version_spelling(package, target, spelled)
    existing = packages.find_equivalent_file(
        session, package, target.distribution_type, target.subdir, target.filename
    )
    if existing is not None:
        raise Conflict(
            f"file {target.filename} already exists for package {package.name} "
            f"(as {existing.basename} of version {existing.release.version})"
        )


def upload_labels(actor: Actor, given: list[str] | None) -> list[str]:
    """The labels a new file gets: those given, else ``main`` -- or, for a token limited to
    a label, that label (which is also the only one it may give)."""
    if actor.token_label is not None and not given:
        return [actor.token_label]
    chosen = names.labels(given)
    require_label_reach(actor, chosen)
    return chosen


def _check_labels(session: Session, owner: Account, label_names: list[str]) -> None:
    for name in label_names:
        label = labels.find_label(session, owner, name)
        if label is not None:
            labels.check_unlocked(label)


# -- the staged flow (anaconda-client, rattler-build) ----------------------------------------


@dataclass(frozen=True)
class StageRequest:
    """What anaconda-client's stage call announces (parsed from JSON at the HTTP layer)."""

    distribution_type: str | None = None
    #: The labels the file gets (``None`` or empty: ``main``, or a label token's label).
    labels: list[str] | None = None
    sha256: str | None = None
    description: str | None = None


def stage(
    session: Session,
    repo: Repository,
    actor: Actor,
    owner: str,
    package_name: str,
    version: str,
    basename: str,
    request: StageRequest,
) -> UploadStage:
    """Step 1: record what will be uploaded and hand out a one-time upload id."""
    target = parse_target(owner, package_name, version, basename, request.distribution_type)
    label_names = upload_labels(actor, request.labels)
    sha256 = _check_sha256(request.sha256)
    package = packages.get_package(session, actor, owner, package_name, Level.WRITE)
    owner_account = session.get(Account, package.owner_id)
    assert owner_account is not None
    _check_new(session, package, target)
    _check_room(session, repo, package)
    _check_labels(session, owner_account, label_names)
    stage_row = UploadStage(
        dist_id=new_id(24),
        owner_id=owner_account.id,
        package_id=package.id,
        version=target.version,
        basename=target.basename,
        distribution_type=target.distribution_type,
        description=request.description,
        labels=label_names,
        sha256=sha256,
        created_by_id=actor.require_user(),
        expires_at=utcnow() + timedelta(seconds=repo.stage_ttl),
    )
    session.add(stage_row)
    session.flush()
    return stage_row


def open_stage(session: Session, dist_id: str) -> tuple[UploadStage, Target]:
    """The staged upload behind an upload id, if it is still waiting for its bytes."""
    if not isinstance(dist_id, str) or not 8 <= len(dist_id) <= 64 or not dist_id.isalnum():
        raise NotFound("Unknown upload id.")
    stage_row = session.get(UploadStage, dist_id)
    if stage_row is None or stage_row.expires_at <= utcnow():
        raise NotFound("Unknown or expired upload id; stage the upload again.")
    if stage_row.state != "staged":
        raise Conflict("This upload id has already received its file.")
    package = session.get(Package, stage_row.package_id)
    owner = session.get(Account, stage_row.owner_id)
    assert package is not None and owner is not None
    target = parse_target(
        owner.login,
        package.name,
        stage_row.version,
        stage_row.basename,
        stage_row.distribution_type,
    )
    return stage_row, target


def verify_digests(
    spool: Spool, content_md5: str | None, content_length: str | None, sha256: str | None
) -> None:
    if content_length not in (None, ""):
        try:
            expected = int(str(content_length))
        except ValueError:
            raise InvalidInput("Content-Length must be a number of bytes.") from None
        if expected != spool.size:
            raise DigestMismatch(
                f"The file has {spool.size} bytes but Content-Length said {expected}."
            )
    if content_md5:
        try:
            announced = base64.b64decode(content_md5, validate=True).hex()
        except (binascii.Error, ValueError):
            raise DigestMismatch("Content-MD5 is not valid base64.") from None
        if announced != spool.md5:
            raise DigestMismatch("The Content-MD5 does not match the uploaded bytes.")
    if sha256 and sha256 != spool.sha256:
        raise DigestMismatch("The sha256 announced at staging does not match the uploaded bytes.")


def check_agreement(target: Target, inspection: Inspection) -> None:
    """The file's own metadata must agree with the package, release and platform named."""
    if target.distribution_type == "conda":
        if inspection.subdir != target.subdir:
            raise InvalidInput(
                f"The package is built for {inspection.subdir!r} but was uploaded to "
                f"{target.subdir!r}."
            )
        if (inspection.name or "").lower() != target.package.lower():
            raise InvalidInput(
                f"The file's metadata names package {inspection.name!r}, not {target.package!r}."
            )
        if inspection.version != target.version:
            raise InvalidInput(
                f"The file's metadata says version {inspection.version!r}, not {target.version!r}."
            )
    elif target.distribution_type == "pypi":
        if canonicalize_name(inspection.name or "") != canonicalize_name(target.package):
            raise InvalidInput(
                f"The file's metadata names project {inspection.name!r}, not {target.package!r}."
            )
        if canonicalize_version(inspection.version or "") != canonicalize_version(target.version):
            raise InvalidInput(
                f"The file's metadata says version {inspection.version!r}, not {target.version!r}."
            )


def receive(
    repo: Repository,
    dist_id: str,
    spool: Spool,
    *,
    content_md5: str | None,
    content_length: str | None,
) -> None:
    """Step 2: the bytes arrived in ``spool``; verify, inspect, store. Blocking."""
    try:
        stage_row, target = repo.read(open_stage, dist_id)
        verify_digests(spool, content_md5, content_length, stage_row.sha256)
        inspection = inspect_file(
            spool.path, target.distribution_type, target.filename, repo.limits
        )
        check_agreement(target, inspection)
        blob_id, key = blobs.store_spool(repo.store, spool.path)
    finally:
        spool.discard()
    try:
        repo.write(_mark_received, dist_id, blob_id, key, spool, inspection)
    except BaseException:
        repo.store.delete(key)
        raise


def _mark_received(
    session: Session, dist_id: str, blob_id: str, key: str, spool: Spool, inspection: Inspection
) -> None:
    stage_row = session.get(UploadStage, dist_id)
    if stage_row is None or stage_row.state != "staged":
        raise Conflict("This upload id has already received its file.")
    session.add(Blob(id=blob_id, key=key, size=spool.size, md5=spool.md5, sha256=spool.sha256))
    stage_row.state = "received"
    stage_row.blob_id = blob_id
    stage_row.inspected = inspection.to_json()


def commit(
    session: Session,
    repo: Repository,
    actor: Actor,
    owner: str,
    package_name: str,
    version: str,
    basename: str,
    dist_id: str,
) -> File:
    """Step 3: make the received file visible, with its labels (``dist_id``: the stage
    call's upload id)."""
    stage_row = session.get(UploadStage, dist_id) if dist_id.isalnum() else None
    package = packages.get_package(session, actor, owner, package_name, Level.WRITE)
    if (
        stage_row is None
        or stage_row.package_id != package.id
        or stage_row.version != version
        or stage_row.basename != basename
    ):
        raise NotFound("No staged upload matches this dist_id, package, version and file.")
    if stage_row.created_by_id != actor.user_id:
        raise Forbidden("Only the user who staged an upload can commit it.")
    if stage_row.state != "received" or stage_row.blob_id is None:
        raise InvalidInput("The file has not been uploaded yet; POST it to post_url first.")
    blob = session.get(Blob, stage_row.blob_id)
    assert blob is not None
    inspection = Inspection.from_json(stage_row.inspected)
    target = parse_target(owner, package.name, version, basename, stage_row.distribution_type)
    stage_labels = list(stage_row.labels)
    require_label_reach(actor, stage_labels)  # the committing token may be narrower
    description = stage_row.description
    session.delete(stage_row)
    session.flush()
    return register_file(
        session, repo, actor, package, target, blob, inspection, stage_labels, description
    )


def describe_from(package: Package, release: Release, inspection: Inspection) -> None:
    """Fill what the package and release do not say yet from a new file's inspection: the
    version's long description as its first file with one has it (a wheel's Description, a
    conda recipe's, a README, a notebook's first Markdown cell)."""
    if not release.summary and inspection.summary:
        release.summary = inspection.summary
    if not package.summary and inspection.summary:
        package.summary = inspection.summary[:1000]
    if not release.description and inspection.description:
        release.description = inspection.description
        release.attrs = {
            **(release.attrs or {}),
            "description_content_type": inspection.description_content_type,
        }
    for field in ("license", "home"):
        if not getattr(package, field) and getattr(inspection, field):
            setattr(package, field, getattr(inspection, field))


def register_file(
    session: Session,
    repo: Repository,
    actor: Actor,
    package: Package,
    target: Target,
    blob: Blob,
    inspection: Inspection,
    label_names: list[str],
    description: str | None,
) -> File:
    """Create a file row for bytes already stored, verified and inspected, inside the
    caller's transaction (an upload's commit, or a bundle import registering all its files
    in one transaction)."""
    _check_new(session, package, target)
    _check_room(session, repo, package)
    release = packages.ensure_release(session, package, target.version)
    describe_from(package, release, inspection)
    file = File(
        package_id=package.id,
        release_id=release.id,
        basename=target.basename,
        filename=target.filename,
        subdir=target.subdir,
        distribution_type=target.distribution_type,
        size=blob.size,
        md5=blob.md5,
        sha256=blob.sha256,
        attrs=inspection.attrs,
        dependencies=inspection.dependencies,
        description=description,
        core_metadata=inspection.core_metadata,
        conda_channel=inspection.conda_channel,
        blob_id=blob.id,
        uploader_id=actor.user_id,
        indexed_at_ms=now_ms(),
    )
    session.add(file)
    session.flush()
    for name in label_names:
        labels.attach(session, file, package, labels.ensure_label(session, package.owner_id, name))
    packages.refresh_package_types(session, package)
    return file


# -- the one-request upload (jupyter-repo client, curl) --------------------------------------


@dataclass(frozen=True)
class DirectOptions:
    distribution_type: str | None = None
    labels: tuple[str, ...] = ()
    summary: str | None = None
    description: str | None = None
    public: bool = True
    sha256: str | None = None
    #: Set by mirror syncs: the mirror the file comes from and its upstream URL.
    origin_mirror_id: int | None = None
    origin_url: str | None = None


def precheck_direct(
    session: Session,
    repo: Repository,
    actor: Actor,
    owner: str,
    package_name: str,
    version: str,
    basename: str,
    options: DirectOptions,
) -> Target:
    """Refuse early (before any byte is read) what would be refused after the upload."""
    target = parse_target(owner, package_name, version, basename, options.distribution_type)
    account, package = packages.package_for_upload(session, actor, owner, package_name)
    if package is not None:
        _check_new(session, package, target)
        _check_room(session, repo, package)
    _check_labels(session, account, upload_labels(actor, list(options.labels)))
    return target


def ingest_direct(
    repo: Repository, actor: Actor, target: Target, spool: Spool, options: DirectOptions
) -> dict[str, Any]:
    """Verify, inspect, store and register a file uploaded in one request. Blocking.

    Returns what :func:`describe_new_file` returns, computed inside the transaction.
    """
    try:
        verify_digests(spool, None, None, _check_sha256(options.sha256))
        inspection = inspect_file(
            spool.path, target.distribution_type, target.filename, repo.limits
        )
        check_agreement(target, inspection)
        blob_id, key = blobs.store_spool(repo.store, spool.path)
    finally:
        spool.discard()
    try:
        return repo.write(
            register_direct, repo, actor, target, blob_id, key, spool, inspection, options
        )
    except BaseException:
        repo.store.delete(key)
        raise


def register_direct(
    session: Session,
    repo: Repository,
    actor: Actor,
    target: Target,
    blob_id: str,
    key: str,
    spool: Spool,
    inspection: Inspection,
    options: DirectOptions,
) -> dict[str, Any]:
    """Create the file row (and the package when missing) for a blob already stored."""
    _account, package = packages.package_for_upload(session, actor, target.owner, target.package)
    if package is None:
        try:
            with session.begin_nested():  # another upload may create it at the same moment
                package = packages.create_package(
                    session,
                    actor,
                    target.owner,
                    target.package,
                    public=options.public,
                    attrs=packages.PackageAttrs(
                        summary=options.summary or inspection.summary,
                        package_types=(target.distribution_type,),
                    ),
                )
        except IntegrityError:
            _account, package = packages.package_for_upload(
                session, actor, target.owner, target.package
            )
            if package is None:
                raise
    blob = Blob(id=blob_id, key=key, size=spool.size, md5=spool.md5, sha256=spool.sha256)
    session.add(blob)
    session.flush()
    file = register_file(
        session,
        repo,
        actor,
        package,
        target,
        blob,
        inspection,
        upload_labels(actor, list(options.labels)),
        options.description,
    )
    if options.summary:
        file.release.summary = options.summary
    file.origin_mirror_id = options.origin_mirror_id
    file.origin_url = options.origin_url
    return {"file_id": file.id, "package_id": package.id}


# -- housekeeping ----------------------------------------------------------------------------


def expire_stages(session: Session, repo: Repository) -> int:
    """Drop staged uploads that never finished, and the bytes they may have stored."""
    stale = list(session.scalars(select(UploadStage).where(UploadStage.expires_at <= utcnow())))
    blob_ids = {row.blob_id for row in stale if row.blob_id}
    for row in stale:
        session.delete(row)
    blobs.release_unreferenced(session, repo.store, blob_ids)
    return len(stale)


def ingest_local_file(
    repo: Repository,
    actor: Actor,
    owner: str,
    package_name: str,
    version: str,
    basename: str,
    path: Any,
    options: DirectOptions = DirectOptions(),
) -> dict[str, Any]:
    """Upload a file from the local disk (demo bootstrap, admin tools). Blocking."""
    target = repo.read(
        precheck_direct, repo, actor, owner, package_name, version, basename, options
    )
    spool = repo.store.new_spool(repo.max_upload_size)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                spool.write(chunk)
        spool.finish()
    except BaseException:
        spool.discard()
        raise
    return ingest_direct(repo, actor, target, spool, options)
