"""PyPI's upload API (the "legacy" form of twine, uv, poetry, pdm and hatch): the domain side.

The HTTP layer streams the form's ``content`` part into a spool and hands over the few form
fields that matter (:class:`UploadForm`); everything else a client sends (summary,
classifiers, description...) is read from the file itself, as for every other upload. The
rules are those of PyPI, so that its clients behave as they do there:

- the form's ``name`` and ``version``, the file name and the file's own metadata agree (in
  their normalised forms), and so do the digests the form announces;
- a file, once uploaded, is never replaced: another file under the same name (or one an
  installer would take for it) is a 409 "File already exists", which ``twine upload
  --skip-existing`` (and poetry's and pdm's) recognise; the same bytes again are accepted
  and change nothing (``uv publish --check-url`` and retries rely on that), except that a
  file uploaded onto a label it does not carry yet gets that label.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import (
    Conflict,
    DigestMismatch,
    Forbidden,
    InvalidInput,
    Unauthenticated,
)
from jupyter_repo.repository.inspect import Inspection, inspect_file
from jupyter_repo.repository.models import File
from jupyter_repo.repository.permissions import Actor, Level, require_label_reach
from jupyter_repo.repository.services import accounts, blobs, labels, packages, uploads
from jupyter_repo.repository.storage import Spool

#: The form fields this API reads; a client's other fields are not kept.
FORM_FIELDS = (
    ":action",
    "protocol_version",
    "name",
    "version",
    "filetype",
    "md5_digest",
    "sha256_digest",
    "blake2_256_digest",
)
#: What ``filetype`` says for each kind of file this index takes.
FILETYPES = {"bdist_wheel": (".whl",), "sdist": (".tar.gz", ".zip")}
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class UploadForm:
    """The fields of an upload that matter here, as the client sent them."""

    action: str | None = None
    protocol_version: str | None = None
    name: str | None = None
    version: str | None = None
    filetype: str | None = None
    md5_digest: str | None = None
    sha256_digest: str | None = None
    blake2_256_digest: str | None = None
    #: The file name of the ``content`` part.
    filename: str | None = None


@dataclass(frozen=True)
class Published:
    """What an upload did: ``created`` is False when the same file was there already."""

    created: bool
    owner: str
    project: str
    version: str
    filename: str
    label: str


def index_label(label: str | None) -> str:
    """The label an index URL names (no label: ``main``)."""
    return names.label(label) if label else names.DEFAULT_LABEL


def check_destination(session: Session, actor: Actor, owner: str, label: str | None) -> None:
    """Before any byte of the body is read: who uploads, and to which index.

    Anonymous callers are asked to log in (401, with the Basic challenge the clients answer),
    a token whose scopes only read is refused (403), and so is a token limited to another
    label or an upload onto a locked label.
    """
    if actor.anonymous:
        raise Unauthenticated("Authentication required: log in or pass a token.")
    if actor.cap < Level.WRITE:
        raise Forbidden(
            "This token's scopes do not allow uploads; create a token with the 'upload' scope."
        )
    account = accounts.get_account(session, owner)
    label_name = index_label(label)
    require_label_reach(actor, [label_name])
    found = labels.find_label(session, account, label_name)
    if found is not None:
        labels.check_unlocked(found)


def check_form(owner: str, form: UploadForm) -> uploads.Target:
    """The form's own consistency: the action, the protocol, the project, version and file."""
    if form.action != "file_upload":
        raise InvalidInput(
            f"Unsupported ':action' {form.action!r}: this index takes 'file_upload' only."
            if form.action
            else "The form has no ':action'; it must be 'file_upload'."
        )
    if form.protocol_version not in (None, "1"):
        raise InvalidInput(f"Unsupported protocol_version {form.protocol_version!r}; use 1.")
    return _check_file(owner, form)


def _check_file(owner: str, form: UploadForm) -> uploads.Target:
    """The project, the version and the file name agree."""
    if not form.name or not form.version:
        raise InvalidInput("The form must give the project's 'name' and 'version'.")
    if not form.filename:
        raise InvalidInput("The form has no 'content' file part with a file name.")
    filename = form.filename
    kind = next((kind for kind, endings in FILETYPES.items() if filename.endswith(endings)), None)
    if kind is None:
        raise InvalidInput(
            f"{filename!r} is not a Python distribution: upload a wheel (.whl) or an sdist "
            "(.tar.gz, .zip)."
        )
    if form.filetype not in (None, "", kind):
        raise InvalidInput(f"The filetype {form.filetype!r} does not match {filename!r} ({kind}).")
    try:
        if kind == "bdist_wheel":
            file_name, file_version, _build, _tags = parse_wheel_filename(filename)
        else:
            file_name, file_version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename) as error:
        raise InvalidInput(f"Invalid distribution file name: {error}") from None
    if canonicalize_name(form.name) != file_name:
        raise InvalidInput(f"The file {filename!r} is not of the project {form.name!r}.")
    if canonicalize_version(form.version) != canonicalize_version(file_version):
        raise InvalidInput(f"The file {filename!r} is not version {form.version!r}.")
    return uploads.parse_target(owner, form.name, form.version, filename, "pypi")


def check_project(session: Session, actor: Actor, owner: str, form: UploadForm) -> None:
    """When the file part starts (before its bytes are stored): the project, version and
    file name agree, and the caller may add files to the project (or create it in the
    namespace). Fields a client might send after the file are checked at the end."""
    target = _check_file(owner, form)
    packages.package_for_upload(session, actor, owner, target.package)


def verify_digests(form: UploadForm, spool: Spool) -> None:
    """The digests the form announces (any of md5, sha256, blake2b-256) match the bytes."""
    announced = (
        ("md5_digest", form.md5_digest, spool.md5),
        ("sha256_digest", form.sha256_digest, spool.sha256),
        ("blake2_256_digest", form.blake2_256_digest, spool.blake2_256),
    )
    for field, value, actual in announced:
        if not value:
            continue
        digest = value.strip().lower()
        if not set(digest) <= _HEX:
            raise InvalidInput(f"{field} must be hexadecimal.")
        if actual is not None and digest != actual:
            raise DigestMismatch(f"The {field} does not match the uploaded file.")


def file_exists(file: File) -> Conflict:
    """PyPI's wording, which the clients' "skip existing" options look for."""
    return Conflict(
        f"File already exists ({file.filename!r}, with sha256 hash {file.sha256!r}). "
        "A file cannot be replaced once uploaded; publish a new version instead."
    )


def ingest(
    repo: Repository, actor: Actor, owner: str, label: str | None, form: UploadForm, spool: Spool
) -> Published:
    """Check, inspect, store and register the uploaded distribution in ``spool``. Blocking.

    The spool is always consumed; a failure leaves no row and no blob behind.
    """
    label_name = index_label(label)
    try:
        target = check_form(owner, form)
        verify_digests(form, spool)
        inspection = inspect_file(spool.path, "pypi", target.filename, repo.limits)
        uploads.check_agreement(target, inspection)
        target = _as_published(target, inspection)
        found = repo.write(_already_there, actor, target, spool.sha256, label_name)
        if found is not None:
            return found
        target = repo.read(_release_spelling, target)
        blob_id, key = blobs.store_spool(repo.store, spool.path)
    finally:
        spool.discard()
    options = uploads.DirectOptions(distribution_type="pypi", labels=(label_name,))
    try:
        repo.write(
            uploads.register_direct, repo, actor, target, blob_id, key, spool, inspection, options
        )
    except Conflict:
        repo.store.delete(key)
        # Another upload of this file may have won the race: the same bytes are not an error.
        found = repo.write(_already_there, actor, target, spool.sha256, label_name)
        if found is None:
            raise
        return found
    except BaseException:
        repo.store.delete(key)
        raise
    return Published(True, owner, target.package, target.version, target.filename, label_name)


def _as_published(target: uploads.Target, inspection: Inspection) -> uploads.Target:
    """A new project takes the name its metadata spells (the form may send another spelling
    of it: twine sends a "safe" one)."""
    try:
        name = names.package(inspection.name or "")
    except InvalidInput:
        return target
    return replace(target, package=name)


def _release_spelling(session: Session, target: uploads.Target) -> uploads.Target:
    """A file of version ``1.0`` joins an existing release spelled ``1.0.0`` (one release per
    PEP 440 version, as on PyPI)."""
    account = accounts.get_account(session, target.owner)
    package = packages.find_package(session, account, target.package)
    if package is None:
        return target
    spelled = packages.pypi_release_spelling(session, package, target.version)
    return replace(target, version=spelled) if spelled else target


def _already_there(
    session: Session, actor: Actor, target: uploads.Target, sha256: str, label_name: str
) -> Published | None:
    """``None`` when the file is new to its project; the same file again (given the label if
    it lacks it); or a 409 for a different file an installer would take for this one."""
    account, package = packages.package_for_upload(session, actor, target.owner, target.package)
    if package is None:
        return None
    require_label_reach(actor, [label_name])
    existing = packages.find_equivalent_file(session, package, "pypi", None, target.filename)
    if existing is None:
        return None
    if existing.sha256 != sha256:
        raise file_exists(existing)
    label = labels.ensure_label(session, account.id, label_name)
    labels.attach(session, existing, package, label)
    return Published(
        False,
        account.login,
        package.name,
        existing.release.version,
        existing.filename,
        label_name,
    )
