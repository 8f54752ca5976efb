"""Packing a project folder as a ``.tar.gz``, honouring the exclusion rules.

Left out: version-control folders, notebook checkpoints, caches, symbolic links (they could
point outside the folder), files over a size limit, and whatever the folder's ``.gitignore``
files exclude (read with ``pathspec``, nested ``.gitignore`` files included). The archive
is written to a temporary file as it is read, one file at a time.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from pathspec import GitIgnoreSpec

from jupyter_repo.client.errors import BadRequest, TooLarge
from jupyter_repo.repository.inspect.project import SPEC_FILES

DEFAULT_EXCLUDES: tuple[str, ...] = (
    # version control, checkpoints, caches, virtualenvs
    ".git", ".hg", ".svn", ".ipynb_checkpoints", "__pycache__", "*.pyc", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".venv", ".DS_Store",
    # where credentials usually live (a home folder published by mistake included)
    ".env", ".env.*", ".netrc", ".pypirc", ".git-credentials", ".ssh/", ".aws/", ".gnupg/",
    ".jupyter/", ".local/", ".ipython/", ".conda/", ".cache/",
)
#: ``progress(bytes_done, bytes_total)``; may raise ``Cancelled``.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ProjectRules:
    """What goes into a published project."""

    max_file_size: int = 100 << 20
    max_total_size: int = 2 << 30
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    use_gitignore: bool = True
    #: Folders never published, wherever they are (the saved repository tokens).
    protected: tuple[str, ...] = ()


@dataclass
class Selection:
    root: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # (relative path, size)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)

    @property
    def total_size(self) -> int:
        return sum(size for _path, size in self.files)

    def spec_file(self) -> str | None:
        present = {path for path, _size in self.files}
        return next((name for name in SPEC_FILES if name in present), None)


class _IgnoreRules:
    """The default patterns plus every ``.gitignore`` met on the way down."""

    def __init__(self, rules: ProjectRules) -> None:
        self.defaults = GitIgnoreSpec.from_lines(rules.excludes)
        self.use_gitignore = rules.use_gitignore
        self.gitignores: list[tuple[str, GitIgnoreSpec]] = []

    def enter(self, directory: Path, relative: str) -> None:
        if not self.use_gitignore:
            return
        path = directory / ".gitignore"
        if path.is_file() and not path.is_symlink():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            self.gitignores.append((relative, GitIgnoreSpec.from_lines(lines)))

    def why_excluded(self, relative: str, is_dir: bool) -> str | None:
        candidate = relative + "/" if is_dir else relative
        if self.defaults.match_file(candidate):
            return "excluded by default (version control, checkpoints, caches, credentials)"
        verdict: bool | None = None
        for base, spec in self.gitignores:  # outer first; deeper files decide last
            if base and not candidate.startswith(base + "/"):
                continue
            inner = candidate[len(base) + 1:] if base else candidate
            result = spec.check_file(inner).include
            if result is not None:
                verdict = result
        return "excluded by .gitignore" if verdict else None


def select_files(root: Path | str, rules: ProjectRules = ProjectRules()) -> Selection:
    """Walk ``root`` and decide, for every file, whether it goes into the project."""
    top = Path(root)
    if not top.is_dir():
        raise BadRequest(f"{root} is not a folder.")
    selection = Selection(top)
    ignore = _IgnoreRules(rules)
    protected = {os.path.realpath(path) for path in rules.protected}
    real_top = os.path.realpath(top)
    if any(real_top == path or real_top.startswith(path + os.sep) for path in protected):
        raise BadRequest(f"{root} holds the saved repository credentials; it is not published.")
    for directory, dirnames, filenames in os.walk(top):
        here = Path(directory)
        relative_dir = here.relative_to(top).as_posix()
        relative_dir = "" if relative_dir == "." else relative_dir
        ignore.enter(here, relative_dir)
        kept_dirs = []
        for name in sorted(dirnames):
            relative = f"{relative_dir}/{name}" if relative_dir else name
            if (here / name).is_symlink():
                selection.excluded.append((relative + "/", "symbolic link"))
                continue
            if os.path.realpath(here / name) in protected:
                selection.excluded.append((relative + "/", "holds repository credentials"))
                continue
            why = ignore.why_excluded(relative, is_dir=True)
            if why:
                selection.excluded.append((relative + "/", why))
                continue
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            relative = f"{relative_dir}/{name}" if relative_dir else name
            path = here / name
            if path.is_symlink():
                selection.excluded.append((relative, "symbolic link"))
                continue
            why = ignore.why_excluded(relative, is_dir=False)
            if why:
                selection.excluded.append((relative, why))
                continue
            size = path.stat().st_size
            if size > rules.max_file_size:
                selection.excluded.append(
                    (relative, f"larger than the limit of {rules.max_file_size} bytes per file"))
                continue
            selection.files.append((relative, size))
    if selection.total_size > rules.max_total_size:
        raise TooLarge(
            f"The project holds {selection.total_size} bytes, over the limit of "
            f"{rules.max_total_size} bytes; exclude large files with a .gitignore."
        )
    return selection


def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No owner names or ids of this machine in the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _CountingReader:
    """Reports progress as tarfile reads a file, so a huge file can be cancelled midway."""

    def __init__(self, handle: BinaryIO, start: int, total: int, report: Progress) -> None:
        self.handle, self.done, self.total, self.report = handle, start, total, report

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.done += len(data)
        self.report(self.done, self.total)
        return data


def pack(selection: Selection, destination: Path, top: str, *,
         extra_files: dict[str, bytes] | None = None, progress: Progress | None = None) -> Path:
    """Write the selected files (and ``extra_files``) under ``<top>/`` in a ``.tar.gz``."""
    extra_files = extra_files or {}
    total = selection.total_size + sum(len(data) for data in extra_files.values())
    done = 0
    report = progress or (lambda _done, _total: None)
    report(0, total)
    with tarfile.open(destination, "w:gz", compresslevel=6) as archive:
        for relative, _size in selection.files:
            path = selection.root / relative
            info = _clean(archive.gettarinfo(str(path), arcname=f"{top}/{relative}"))
            with open(path, "rb") as handle:
                archive.addfile(info, _CountingReader(handle, done, total, report))
            done += info.size
        for relative, data in sorted(extra_files.items()):
            info = tarfile.TarInfo(f"{top}/{relative}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(_clean(info), BytesIO(data))
            done += len(data)
            report(done, total)
    return destination
