"""``open``: a published notebook, project or data file, brought into a local folder.

A notebook and data files are downloaded into the folder; a project archive is unpacked
into a new subfolder named after the package. Nothing the server sends is trusted: every
file name (a file's basename, an archive member's name) passes the check the repository
runs at upload (:class:`~jupyter_repo.repository.inspect.members.MemberCheck`: no absolute
path, drive letter, ``..``, backslash or control character), links and device files in an
archive are never created, no folder on the way may be a symbolic link, and an existing
file is replaced only with ``force`` (else nothing is written at all). Sizes are bounded
(:data:`MAX_UNPACKED_BYTES`, :data:`MAX_MEMBERS`) whatever the archive claims.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from jupyter_repo.client import errors
from jupyter_repo.client.api import JSON, RepoClient
from jupyter_repo.client.refs import Ref
from jupyter_repo.repository.errors import RepositoryError
from jupyter_repo.repository.inspect.base import InflateBudget, Limits
from jupyter_repo.repository.inspect.members import MemberCheck

#: What ``open`` brings, by package type, in this order of preference.
OPENABLE = ("ipynb", "project", "file")
#: An archive unpacks to at most this many bytes, and this many members.
MAX_UNPACKED_BYTES = 20 << 30
MAX_MEMBERS = 200_000
CHUNK = 1 << 20

Log = Callable[[str], None]


@dataclass
class Opened:
    """What ``open`` wrote: the files (or the project's folder), relative to the folder."""

    owner: str
    name: str
    version: str
    kind: str
    paths: list[Path] = field(default_factory=list)

    def message(self) -> str:
        shown = ", ".join(str(path) for path in self.paths)
        what = {"ipynb": "notebook", "project": "project", "file": "data file"}[self.kind]
        return f"Opened the {what} {self.owner}/{self.name} {self.version}: {shown}"


def safe_relative(name: str, what: str) -> Path:
    """``name`` as a relative path that stays inside its folder; BadRequest otherwise."""
    try:
        checked = MemberCheck(what).name(name)
    except RepositoryError as error:
        raise errors.BadRequest(error.message) from None
    if not checked:
        raise errors.BadRequest(f"{what} names no file ({name!r}); nothing was written.")
    return Path(checked)


def _parent(root: Path, relative: Path) -> Path:
    """The folder ``relative`` goes into, made below ``root`` one level at a time; a
    symbolic link or a file on the way is refused (it could lead outside ``root``)."""
    folder = root
    for part in relative.parts[:-1]:
        folder = folder / part
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            folder.mkdir()
            continue
        if not stat.S_ISDIR(mode):
            raise _in_the_way(folder)
    return folder


def _in_the_way(folder: Path) -> errors.BadRequest:
    return errors.BadRequest(
        f"{folder} is in the way (it is not a folder, or it is a link); nothing was written."
    )


def _check_free(root: Path, relative: Path, force: bool) -> None:
    """Refuse, before anything is written, a file that exists (without ``force``) or a
    link or file where one of its folders goes."""
    folder = root
    for part in relative.parts[:-1]:
        folder = folder / part
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise _in_the_way(folder)
        except FileNotFoundError:
            break
    target = root / relative
    if os.path.lexists(target):
        if not force:
            raise errors.BadRequest(
                f"{target} already exists; pass --force to replace it. Nothing was written."
            )
        if os.path.isdir(target) and not os.path.islink(target):
            raise errors.BadRequest(f"{target} is a folder; it is not replaced.")


def _place(root: Path, relative: Path, source: IO[bytes], *, force: bool, limit: int) -> int:
    """Write ``source`` to ``root/relative`` through a temporary file in the same folder:
    linked in place (never over an existing file) or, with ``force``, renamed over it
    (a link there is replaced, not followed). Returns the bytes written."""
    folder = _parent(root, relative)
    handle, temporary = tempfile.mkstemp(prefix=".jupyter-repo-", dir=folder)
    written = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise errors.TooLarge(f"{relative} is over the limit of {limit} bytes.")
                out.write(chunk)
        os.chmod(temporary, 0o644)
        target = folder / relative.name
        if force:
            os.replace(temporary, target)
        else:
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise errors.BadRequest(
                    f"{target} already exists; pass --force to replace it."
                ) from None
            os.unlink(temporary)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return written


class Opener:
    """Brings packages of one repository into local folders."""

    def __init__(self, client: RepoClient, *, log: Log | None = None) -> None:
        self.client = client
        self.log = log or (lambda _line: None)

    def open(
        self, ref: Ref, folder: Path, *, force: bool = False, project_folder: str | None = None
    ) -> Opened:
        """Bring ``ref`` into ``folder``; a project unpacks into the subfolder
        ``project_folder`` (the package's name when not given)."""
        package = self.client.package(ref.owner, ref.name)
        versions = [str(version) for version in package.get("versions") or []]
        version = ref.version or package.get("latest_version")
        if not version or (ref.version and ref.version not in versions):
            raise errors.NotFound(
                f"{ref.owner}/{ref.name} has no version {ref.version or ''}; it has "
                f"{', '.join(versions) or 'no versions'}."
            )
        files = [item for item in package.get("files") or [] if item.get("version") == version]
        types = [str(item.get("type")) for item in files]
        kind = next((kind for kind in OPENABLE if kind in types), None)
        if kind is None:
            raise errors.BadRequest(
                f"{ref.owner}/{ref.name} {version} holds "
                f"{', '.join(sorted(set(types))) or 'no files'}; "
                "only notebooks, projects and data files can be opened (install packages and "
                f"environments: jupyter repo install {ref.owner}/{ref.name})."
            )
        chosen = [item for item in files if item.get("type") == kind]
        opened = Opened(ref.owner, ref.name, str(version), kind)
        if kind == "project":
            opened.paths.append(
                self._project(ref, str(version), chosen[0], folder, force, project_folder)
            )
        else:
            opened.paths.extend(self._files(ref, str(version), chosen, folder, force))
        return opened

    # -- notebooks and data files --------------------------------------------------------

    def _files(
        self, ref: Ref, version: str, items: list[JSON], folder: Path, force: bool
    ) -> list[Path]:
        relatives = [
            safe_relative(str(item["basename"]), f"the file name of {ref.owner}/{ref.name}")
            for item in items
        ]
        for relative in relatives:  # all checked before anything is written
            _check_free(folder, relative, force)
        for item, relative in zip(items, relatives, strict=True):
            self.log(f"Downloading {item['basename']}")
            with self._download(ref, version, item) as data:
                _place(folder, relative, data, force=force, limit=MAX_UNPACKED_BYTES)
        return relatives

    @contextmanager
    def _download(self, ref: Ref, version: str, item: JSON) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile(prefix="jupyter-repo-open-") as spool:
            self.client.download(ref.owner, ref.name, version, str(item["basename"]), spool)
            spool.seek(0)
            yield spool

    # -- projects ------------------------------------------------------------------------

    def _project(
        self,
        ref: Ref,
        version: str,
        item: JSON,
        folder: Path,
        force: bool,
        project_folder: str | None = None,
    ) -> Path:
        relative = safe_relative(project_folder or ref.name, "the project's folder name")
        target = folder / relative
        if os.path.lexists(target):
            if not force:
                raise errors.BadRequest(
                    f"{target} already exists; pass --force to unpack into it. Nothing was written."
                )
            if not stat.S_ISDIR(os.lstat(target).st_mode):
                raise errors.BadRequest(f"{target} is not a folder; nothing was written.")
        basename = str(item["basename"])
        self.log(f"Downloading {basename}")
        with self._download(ref, version, item) as data:
            members = _members(data, basename)
            strip = _common_top(list(members))
            for _name, relative_name in members.items():
                _check_free(target, _stripped(relative_name, strip), force)
            made = not os.path.lexists(target)
            if made:
                target.mkdir()
            try:
                _extract(data, basename, members, strip, target, force, self.log)
            except BaseException:
                if made:
                    shutil.rmtree(target, ignore_errors=True)
                raise
        return relative


def _is_zip(basename: str) -> bool:
    return basename.lower().endswith(".zip")


def _members(data: IO[bytes], basename: str) -> dict[str, str]:
    """Archive member name -> checked relative path, for the regular files to write (links,
    devices and folders are not written; a name that would leave the root refuses it all)."""
    check = MemberCheck(basename)
    files: dict[str, str] = {}
    total = 0
    try:
        if _is_zip(basename):
            with zipfile.ZipFile(data) as archive:
                budget = InflateBudget(
                    Limits(max_inflate_bytes=MAX_UNPACKED_BYTES, max_archive_members=MAX_MEMBERS)
                )
                for info, name in check.zip_members(archive, data, budget):
                    if not info.is_dir() and not stat.S_ISLNK(info.external_attr >> 16):
                        files[info.filename] = name
                        total += info.file_size
        else:
            with tarfile.open(fileobj=data, mode="r:*") as tar:
                for member in tar:
                    name = check.tar_member(member)
                    if member.isfile() and name:
                        files[member.name] = name
                        total += member.size
                    if len(files) > MAX_MEMBERS:
                        raise errors.TooLarge(f"{basename} has over {MAX_MEMBERS} files.")
        check.finish()
    except RepositoryError as error:
        raise errors.BadRequest(f"{error.message} Nothing was written.") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise errors.BadRequest(f"{basename} is not a readable archive: {error}") from None
    finally:
        data.seek(0)
    if total > MAX_UNPACKED_BYTES:
        raise errors.TooLarge(f"{basename} unpacks to over {MAX_UNPACKED_BYTES} bytes.")
    return files


def _common_top(names: list[str]) -> str:
    """The one top-level folder every file is in (an archive of a folder), else ''."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop()
    return ""


def _stripped(name: str, top: str) -> Path:
    return Path(name[len(top) + 1 :] if top else name)


def _extract(
    data: IO[bytes],
    basename: str,
    members: dict[str, str],
    strip: str,
    target: Path,
    force: bool,
    log: Log,
) -> None:
    remaining = MAX_UNPACKED_BYTES

    def place(name: str, source: IO[bytes]) -> None:
        nonlocal remaining
        remaining -= _place(
            target, _stripped(members[name], strip), source, force=force, limit=remaining
        )

    try:
        if _is_zip(basename):
            with zipfile.ZipFile(data) as archive:
                for name in members:
                    with archive.open(name) as stream:
                        place(name, stream)
        else:
            with tarfile.open(fileobj=data, mode="r:*") as tar:
                for member in tar:
                    if member.name in members:
                        extracted = tar.extractfile(member)
                        if extracted is not None:
                            place(member.name, extracted)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
        raise errors.BadRequest(f"{basename} is not a readable archive: {error}") from None
    log(f"Unpacked {len(members)} files into {target}")
