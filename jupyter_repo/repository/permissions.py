"""Who may do what: one place that answers every access question.

An :class:`Actor` is the caller (anonymous, a user by password or session, or a token).
Rights are levels (none < read < write < admin), computed per namespace and per package,
then capped by what the token's scopes allow and by the package or namespace it is limited to.
A private object the actor cannot read is reported as not found by the callers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from jupyter_repo.repository.errors import Forbidden, NotFound, Unauthenticated
from jupyter_repo.repository.models import (
    Account,
    AccountKind,
    Collaborator,
    File,
    FileLabel,
    Group,
    GroupMember,
    GroupPackage,
    Label,
    Package,
)


class Level(enum.IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2
    ADMIN = 3


PERMISSION_LEVELS = {"read": Level.READ, "write": Level.WRITE, "admin": Level.ADMIN}


@dataclass(frozen=True)
class Actor:
    """The caller of a service, resolved once per request."""

    user_id: int | None = None
    login: str | None = None
    is_site_admin: bool = False
    token_id: str | None = None
    #: The most a token's scopes allow; ADMIN for passwords and web sessions.
    cap: Level = Level.NONE
    token_account_id: int | None = None
    token_package_id: int | None = None
    token_label: str | None = None
    #: The identity provider the account belongs to (None: a local account); a hub's
    #: accounts act only while the hub still has the user.
    auth_source: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    def require_user(self) -> int:
        if self.user_id is None:
            raise Unauthenticated("Authentication required: log in or pass a token.")
        return self.user_id


ANONYMOUS = Actor()


def _cap(actor: Actor, level: Level, account_id: int, package_id: int | None) -> Level:
    if actor.token_account_id is not None and actor.token_account_id != account_id:
        return Level.NONE
    if actor.token_package_id is not None and actor.token_package_id != package_id:
        return Level.NONE
    if actor.token_label is not None:
        # A token limited to a label writes only what that label holds (see
        # ``require_label_reach``): it never administers a package or a namespace.
        level = min(level, Level.WRITE)
    return min(level, actor.cap)


def reads_file(actor: Actor, package_public: bool, label_names: Iterable[str]) -> bool:
    """May the actor, who may read the file's package, read this file? A token limited to
    a label reads a private package's files only on that label."""
    return package_public or actor.token_label is None or actor.token_label in label_names


def require_label_reach(actor: Actor, label_names: Iterable[str]) -> None:
    """Refuse a change to any label but the one a label-limited token is limited to."""
    if actor.token_label is None:
        return
    others = sorted(set(label_names) - {actor.token_label})
    if others:
        raise Forbidden(
            f"This token is limited to the label '{actor.token_label}'; it cannot change "
            f"what the label '{others[0]}' holds."
        )


def _group_level(session: Session, user_id: int, org_id: int, package_id: int | None) -> Level:
    """The best permission the user holds in ``org_id`` through groups (for one package)."""
    query = (
        select(Group.permission, GroupPackage.package_id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .outerjoin(
            GroupPackage,
            (GroupPackage.group_id == Group.id)
            & (GroupPackage.package_id == (package_id if package_id is not None else -1)),
        )
        .where(Group.org_id == org_id, GroupMember.user_id == user_id)
    )
    best = Level.NONE
    for permission, granted_package in session.execute(query):
        level = PERMISSION_LEVELS.get(permission, Level.NONE)
        if level == Level.ADMIN:
            return Level.ADMIN
        if package_id is None:
            best = max(best, level)  # namespace-wide: write members may create packages
        elif granted_package is not None:
            best = max(best, level)
    return best


def account_level(session: Session, actor: Actor, account: Account) -> Level:
    """Rights over a namespace itself (create packages, manage labels, groups, tokens)."""
    if actor.user_id is None:
        return Level.NONE
    if actor.is_site_admin:
        level = Level.ADMIN
    elif account.kind is AccountKind.USER:
        level = Level.ADMIN if account.id == actor.user_id else Level.NONE
    else:
        level = _group_level(session, actor.user_id, account.id, None)
    if actor.token_package_id is not None:
        level = min(level, Level.READ)
    return _cap(actor, level, account.id, actor.token_package_id)


def package_level(session: Session, actor: Actor, package: Package) -> Level:
    """Rights over one package; public packages are readable by everyone."""
    level = Level.NONE
    if actor.user_id is not None:
        owner = session.get(Account, package.owner_id)
        assert owner is not None
        if actor.is_site_admin or owner.id == actor.user_id:
            level = Level.ADMIN
        elif owner.is_org:
            level = _group_level(session, actor.user_id, owner.id, package.id)
        if (
            level < Level.WRITE
            and session.get(Collaborator, (package.id, actor.user_id)) is not None
        ):
            level = Level.WRITE
        level = _cap(actor, level, package.owner_id, package.id)
    if package.public:
        level = max(level, Level.READ)
    return level


def require_package(
    session: Session, actor: Actor, package: Package | None, needed: Level, what: str = "package"
) -> Package:
    """Return ``package`` if the actor has ``needed`` rights; hide what it may not see.

    Anonymous callers are told to authenticate before anything is looked up when more than
    reading is needed, so that a private package and a missing one answer alike.
    """
    if actor.anonymous and needed > Level.READ:
        raise Unauthenticated("Authentication required: log in or pass a token.")
    if package is None:
        raise NotFound(f"The {what} does not exist.")
    level = package_level(session, actor, package)
    if level < Level.READ:
        raise NotFound(f"The {what} does not exist.")
    if level < needed:
        if actor.anonymous:
            raise Unauthenticated("Authentication required: log in or pass a token.")
        raise Forbidden(_forbidden_message(actor, needed))
    return package


def require_account(session: Session, actor: Actor, account: Account, needed: Level) -> None:
    level = account_level(session, actor, account)
    if level < needed:
        if actor.anonymous:
            raise Unauthenticated("Authentication required: log in or pass a token.")
        raise Forbidden(
            _forbidden_message(actor, needed)
            if actor.token_id and actor.cap < needed
            else f"You do not have {needed.name.lower()} access to the namespace '{account.login}'."
        )


def _forbidden_message(actor: Actor, needed: Level) -> str:
    if actor.token_id and actor.cap < needed:
        return (
            f"This token's scopes do not allow {needed.name.lower()} access; "
            "create a token with a wider scope."
        )
    return f"You do not have {needed.name.lower()} access to this package."


def visible_packages(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition selecting the packages ``actor`` may read (for lists and search)."""
    clauses: list[ColumnElement[bool]] = [Package.public == true()]
    if actor.user_id is not None and actor.cap >= Level.READ:
        private: ColumnElement[bool]
        if actor.is_site_admin:
            private = true()
        else:
            user = actor.user_id
            admin_orgs = (
                select(Group.org_id)
                .join(GroupMember, GroupMember.group_id == Group.id)
                .where(GroupMember.user_id == user, Group.permission == "admin")
            )
            granted = (
                select(GroupPackage.package_id)
                .join(GroupMember, GroupMember.group_id == GroupPackage.group_id)
                .where(GroupMember.user_id == user)
            )
            collaborating = select(Collaborator.package_id).where(Collaborator.user_id == user)
            private = or_(
                Package.owner_id == user,
                Package.owner_id.in_(admin_orgs),
                Package.id.in_(granted),
                Package.id.in_(collaborating),
            )
        if actor.token_account_id is not None:
            private = private & (Package.owner_id == actor.token_account_id)
        if actor.token_package_id is not None:
            private = private & (Package.id == actor.token_package_id)
        clauses.append(private)
    return or_(*clauses) if len(clauses) > 1 else (clauses[0] if clauses else false())


def readable_files(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition over ``File`` joined with its ``Package``: the files ``actor`` may
    read (those of visible packages; of a private package, a label-limited token reads
    only the files on its label)."""
    condition = visible_packages(actor)
    if actor.token_label is None:
        return condition
    on_label = File.id.in_(
        select(FileLabel.file_id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Label.owner_id == Package.owner_id, Label.name == actor.token_label)
    )
    return and_(condition, or_(Package.public == true(), on_label))
