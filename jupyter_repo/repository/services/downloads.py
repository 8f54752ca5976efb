"""Finding the file behind a download URL, with the same rules on every download route."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jupyter_repo.repository.models import File
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import packages


def locate(
    session: Session, actor: Actor, owner: str, name: str, version: str, basename: str
) -> tuple[File, bool]:
    """The file and whether its package is public; 'not found' for what the actor can't read
    (``packages.get_file`` applies every rule, the label limit of a token included)."""
    file = packages.get_file(session, actor, owner, name, version, basename)
    file.blob  # noqa: B018 - load while the session is open
    return file, file.release.package.public
