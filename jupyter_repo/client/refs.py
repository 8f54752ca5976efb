"""``OWNER/NAME[/VERSION]``: how a user names a package or an environment of the repository.

One grammar for every place that reads such a name (``jupyter repo install``, the server
extension's install task, the widgets' search box and environment box): the version may
follow ``/``, ``==``, ``=`` or ``@``; a trailing ``/`` is ignored; the owner is
case-insensitive (stored lower-case). The name keeps its case: the repository matches
package names case-insensitively itself. A package is written back as
``owner/name==version`` (pip's spelling), an environment as ``owner/name/version`` (its
address on the repository).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from jupyter_repo.client import errors

OWNER = r"[A-Za-z0-9][A-Za-z0-9_-]*"
NAME = r"[A-Za-z0-9][A-Za-z0-9._+-]*"
VERSION = r"[A-Za-z0-9][A-Za-z0-9._+!-]*"
REF_RE = re.compile(
    rf"^(?P<owner>{OWNER})/(?P<name>{NAME})(?:(?:/|==|=|@)(?P<version>{VERSION}))?$"
)
#: How much of a refused text a message quotes.
SHOWN = 80

R = TypeVar("R", bound="Ref")


@dataclass(frozen=True)
class Ref:
    """A package (or environment) of the repository; the latest version when none."""

    owner: str
    name: str
    version: str | None = None

    #: What the user is asked for, in messages.
    noun: ClassVar[str] = "a package"
    #: Between name and version when written back.
    separator: ClassVar[str] = "=="

    @classmethod
    def match(cls: type[R], text: str | None) -> R | None:
        """The reference ``text`` spells, or None."""
        found = REF_RE.match((text or "").strip().rstrip("/"))
        if found is None:
            return None
        return cls(found["owner"].lower(), found["name"], found["version"])

    @classmethod
    def parse(cls: type[R], text: str | None) -> R:
        """The reference ``text`` spells; a ``BadRequest`` saying how to write one."""
        found = cls.match(text)
        if found is not None:
            return found
        cleaned = (text or "").strip()
        form = f"OWNER/NAME or OWNER/NAME{cls.separator}VERSION"
        if not cleaned:
            raise errors.BadRequest(f"Enter {cls.noun} as {form}.")
        raise errors.BadRequest(f"{cleaned[:SHOWN]!r} is not {cls.noun}: write {form}.")

    def __str__(self) -> str:
        version = f"{self.separator}{self.version}" if self.version else ""
        return f"{self.owner}/{self.name}{version}"


@dataclass(frozen=True)
class InstallSpec(Ref):
    """What ``install`` is given: a package, or an environment to install the pip lock of."""


@dataclass(frozen=True)
class EnvironmentRef(Ref):
    """A shared environment (written ``owner/name/version``, its address)."""

    noun: ClassVar[str] = "an environment"
    separator: ClassVar[str] = "/"
