"""Archive members and links: the one check every inspector runs on every member.

A member's name and a link's target become paths when a client unpacks the archive (conda
and rattler a package into a prefix, pip and uv a wheel or an sdist, unzip or tar a
project). So each is refused unless it stays inside the archive's root: no absolute path,
drive letter (``C:``), ``..`` component, backslash, NUL or other control character in a
name, and no link (tar symlink or hard link, zip symlink) whose target, resolved through
the archive's other links, leaves the root. Relative links that stay inside -- a conda
package's ``lib/libfoo.so -> libfoo.so.1`` or ``bin/tool -> ../libexec/tool`` -- are what
real packages hold, and pass. Device files and pipes, which no package needs, are refused.

Zip archives name a member in three places (the central directory, the local header and an
optional Info-ZIP Unicode Path field); unzip tools differ in which they believe, so every
spelling is checked.
"""

from __future__ import annotations

import re
import stat
import struct
import tarfile
import zipfile
from typing import IO

from jupyter_repo.repository.errors import InvalidInput, TooLarge
from jupyter_repo.repository.inspect.base import InflateBudget, read_bounded

#: Links followed while resolving one target (Linux's own limit).
MAX_LINK_HOPS = 40
#: Path components walked while resolving all the links of one archive.
MAX_RESOLVE_STEPS = 2_000_000
#: The longest member name or link target (Linux's PATH_MAX; no unpacker makes longer).
MAX_PATH = 4096

_DRIVE = re.compile(r"^[A-Za-z]:")
_BAD_CHARACTER = re.compile(r"[\x00-\x1f\x7f\\]")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_UNICODE_PATH_FIELD = 0x7075


def _shown(value: str) -> str:
    return repr(value[:200])


def _bad_character(value: str) -> str | None:
    if _BAD_CHARACTER.search(value) is None:
        return None
    if "\x00" in value:
        return "a NUL character"
    if "\\" in value:
        return "a backslash"
    return "a control character"


class MemberCheck:
    """Checks the members of one archive (or of the tars a ``.conda`` unpacks into one
    folder) as they are read; :meth:`finish` re-resolves every link once all are known."""

    def __init__(self, archive: str) -> None:
        self.archive = archive
        self.symlinks: dict[str, str] = {}
        self.hardlinks: dict[str, str] = {}
        self.entries: set[str] = set()
        self._nodes: dict[tuple[int, str], int] = {}
        self._link_at: dict[int, str] = {}
        self._steps = 0

    # -- names ---------------------------------------------------------------------------

    def refuse(self, name: str, why: str) -> InvalidInput:
        return InvalidInput(
            f"The archive member {_shown(name)} in {self.archive} {why}; the archive was refused."
        )

    def name(self, raw: str) -> str:
        """The member's path inside the archive, normalised (``""``: the root itself)."""
        bad = _bad_character(raw)
        if bad:
            raise self.refuse(raw, f"has {bad} in its name")
        if len(raw) > MAX_PATH:
            raise self.refuse(raw, f"has a name longer than {MAX_PATH} characters")
        if raw.startswith("/"):
            raise self.refuse(raw, "is an absolute path")
        parts = [part for part in raw.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise self.refuse(raw, "has a '..' component (it would land outside the archive)")
        if parts and _DRIVE.match(parts[0]):
            raise self.refuse(raw, "starts with a drive letter")
        return "/".join(parts)

    def entry(self, name: str) -> None:
        """A file or folder at ``name`` (already checked by :meth:`name`)."""
        if name in self.symlinks or name in self.hardlinks:
            raise self.refuse(name, "appears twice, once as a link")
        self.entries.add(name)

    # -- links ---------------------------------------------------------------------------

    def _check_target(self, name: str, target: str) -> None:
        bad = _bad_character(target)
        if bad or not target:
            raise self.refuse(name, f"is a link whose target has {bad or 'no name'}")
        if len(target) > MAX_PATH:
            raise self.refuse(name, f"is a link to a path longer than {MAX_PATH} characters")
        if target.startswith("/") or _DRIVE.match(target):
            raise self.refuse(name, f"is a link to the absolute path {_shown(target)}")
        if name in self.entries or name in self.symlinks or name in self.hardlinks:
            raise self.refuse(name, "appears twice, once as a link")
        if not name:
            raise self.refuse(name, "is a link in place of the archive's root")

    def symlink(self, name: str, target: str) -> None:
        """A symbolic link at ``name`` to ``target`` (relative to the link's folder)."""
        self._check_target(name, target)
        self.symlinks[name] = target
        self._link_at[self._node(name)] = target
        self._resolve_symlink(name, target)

    def hardlink(self, name: str, target: str) -> None:
        """A tar hard link at ``name`` to the member ``target`` (relative to the root)."""
        self._check_target(name, target)
        try:
            self.name(target)  # a hard link names another member: the same rules
        except InvalidInput:
            raise self.refuse(
                name, f"is a hard link to {_shown(target)}, outside the archive"
            ) from None
        self.hardlinks[name] = target
        self._resolve_hardlink(name, target)

    def _resolve_symlink(self, name: str, target: str) -> None:
        if not self._inside(name.split("/")[:-1], target, name):
            raise self.refuse(name, f"is a link to {_shown(target)}, outside the archive")

    def _resolve_hardlink(self, name: str, target: str) -> None:
        if not self._inside([], target, name):
            raise self.refuse(
                name, f"is a hard link to {_shown(target)}, which leads outside the archive"
            )

    def _node(self, path: str) -> int:
        """The id of ``path`` in the tree of link paths (made, with its folders, if new)."""
        node = 0
        for part in path.split("/"):
            node = self._nodes.setdefault((node, part), len(self._nodes) + 1)
        return node

    def _inside(self, base: list[str], target: str, name: str) -> bool:
        """Whether ``target`` seen from the folder ``base`` stays inside the root, following
        the archive's symlinks met on the way (as the kernel would once unpacked). Each step
        costs the same however deep the path: folders are ids in the tree of link paths
        (-1: a folder no link lies under)."""
        stack: list[int] = []
        for part in base:
            stack.append(self._child(stack[-1] if stack else 0, part))
        pending = list(reversed(target.split("/")))
        hops = 0
        while pending:
            self._steps += 1
            if self._steps > MAX_RESOLVE_STEPS:
                raise TooLarge(
                    f"The links of {self.archive} take more than "
                    f"{MAX_RESOLVE_STEPS} steps to resolve; it was refused."
                )
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    return False
                stack.pop()
                continue
            node = self._child(stack[-1] if stack else 0, part)
            link = self._link_at.get(node) if node >= 0 else None
            if link is None:
                stack.append(node)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise self.refuse(
                    name, f"is a link that passes through more than {MAX_LINK_HOPS} links (a loop?)"
                )
            pending.extend(reversed(link.split("/")))
        return True

    def _child(self, parent: int, part: str) -> int:
        return self._nodes.get((parent, part), -1) if parent >= 0 else -1

    def finish(self) -> None:
        """Resolve every link again, now that all links of the archive are known (a link
        that came later can change where an earlier one leads)."""
        for name, target in self.symlinks.items():
            self._resolve_symlink(name, target)
        for name, target in self.hardlinks.items():
            self._resolve_hardlink(name, target)

    # -- archive formats -----------------------------------------------------------------

    def tar_member(self, member: tarfile.TarInfo) -> str:
        """Check one tar member (its name, and its target if it is a link)."""
        name = self.name(member.name)
        if member.issym():
            self.symlink(name, member.linkname)
        elif member.islnk():
            self.hardlink(name, member.linkname)
        elif member.ischr() or member.isblk() or member.isfifo():
            raise self.refuse(member.name, "is a device file or a pipe, not a file")
        else:
            self.entry(name)
        return name

    def zip_members(
        self, archive: zipfile.ZipFile, raw: IO[bytes], budget: InflateBudget
    ) -> list[tuple[zipfile.ZipInfo, str]]:
        """Check every member of a zip: each spelling of its name, and zip symlinks (a
        Unix mode of S_IFLNK; the target is the member's content). ``raw`` reads the zip's
        bytes (for the local headers). Returns ``(info, normalised name)`` pairs."""
        checked: list[tuple[zipfile.ZipInfo, str]] = []
        for info in archive.infolist():
            budget.charge(0)
            for spelling in set(_zip_names(info, raw)):
                self.name(spelling)
            name = self.name(info.orig_filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                if info.file_size > MAX_PATH:
                    raise self.refuse(
                        info.orig_filename, f"is a link to a path longer than {MAX_PATH} characters"
                    )
                with archive.open(info) as stream:
                    data = read_bounded(stream, MAX_PATH, info.orig_filename)
                try:
                    target = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise self.refuse(
                        info.orig_filename, "is a link whose target is not UTF-8"
                    ) from None
                self.symlink(name, target)
            else:
                self.entry(name)
            checked.append((info, name))
        return checked


def _zip_names(info: zipfile.ZipInfo, raw: IO[bytes]) -> list[str]:
    """Every name a zip tool may use for ``info``: the central directory's (as stored, and
    as Python reads it), its Unicode Path field's, and the local header's (and its
    field's)."""
    names = [info.orig_filename, info.filename, *_unicode_paths(info.extra)]
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise InvalidInput(
            f"The zip member {_shown(info.orig_filename)} has no local "
            "header; the archive is damaged."
        )
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[-2], fields[-1]
    local_name = raw.read(name_length)
    local_extra = raw.read(extra_length)
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    names.append(local_name.decode(encoding, "replace"))
    names.extend(_unicode_paths(local_extra))
    return names


def _unicode_paths(extra: bytes) -> list[str]:
    """The names in Info-ZIP Unicode Path extra fields (0x7075), which unzip prefers."""
    found: list[str] = []
    position = 0
    while position + 4 <= len(extra):
        kind, size = struct.unpack_from("<2H", extra, position)
        data = extra[position + 4 : position + 4 + size]
        if kind == _UNICODE_PATH_FIELD and len(data) > 5:
            found.append(data[5:].decode("utf-8", "replace"))
        position += 4 + size
    return found
