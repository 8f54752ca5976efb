"""Which indexes a transaction touched, collected on the session and announced after commit.

Services call :func:`record` when they add, remove or relabel files; the repository hands the
collected :class:`Change` set to its listeners (the conda and PyPI index builders) only once
the transaction has committed, so an index never shows uncommitted state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

_KEY = "jupyter_repo.changes"


@dataclass(frozen=True)
class Change:
    """One (owner, label, subdir) index and one package name in it changed."""

    owner_id: int
    label: str
    distribution_type: str
    subdir: str | None
    package_key: str


def record(session: Session, changes: Iterable[Change]) -> None:
    session.info.setdefault(_KEY, set()).update(changes)


def take(session: Session) -> set[Change]:
    taken: set[Change] = session.info.pop(_KEY, set())
    return taken
