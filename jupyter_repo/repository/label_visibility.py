"""Whether a label shows anything to everyone: kept up to date inside each transaction.

A label that only private packages use must look exactly like a label that does not exist
to anyone who cannot read those packages (on the API, the conda channels and the PyPI
indexes). Asking "has this label a public file?" on every channel request would scan the
label's files; instead :func:`refresh` recomputes the answer for the labels a transaction
touched (the services record a :class:`~jupyter_repo.repository.changes.Change` for every
label they add or remove a file from, and for every label of a package whose visibility
changes) and stores it on the label, where the channel look-up reads it for free.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Exists, exists, select, true, update
from sqlalchemy.orm import Session

from jupyter_repo.repository.changes import Change
from jupyter_repo.repository.models import File, FileLabel, Label, Package


def public_files_exist(label_id: int) -> Exists:
    """A SQL condition: some public package has a file on the label ``label_id``."""
    return exists(
        select(FileLabel.file_id)
        .join(File, File.id == FileLabel.file_id)
        .join(Package, Package.id == File.package_id)
        .where(FileLabel.label_id == label_id, Package.public == true())
    )


def refresh(session: Session, changes: Iterable[Change]) -> None:
    """Recompute ``Label.has_public_files`` for every label the changes touched."""
    touched = sorted({(change.owner_id, change.label) for change in changes})
    for owner_id, name in touched:
        label_id = session.scalar(
            select(Label.id).where(Label.owner_id == owner_id, Label.name == name)
        )
        if label_id is None:
            continue  # removed in this transaction
        session.execute(
            update(Label)
            .where(Label.id == label_id)
            .values(has_public_files=select(public_files_exist(label_id)).scalar_subquery())
        )
