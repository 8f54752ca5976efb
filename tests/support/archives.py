"""Archives of every type the repository inspects, built around members chosen by a test.

Each builder writes an otherwise valid package (a conda package, a wheel, an sdist, a
project) with the given extra members added: files, folders, symlinks, hard links, device
files, in whichever way the format spells them (a zip symlink is a member with a Unix
S_IFLNK mode whose content is the target). Names the writing libraries would refuse or
truncate (a NUL in a zip name, a zip member whose local header or Unicode Path field names
another path) are patched into the bytes afterwards, as an attacker would.
"""

from __future__ import annotations

import io
import json
import posixpath
import struct
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_repo.demo import builders

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef]


@dataclass(frozen=True)
class Member:
    name: str
    #: file, dir, symlink, hardlink, device; zip only: local-name (the local header names
    #: ``target`` instead), unicode-path (an Info-ZIP Unicode Path field names ``target``)
    kind: str = "file"
    target: str = ""
    data: bytes = b"planted\n"


TAR_KINDS = {"file", "dir", "symlink", "hardlink", "device"}
ZIP_KINDS = {"file", "dir", "symlink", "local-name", "unicode-path"}


def tar_bytes(files: dict[str, bytes], extra: list[Member], mode: str = "w") -> bytes:
    """A tar of ``files`` then ``extra``; names with NUL travel in a PAX ``path`` record
    (a ustar header cannot hold them)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
        for member in extra:
            info = tarfile.TarInfo(member.name)
            info.mtime = 1_700_000_000
            if "\x00" in member.name:
                info.pax_headers = {"path": member.name}
            if "\x00" in member.target:
                info.pax_headers = {**info.pax_headers, "linkpath": member.target}
            data = None
            if member.kind == "file":
                info.size = len(member.data)
                data = io.BytesIO(member.data)
            elif member.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif member.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, member.target
            elif member.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, member.target
            elif member.kind == "device":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            else:
                raise ValueError(f"a tar cannot hold a {member.kind!r} member")
            archive.addfile(info, data)
    return buffer.getvalue()


def _placeholder(name: str, index: int) -> str:
    """A name of the same length in bytes, written first and patched afterwards."""
    size = len(name.encode("utf-8"))
    return f"p{index:03d}".ljust(size, "q")[:size] if size >= 4 else "q" * size


def _unicode_path_field(name: str) -> bytes:
    encoded = name.encode("utf-8")
    data = b"\x01" + struct.pack("<L", 0) + encoded
    return struct.pack("<2H", 0x7075, len(data)) + data


def zip_bytes(files: dict[str, bytes], extra: list[Member]) -> bytes:
    """A zip of ``files`` then ``extra``."""
    buffer = io.BytesIO()
    patches: list[tuple[bytes, bytes, bool]] = []  # (placeholder, name, local header only)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are planted on purpose
        for name, data in files.items():
            archive.writestr(name, data)
        for index, member in enumerate(extra):
            name = member.name
            if "\x00" in name:
                placeholder = _placeholder(name, index)
                patches.append((placeholder.encode(), name.encode(), False))
                name = placeholder
            if member.kind == "local-name":
                assert len(name.encode()) == len(member.target.encode()), "names of one length"
                patches.append((name.encode(), member.target.encode(), True))
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            data = member.data
            if member.kind == "dir":
                info.external_attr = (0o40755 << 16) | 0x10
                data = b""
            elif member.kind == "symlink":
                info.external_attr = 0o120777 << 16
                data = member.target.encode()
            elif member.kind == "unicode-path":
                info.extra = _unicode_path_field(member.target)
                info.external_attr = 0o100644 << 16
            elif member.kind in ("file", "local-name"):
                info.external_attr = 0o100644 << 16
            else:
                raise ValueError(f"a zip cannot hold a {member.kind!r} member")
            archive.writestr(info, data)
    raw = buffer.getvalue()
    for placeholder, name, local_only in patches:
        assert len(placeholder) == len(name)
        raw = raw.replace(placeholder, name, 1 if local_only else -1)
    return raw


# -- packages ------------------------------------------------------------------------------


def _conda_info(name: str, version: str) -> dict[str, bytes]:
    index = {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": [],
        "license": "BSD-3-Clause",
        "subdir": "noarch",
        "noarch": "generic",
        "timestamp": 1_700_000_000_000,
    }
    return {
        "info/index.json": json.dumps(index).encode(),
        "info/paths.json": json.dumps({"paths": [], "paths_version": 1}).encode(),
        "info/files": b"",
        "info/about.json": json.dumps({"summary": "planted members"}).encode(),
    }


def conda(directory: Path, name: str, version: str, extra: list[Member], *, where: str) -> Path:
    """A conda package with ``extra`` in its payload tar (``pkg``), its metadata tar
    (``info``), its outer zip (``zip``) -- all ``.conda`` -- or in a ``.tar.bz2``
    (``bz2``)."""
    info = _conda_info(name, version)
    payload = {f"share/{name}/VERSION": f"{version}\n".encode()}
    stem = f"{name}-{version}-0"
    directory.mkdir(parents=True, exist_ok=True)
    if where == "bz2":
        target = directory / f"{stem}.tar.bz2"
        target.write_bytes(tar_bytes({**info, **payload}, extra, mode="w:bz2"))
        return target
    info_tar = tar_bytes(info, extra if where == "info" else [])
    pkg_tar = tar_bytes(payload, extra if where == "pkg" else [])
    target = directory / f"{stem}.conda"
    target.write_bytes(
        zip_bytes(
            {
                "metadata.json": json.dumps({"conda_pkg_format_version": 2}).encode(),
                f"info-{stem}.tar.zst": zstd.compress(info_tar, 3),
                f"pkg-{stem}.tar.zst": zstd.compress(pkg_tar, 3),
            },
            extra if where == "zip" else [],
        )
    )
    return target


def wheel(directory: Path, name: str, version: str, extra: list[Member]) -> Path:
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{dist_info}/METADATA": builders.metadata_text(name, version, "planted").encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/RECORD": b"",
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}-{version}-py3-none-any.whl"
    target.write_bytes(zip_bytes(files, extra))
    return target


def sdist(
    directory: Path, name: str, version: str, extra: list[Member], *, fmt: str = ".tar.gz"
) -> Path:
    top = f"{name}-{version}"
    files = {
        f"{top}/PKG-INFO": builders.metadata_text(name, version, "planted").encode(),
        f"{top}/{name}/__init__.py": b"",
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{top}{fmt}"
    target.write_bytes(
        zip_bytes(files, extra) if fmt == ".zip" else tar_bytes(files, extra, mode="w:gz")
    )
    return target


def project(
    directory: Path,
    stem: str,
    extra: list[Member],
    *,
    fmt: str = ".tar.gz",
    files: dict[str, bytes] | None = None,
) -> Path:
    """A project archive (``.zip``, ``.tar.gz`` or ``.tar``) of a folder ``<stem>/``."""
    files = (
        files
        if files is not None
        else {
            f"{stem}/environment.yml": b"name: planted\ndependencies:\n  - python=3.11\n",
            f"{stem}/analysis.py": b"print('hello')\n",
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{stem}{fmt}"
    if fmt == ".zip":
        target.write_bytes(zip_bytes(files, extra))
    else:
        target.write_bytes(tar_bytes(files, extra, mode="w:gz" if fmt == ".tar.gz" else "w"))
    return target


# -- an independent judge of what escapes ---------------------------------------------------

_DEST = "/nonexistent-jupyter-repo-dest"


def _tar_escapes(fileobj: object) -> list[str]:
    """Members Python's own ``data`` extraction filter would refuse (it strips a leading
    ``/`` instead of refusing it: that counts as an escape here)."""
    found: list[str] = []
    with tarfile.open(fileobj=fileobj, mode="r|*") as archive:  # type: ignore[call-overload]
        for member in archive:
            if member.name.startswith("/"):
                found.append(member.name)
                continue
            try:
                tarfile.data_filter(member, _DEST)
            except (tarfile.FilterError, ValueError):
                found.append(member.name)
    return found


def _zip_escapes(archive: zipfile.ZipFile) -> list[str]:
    found: list[str] = []
    for info in archive.infolist():
        name = info.orig_filename
        parts = name.split("/")
        if name.startswith("/") or "\x00" in name or ".." in parts:
            found.append(name)
        elif (info.external_attr >> 16) & 0o170000 == 0o120000:
            target = archive.read(info).decode("utf-8", "replace")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                found.append(name)
    return found


def escaping_members(path: Path, filename: str) -> list[str]:
    """The members of an archive that an unpacker would put (or link) outside its folder,
    judged without the repository's code: Python's tar ``data`` filter and a lexical check
    of zip names and zip symlinks. Unreadable parts count as nothing (no tool unpacks them)."""
    found: list[str] = []
    try:
        if filename.endswith((".conda", ".whl", ".zip")):
            with zipfile.ZipFile(path) as archive:
                found += _zip_escapes(archive)
                if filename.endswith(".conda"):
                    for info in archive.infolist():
                        if info.filename.endswith(".tar.zst"):
                            with archive.open(info) as raw, zstd.open(raw) as stream:
                                found += _tar_escapes(stream)
        elif filename.endswith((".tar.bz2", ".tar.gz", ".tgz", ".tar")):
            with open(path, "rb") as stream:
                found += _tar_escapes(stream)
    except Exception:  # a damaged archive: what was found before the damage
        pass
    return found
