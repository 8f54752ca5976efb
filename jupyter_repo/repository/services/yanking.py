"""Yanking (PEP 592): a file, or every file of a release, stays stored but installers pass it by.

A yanked Python file is still listed, marked ``yanked`` with the owner's reason: pip and uv
skip it unless a requirement pins its version exactly (``==``). A yanked conda file leaves
``packages``/``packages.conda`` of every index that lists it and is named under ``removed``
instead (shards too), as conda's own tools list removed files. Either stays downloadable by
its URL, so lock files that name it keep working. Un-yanking restores it.

Only writers of the package may yank; a locked label keeps what it shows (nothing on it is
yanked until it is unlocked) and a label-limited token yanks only files of its own label.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy.orm import Session

from jupyter_repo.repository import changes
from jupyter_repo.repository.errors import InvalidInput, NotFound
from jupyter_repo.repository.models import utcnow
from jupyter_repo.repository.permissions import (
    Actor,
    Level,
    reads_file,
)
from jupyter_repo.repository.services import packages

#: The longest reason kept (PyPI shows it next to the version; a sentence or two).
MAX_REASON = 500


@dataclass(frozen=True)
class YankResult:
    """What a yank or un-yank did: the files it names (every one asked for, changed or not)."""

    owner: str
    package: str
    version: str
    yanked: bool
    reason: str
    files: list[str]


def clean_reason(reason: str | None) -> str:
    """A reason as indexes show it: one line, whitespace collapsed, no control characters."""
    text = " ".join((reason or "").split())
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in text):
        raise InvalidInput("The reason may not contain control or format characters.")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"The reason is longer than {MAX_REASON} characters.")
    return text


def set_yanked(
    session: Session,
    actor: Actor,
    owner: str,
    name: str,
    version: str,
    *,
    basename: str | None = None,
    yanked: bool = True,
    reason: str | None = None,
) -> YankResult:
    """Yank (or un-yank) one file of a release, or all of them when ``basename`` is None.

    Yanking a yanked file again replaces its reason and keeps its time. Every file is
    checked before any changes, so a refusal changes nothing.
    """
    text = clean_reason(reason) if yanked else ""
    if basename is not None:
        files = [packages.get_file(session, actor, owner, name, version, basename, Level.WRITE)]
        release = files[0].release
    else:
        release = packages.get_release(session, actor, owner, name, version, Level.WRITE)
        public = release.package.public
        files = [
            file
            for file in release.files
            if reads_file(actor, public, (label.name for label in file.labels))
        ]
        if not files:
            raise NotFound(f"The release {owner}/{name}/{version} has no files to yank.")
    package = release.package
    labels_of = {
        file.id: packages.require_changeable(
            actor, file, "what a locked label shows cannot change (yanking included)"
        )
        for file in files
    }
    now = utcnow()
    for file in files:
        before = (file.yanked_at is not None, file.yanked_reason or "")
        if yanked:
            if file.yanked_at is None:
                file.yanked_at = now
            file.yanked_reason = text
        else:
            file.yanked_at = None
            file.yanked_reason = None
        if before != (yanked, text):
            changes.record(session, packages.file_changes(file, package, labels_of[file.id]))
    package.modified_at = now
    return YankResult(
        owner=package.owner.login,
        package=package.name,
        version=release.version,
        yanked=yanked,
        reason=text,
        files=sorted(file.basename for file in files),
    )
