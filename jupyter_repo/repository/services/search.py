"""Search over package names and summaries, filtered by type, platform and label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, or_, select, true
from sqlalchemy.orm import Session

from jupyter_repo.repository import db, names
from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.models import Account, File, FileLabel, Label, Package
from jupyter_repo.repository.permissions import Actor, visible_packages
from jupyter_repo.repository.services.packages import filter_packages

MAX_QUERY_LENGTH = 200


@dataclass
class SearchPage:
    packages: list[Package]
    total: int
    page: int
    per_page: int


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: How results can be sorted: best match first, by name, or most recently changed first.
SORTS = ("relevance", "name", "updated")


def _order(sort: str, rank: Any) -> tuple[Any, ...]:
    if sort == "name":
        return (Package.name_key, Package.id)
    if sort == "updated":
        return (Package.modified_at.desc(), Package.id.desc())
    if sort == "relevance":
        return (rank, Package.name_key, Package.id)
    raise InvalidInput(f"Sort by one of: {', '.join(SORTS)}.")


def matching(session: Session, actor: Actor, query: str) -> Select[int]:
    """The ids of the visible packages whose name or summary contains ``query``."""
    lowered = query.strip().lower()
    pattern = f"%{_escape_like(lowered)}%"
    # SQLite's LIKE ignores ASCII case and its lower() folds ASCII only, so lower() there
    # changes no match; it only keeps the scan off the covering index ix_packages_search.
    # PostgreSQL's LIKE is case-sensitive and needs it.
    summary = Package.summary if db.on_dialect(session, "sqlite") else func.lower(Package.summary)
    statement = select(Package.id)
    if lowered:
        statement = statement.where(
            or_(Package.name_key.like(pattern, escape="\\"), summary.like(pattern, escape="\\"))
        )
    return statement.where(visible_packages(actor))


def search(
    session: Session,
    actor: Actor,
    query: str,
    *,
    package_type: str | None = None,
    platform: str | None = None,
    label: str | None = None,
    owner: str | None = None,
    page: int = 1,
    per_page: int = 50,
    sort: str = "relevance",
) -> SearchPage:
    """Visible packages whose name (or summary) contains ``query``; best matches first."""
    if not isinstance(query, str):
        raise InvalidInput("The search query must be text.")
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"The search query is limited to {MAX_QUERY_LENGTH} characters.")
    if page < 1 or not 1 <= per_page <= 500:
        raise InvalidInput("page must be ≥ 1 and per_page between 1 and 500.")
    lowered = query.lower()
    pattern = f"%{_escape_like(lowered)}%"
    # Ids first, rows for the page only: sorting every match's full row (descriptions are
    # READMEs) costs more than a second query for at most ``per_page`` rows.
    statement = matching(session, actor, query)
    statement = filter_packages(statement, package_type, platform)
    if owner:
        statement = statement.join(Account, Account.id == Package.owner_id).where(
            Account.login == names.login(owner)
        )
    if label:
        if actor.token_label is not None and names.label(label) != actor.token_label:
            # A token limited to another label learns nothing of private files here.
            statement = statement.where(Package.public == true())
        labelled = (
            select(File.package_id)
            .join(FileLabel, FileLabel.file_id == File.id)
            .join(Label, Label.id == FileLabel.label_id)
            .where(Label.name == names.label(label))
        )
        statement = statement.where(Package.id.in_(labelled))
    rank = case(
        (Package.name_key == lowered, 0),
        (Package.name_key.like(f"{_escape_like(lowered)}%", escape="\\"), 1),
        (Package.name_key.like(pattern, escape="\\"), 2),
        else_=3,
    )
    offset = (page - 1) * per_page
    ids = list(
        session.scalars(statement.order_by(*_order(sort, rank)).limit(per_page).offset(offset))
    )
    if len(ids) < per_page and (ids or page == 1):
        # A short page is the last one: the total is known without counting (typing a
        # query narrows it to a few matches quickly).
        total = offset + len(ids)
    else:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = (
        {row.id: row for row in session.scalars(select(Package).where(Package.id.in_(ids)))}
        if ids
        else {}
    )
    return SearchPage([rows[package_id] for package_id in ids], total, page, per_page)
