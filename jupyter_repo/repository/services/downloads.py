"""Finding the file behind a download URL, with the same rules on every download route."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jupyter_repo.repository.errors import NotFound
from jupyter_repo.repository.models import File
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import packages


def allowed_by_token_label(actor: Actor, file: File, public: bool) -> bool:
    """A token limited to one label reads private files only on that label."""
    if public or actor.token_label is None:
        return True
    return any(label.name == actor.token_label for label in file.labels)


def locate(session: Session, actor: Actor, owner: str, name: str, version: str,
           basename: str) -> tuple[File, bool]:
    """The file and whether its package is public; 'not found' for what the actor can't read."""
    file = packages.get_file(session, actor, owner, name, version, basename)
    public = file.release.package.public
    if not allowed_by_token_label(actor, file, public):
        raise NotFound(f"The file {owner}/{name}/{version}/{basename} does not exist.")
    file.blob  # noqa: B018 - load while the session is open
    return file, public
