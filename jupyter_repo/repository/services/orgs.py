"""Organizations' groups: permissions, members and per-package access."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from jupyter_repo.repository.models import (
    Account,
    AccountKind,
    Group,
    GroupMember,
    GroupPackage,
    Package,
)
from jupyter_repo.repository.permissions import (
    Actor,
    Level,
    account_level,
    require_account,
    visible_packages,
)
from jupyter_repo.repository.services import accounts, packages

PERMISSIONS = ("read", "write", "admin")


def get_org(session: Session, actor: Actor, login: str, needed: Level = Level.READ) -> Account:
    """An organization the actor belongs to (outsiders learn nothing about its groups;
    anonymous callers wanting to change one are asked to log in, whether it exists or not)."""
    if actor.anonymous and needed > Level.READ:
        raise Unauthenticated("Authentication required: log in or pass a token.")
    hidden = NotFound(f"The organization {login} does not exist or you are not a member.")
    try:
        account = accounts.get_account(session, login)
    except NotFound:
        raise hidden from None
    if account.kind is not AccountKind.ORG:
        raise NotFound(f"{login} is not an organization.")
    if account_level(session, actor, account) < Level.READ:
        raise hidden
    require_account(session, actor, account, needed)
    return account


def list_groups(session: Session, actor: Actor, org: str) -> list[Group]:
    account = get_org(session, actor, org)
    return list(
        session.scalars(select(Group).where(Group.org_id == account.id).order_by(Group.name))
    )


def get_group(
    session: Session, actor: Actor, org: str, name: str, needed: Level = Level.READ
) -> Group:
    account = get_org(session, actor, org, needed)
    group = session.scalar(
        select(Group).where(Group.org_id == account.id, Group.name == names.group(name))
    )
    if group is None:
        raise NotFound(f"The group {org}/{name} does not exist.")
    return group


def create_group(session: Session, actor: Actor, org: str, name: str, permission: str) -> Group:
    account = get_org(session, actor, org, Level.ADMIN)
    if permission not in PERMISSIONS:
        raise InvalidInput(f"Group permission must be one of: {', '.join(PERMISSIONS)}.")
    group_name = names.group(name)
    existing = session.scalar(
        select(Group).where(Group.org_id == account.id, Group.name == group_name)
    )
    if existing is not None:
        if existing.permission == permission:
            return existing
        existing.permission = permission
        return existing
    group = Group(org_id=account.id, name=group_name, permission=permission)
    session.add(group)
    session.flush()
    return group


def delete_group(session: Session, actor: Actor, org: str, name: str) -> None:
    group = get_group(session, actor, org, name, Level.ADMIN)
    if group.name == accounts.OWNERS_GROUP:
        raise InvalidInput("The owners group cannot be removed.")
    session.delete(group)


def members(session: Session, actor: Actor, org: str, name: str) -> list[Account]:
    group = get_group(session, actor, org, name)
    return list(
        session.scalars(
            select(Account)
            .join(GroupMember, GroupMember.user_id == Account.id)
            .where(GroupMember.group_id == group.id)
            .order_by(Account.login)
        )
    )


def is_member(session: Session, actor: Actor, org: str, name: str, login: str) -> bool:
    group = get_group(session, actor, org, name)
    user = accounts.get_user(session, login)
    return session.get(GroupMember, (group.id, user.id)) is not None


def add_member(session: Session, actor: Actor, org: str, name: str, login: str) -> None:
    group = get_group(session, actor, org, name, Level.ADMIN)
    user = accounts.get_user(session, login)
    if session.get(GroupMember, (group.id, user.id)) is None:
        session.add(GroupMember(group_id=group.id, user_id=user.id))


def remove_member(session: Session, actor: Actor, org: str, name: str, login: str) -> None:
    group = get_group(session, actor, org, name, Level.ADMIN)
    user = accounts.get_user(session, login)
    row = session.get(GroupMember, (group.id, user.id))
    if row is None:
        raise NotFound(f"{login} is not a member of {org}/{name}.")
    if group.name == accounts.OWNERS_GROUP:
        others = session.scalars(
            select(GroupMember).where(
                GroupMember.group_id == group.id, GroupMember.user_id != user.id
            )
        ).first()
        if others is None:
            raise Conflict("An organization needs at least one owner.")
    session.delete(row)


def group_packages(session: Session, actor: Actor, org: str, name: str) -> list[Package]:
    """The packages granted to a group that the actor may read (private ones it may not read
    stay unknown to it, even as names)."""
    group = get_group(session, actor, org, name)
    return list(
        session.scalars(
            select(Package)
            .join(GroupPackage, GroupPackage.package_id == Package.id)
            .where(GroupPackage.group_id == group.id, visible_packages(actor))
            .order_by(Package.name_key)
        )
    )


def add_package(session: Session, actor: Actor, org: str, name: str, package_name: str) -> None:
    group = get_group(session, actor, org, name, Level.ADMIN)
    package = packages.get_package(session, actor, org, package_name, Level.ADMIN)
    if session.get(GroupPackage, (group.id, package.id)) is None:
        session.add(GroupPackage(group_id=group.id, package_id=package.id))


def remove_package(session: Session, actor: Actor, org: str, name: str, package_name: str) -> None:
    group = get_group(session, actor, org, name, Level.ADMIN)
    package = packages.get_package(session, actor, org, package_name, Level.ADMIN)
    row = session.get(GroupPackage, (group.id, package.id))
    if row is None:
        raise NotFound(f"{org}/{package_name} is not granted to {org}/{name}.")
    session.delete(row)


def org_members(session: Session, actor: Actor, org: str) -> list[tuple[Account, list[str]]]:
    """Every member of the organization with the names of their groups."""
    account = get_org(session, actor, org)
    result: dict[int, tuple[Account, list[str]]] = {}
    rows = session.execute(
        select(Account, Group.name)
        .join(GroupMember, GroupMember.user_id == Account.id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(Group.org_id == account.id)
        .order_by(Account.login, Group.name)
    )
    for user, group_name in rows:
        result.setdefault(user.id, (user, []))[1].append(group_name)
    return list(result.values())
