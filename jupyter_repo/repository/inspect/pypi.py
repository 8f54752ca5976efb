"""Python distributions: wheels and sdists, read through ``packaging``'s metadata parser.

The wheel's ``METADATA`` is kept byte for byte, so the PyPI index can serve it as the
PEP 658 ``.metadata`` file without opening the wheel again; so is an sdist's ``PKG-INFO``
when it is static (PEP 643: Metadata 2.2+, no resolution field ``Dynamic``). Every member
of a wheel or an sdist passes :class:`~.members.MemberCheck` (pip and uv unpack them).
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import Any

from packaging.metadata import parse_email
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from jupyter_repo.repository.errors import InvalidInput, RepositoryError, TooLarge
from jupyter_repo.repository.inspect.base import (
    InflateBudget,
    Inspection,
    Limits,
    read_bounded,
    text,
)
from jupyter_repo.repository.inspect.members import MemberCheck


def inspect(path: Path, filename: str, limits: Limits) -> Inspection:
    try:
        if filename.endswith(".whl"):
            return _inspect_wheel(path, filename, limits)
        if filename.endswith((".tar.gz", ".zip")):
            return _inspect_sdist(path, filename, limits)
    except RepositoryError:
        raise
    except Exception as error:  # corrupt archives of every kind
        raise InvalidInput(
            f"{filename} is not a readable Python distribution: {type(error).__name__}: {error}"
        ) from None
    raise InvalidInput(
        f"A PyPI file must be a wheel (.whl) or an sdist (.tar.gz, .zip), got {filename!r}."
    )


def _inspect_wheel(path: Path, filename: str, limits: Limits) -> Inspection:
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as error:
        raise InvalidInput(f"Invalid wheel file name: {error}") from None
    if not zipfile.is_zipfile(path):
        raise InvalidInput(f"{filename} is not a valid wheel (not a ZIP file).")
    with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
        members = MemberCheck(filename)
        members.zip_members(archive, raw, InflateBudget(limits))
        members.finish()
        candidates = [
            info
            for info in archive.infolist()
            if info.filename.count("/") == 1 and info.filename.endswith(".dist-info/METADATA")
        ]
        if len(candidates) != 1:
            raise InvalidInput(f"{filename} must contain exactly one *.dist-info/METADATA file.")
        member = candidates[0]
        if member.file_size > limits.max_member_bytes:
            raise TooLarge(
                f"{member.filename} in {filename} inflates past the server's limit "
                f"of {limits.max_member_bytes} bytes; it was refused."
            )
        with archive.open(member) as stream:
            metadata = read_bounded(stream, limits.max_member_bytes, member.filename)
    inspection = _from_metadata(metadata, filename, name, str(version), "bdist_wheel")
    python_tags = sorted({tag.interpreter for tag in tags})
    platforms = sorted({tag.platform for tag in tags})
    inspection.attrs.update(
        {
            "python_version": ".".join(python_tags),
            "abi": None,
            "platform_tags": platforms,
            "build_no": 0,
        }
    )
    inspection.core_metadata = metadata
    return inspection


def _inspect_sdist(path: Path, filename: str, limits: Limits) -> Inspection:
    try:
        name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename as error:
        raise InvalidInput(f"Invalid sdist file name: {error}") from None
    raw = _sdist_pkg_info(path, filename, limits)
    inspection = _from_metadata(raw, filename, name, str(version), "sdist")
    inspection.attrs["python_version"] = "source"
    if static_dependencies(raw):
        inspection.core_metadata = raw
    return inspection


#: Fields an installer resolves with; an sdist's ``PKG-INFO`` is served as its PEP 658
#: metadata only when none of them is ``Dynamic`` (computed at build time).
RESOLUTION_FIELDS = frozenset({"requires-dist", "requires-python", "provides-extra"})


def static_dependencies(pkg_info: bytes) -> bool:
    """Does this ``PKG-INFO`` say what building the sdist will? (PEP 643: Metadata 2.2+
    fields not listed as ``Dynamic`` are the built wheel's, so an installer may resolve
    with them without building.)"""
    fields, _unparsed = parse_email(pkg_info)
    try:
        declared = Version(fields.get("metadata_version") or "0")
    except InvalidVersion:
        return False
    dynamic = {item.strip().lower() for item in fields.get("dynamic", [])}
    return declared >= Version("2.2") and not dynamic & RESOLUTION_FIELDS


def _sdist_pkg_info(path: Path, filename: str, limits: Limits) -> bytes:
    """The sdist's ``<name>-<version>/PKG-INFO``, after checking every member."""
    budget = InflateBudget(limits)
    members = MemberCheck(filename)
    found: bytes | None = None
    if filename.endswith(".zip"):
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            for info, _name in members.zip_members(archive, raw, budget):
                if (
                    found is None
                    and info.filename.count("/") == 1
                    and info.filename.endswith("/PKG-INFO")
                ):
                    with archive.open(info) as stream:
                        found = read_bounded(stream, limits.max_member_bytes, info.filename)
    else:
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                budget.charge(member.size)
                members.tar_member(member)
                if (
                    found is None
                    and member.isfile()
                    and member.name.count("/") == 1
                    and (member.name.endswith("/PKG-INFO"))
                ):
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        found = read_bounded(extracted, limits.max_member_bytes, member.name)
    members.finish()
    if found is None:
        raise InvalidInput(f"{filename} has no <name>-<version>/PKG-INFO; it is not an sdist.")
    return found


def _from_metadata(
    raw: bytes, filename: str, name: Any, version: str, packagetype: str
) -> Inspection:
    fields, _unparsed = parse_email(raw)
    meta_name = fields.get("name")
    meta_version = fields.get("version")
    if not meta_name or not meta_version:
        raise InvalidInput(f"The metadata of {filename} has no Name or Version.")
    if canonicalize_name(meta_name) != canonicalize_name(str(name)):
        raise InvalidInput(
            f"The file name {filename!r} does not match its metadata (Name: {meta_name})."
        )
    if canonicalize_version(meta_version) != canonicalize_version(version):
        raise InvalidInput(
            f"The file name {filename!r} does not match its metadata (Version: {meta_version})."
        )
    requires_dist = [str(item) for item in fields.get("requires_dist", [])]
    attrs: dict[str, Any] = {
        "packagetype": packagetype,
        "metadata_version": fields.get("metadata_version"),
        "requires_python": fields.get("requires_python"),
        "requires_dist": requires_dist,
        "provides_extra": list(fields.get("provides_extra", [])),
        "name": meta_name,
        "version": meta_version,
    }
    project_urls = fields.get("project_urls") or {}
    return Inspection(
        distribution_type="pypi",
        name=meta_name,
        version=meta_version,
        attrs=attrs,
        dependencies={"depends": requires_dist},
        summary=text(fields.get("summary"), 1000),
        description=text(fields.get("description"), 50_000),
        # Core metadata without a Description-Content-Type is reStructuredText (PEP 566).
        description_content_type=text(fields.get("description_content_type"), 200) or "text/x-rst",
        license=text(fields.get("license_expression") or fields.get("license"), 200),
        home=text(fields.get("home_page") or next(iter(project_urls.values()), ""), 500),
    )
