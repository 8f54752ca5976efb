"""Conda packages (``.conda`` and ``.tar.bz2``): read ``info/`` and check it against the name.

Only the ``info/`` metadata is read into memory, through conda-package-streaming; every
member of the package (the ``.conda``'s zip and both its inner tars, or the whole
``.tar.bz2``) is streamed past :class:`~.members.MemberCheck`, charging its size against
the inflate budget, so that no member or link lands outside the prefix it is linked into.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from conda_package_streaming.package_streaming import stream_conda_component, tar_generator

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import InvalidInput, RepositoryError
from jupyter_repo.repository.inspect import condachannel
from jupyter_repo.repository.inspect.base import (
    InflateBudget,
    Inspection,
    Limits,
    load_json_object,
    read_bounded,
    text,
)
from jupyter_repo.repository.inspect.members import MemberCheck

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

WANTED = {
    "info/index.json",
    "info/paths.json",
    "info/about.json",
    "info/files",
    "info/run_exports.json",
    *condachannel.RECIPE_MEMBERS,
}
EXTENSIONS = (".conda", ".tar.bz2")


def split_filename(filename: str) -> tuple[str, str, str, str]:
    """``name-version-build.ext`` → (name, version, build, ext)."""
    for ext in EXTENSIONS:
        if filename.endswith(ext):
            stem = filename[: -len(ext)]
            break
    else:
        raise InvalidInput(f"A conda package must end in .conda or .tar.bz2, got {filename!r}.")
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        raise InvalidInput(
            f"A conda file name must look like '<name>-<version>-<build>{ext}', got {filename!r}."
        )
    return parts[0], parts[1], parts[2], ext


def _info_component(archive: zipfile.ZipFile, filename: str) -> None:
    """A .conda names its metadata member after the package: check it is this package."""
    stem = filename[: -len(".conda")]
    members = [
        name
        for name in archive.namelist()
        if name.startswith("info-") and name.endswith(".tar.zst")
    ]
    if f"info-{stem}.tar.zst" in members:
        return
    if members:
        inner = members[0][len("info-") : -len(".tar.zst")]
        raise InvalidInput(
            f"The file name {filename!r} does not match its metadata (the archive holds {inner})."
        )
    raise InvalidInput(f"{filename} has no info-*.tar.zst member; it is not a conda package.")


def _streams(
    handle: IO[bytes], archive: zipfile.ZipFile | None, filename: str
) -> Iterator[tuple[bool, Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]]]:
    """``(is the metadata tar, its members)`` for each tar of the package: the whole
    ``.tar.bz2``, or every ``*.tar.zst`` inside a ``.conda`` (not only the ones named after
    it: an unpacker that picks its tars by prefix must not find an unchecked one)."""
    if archive is None:
        handle.seek(0)
        yield True, stream_conda_component(filename, handle, "info")
        return
    info_name = f"info-{filename[: -len('.conda')]}.tar.zst"
    inner = [info for info in archive.infolist() if info.filename.endswith(".tar.zst")]
    inner.sort(key=lambda info: info.filename != info_name)
    for info in inner:
        with archive.open(info) as compressed, zstd.open(compressed) as reader:
            yield info.filename == info_name, tar_generator(reader)


def _read_info(path: Path, filename: str, limits: Limits) -> dict[str, bytes]:
    budget = InflateBudget(limits)
    members = MemberCheck(filename)
    found: dict[str, bytes] = {}
    with open(path, "rb") as handle:
        archive = None
        if filename.endswith(".conda"):
            if not zipfile.is_zipfile(handle):
                raise InvalidInput(f"{filename} is not a valid .conda archive (not a ZIP file).")
            handle.seek(0)
            archive = zipfile.ZipFile(handle)
            outer = MemberCheck(filename)  # the zip is not unpacked with its tars: apart
            outer.zip_members(archive, handle, budget)
            outer.finish()
            _info_component(archive, filename)
        for is_info, stream in _streams(handle, archive, filename):
            for tar, member in stream:
                budget.charge(member.size)
                members.tar_member(member)
                if (
                    is_info
                    and member.name in WANTED
                    and member.isfile()
                    and member.name not in found
                ):
                    extracted = tar.extractfile(member)
                    if extracted is None:
                        continue
                    found[member.name] = read_bounded(
                        extracted, limits.max_member_bytes, f"{member.name} in {filename}"
                    )
    members.finish()
    return found


def inspect(path: Path, filename: str, limits: Limits) -> Inspection:
    name, version, build, _ext = split_filename(filename)
    try:
        members = _read_info(path, filename, limits)
    except RepositoryError:
        raise
    except Exception as error:  # corrupt zip, bz2, zstd or tar data
        raise InvalidInput(
            f"{filename} is not a readable conda package: {type(error).__name__}: {error}"
        ) from None
    if "info/index.json" not in members:
        raise InvalidInput(f"{filename} has no info/index.json; it is not a conda package.")
    index = load_json_object(members["info/index.json"], "info/index.json")
    _check_index(index, filename, name, version, build)
    entries = None
    if "info/paths.json" in members:
        paths = load_json_object(members["info/paths.json"], "info/paths.json")
        entries = paths.get("paths")
        if not isinstance(entries, list) or any(
            not isinstance(entry, dict) or "_path" not in entry or "path_type" not in entry
            for entry in entries
        ):
            raise InvalidInput(
                "info/paths.json must hold a 'paths' list whose entries have "
                "'_path' and 'path_type'."
            )
    elif "info/files" not in members:
        raise InvalidInput(f"{filename} has neither info/paths.json nor info/files.")
    about: dict[str, Any] = {}
    if "info/about.json" in members:
        try:
            about = load_json_object(members["info/about.json"], "info/about.json")
        except InvalidInput:
            about = {}
    run_exports: dict[str, Any] = {}
    if "info/run_exports.json" in members:
        try:
            run_exports = load_json_object(members["info/run_exports.json"], "run_exports.json")
        except InvalidInput:
            run_exports = {}
    attrs = dict(index)
    if run_exports:
        attrs["run_exports"] = run_exports
    recipe = next((members[name] for name in members if name in condachannel.RECIPE_MEMBERS), None)
    license_name = text(index.get("license") or about.get("license"), 200)
    return Inspection(
        distribution_type="conda",
        name=index["name"],
        version=index["version"],
        subdir=index["subdir"],
        attrs=attrs,
        dependencies={"depends": list(index.get("depends") or [])},
        summary=text(about.get("summary"), 1000),
        description=text(about.get("description"), 20_000),
        description_content_type="text/markdown",
        license=license_name,
        home=text(about.get("home"), 500),
        conda_channel=condachannel.fields(
            index, about, condachannel.recipe(recipe), entries, run_exports
        ),
    )


def _check_index(index: dict[str, Any], filename: str, name: str, version: str, build: str) -> None:
    for key in ("name", "version", "build", "subdir"):
        if not isinstance(index.get(key), str) or not index[key]:
            raise InvalidInput(f"info/index.json must have a string {key!r}.")
    if not isinstance(index.get("build_number"), int) or isinstance(index["build_number"], bool):
        raise InvalidInput("info/index.json must have an integer 'build_number'.")
    for key in ("depends", "constrains"):
        value = index.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidInput(f"info/index.json {key!r} must be a list of strings.")
    names.subdir(index["subdir"])
    if (index["name"], index["version"], index["build"]) != (name, version, build):
        raise InvalidInput(
            f"The file name {filename!r} does not match its metadata "
            f"(info/index.json says {index['name']}-{index['version']}-{index['build']})."
        )
    noarch = index.get("noarch")
    if noarch and index["subdir"] != "noarch":
        raise InvalidInput(f"info/index.json says noarch: {noarch} but subdir {index['subdir']!r}.")
    timestamp = index.get("timestamp")
    if timestamp is not None and (not isinstance(timestamp, int) or isinstance(timestamp, bool)):
        raise InvalidInput("info/index.json 'timestamp' must be an integer.")
