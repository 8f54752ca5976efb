"""Users and organizations: creation, look-up, passwords."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from jupyter_repo.repository.models import Account, AccountKind, Group, GroupMember
from jupyter_repo.repository.permissions import Actor, Level, account_level
from jupyter_repo.repository.security import hash_password, verify_password

MIN_PASSWORD_LENGTH = 8
OWNERS_GROUP = "owners"


def find_account(session: Session, login: str) -> Account | None:
    return session.scalar(select(Account).where(Account.login == names.login(login)))


def get_account(session: Session, login: str) -> Account:
    account = find_account(session, login)
    if account is None:
        raise NotFound(f"User {login} does not exist.")
    return account


def actor_user(session: Session, actor: Actor) -> Account:
    """The account of the user acting (401 for anonymous, or when it has since gone)."""
    user = session.get(Account, actor.require_user())
    if user is None:
        raise Unauthenticated("Your account no longer exists.")
    return user


def get_user(session: Session, login: str) -> Account:
    account = get_account(session, login)
    if account.kind is not AccountKind.USER:
        raise NotFound(f"User {login} does not exist.")
    return account


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 1024:
        raise InvalidInput("Passwords are limited to 1024 characters.")


def create_user(
    session: Session,
    login: str,
    password: str | None,
    *,
    name: str = "",
    email: str = "",
    is_site_admin: bool = False,
) -> Account:
    normalised = names.new_login(login)
    if find_account(session, normalised):
        raise Conflict(f"The name {normalised!r} is already taken.")
    if password is not None:
        _check_password(password)
    account = Account(
        login=normalised,
        kind=AccountKind.USER,
        name=name[:200],
        email=email[:200],
        password_hash=hash_password(password) if password is not None else None,
        is_site_admin=is_site_admin,
    )
    session.add(account)
    session.flush()
    return account


def create_org(
    session: Session, login: str, owner: Account, *, name: str = "", description: str = ""
) -> Account:
    """Create an organization; its creator becomes a member of its ``owners`` (admin) group."""
    normalised = names.new_login(login)
    if find_account(session, normalised):
        raise Conflict(f"The name {normalised!r} is already taken.")
    if owner.kind is not AccountKind.USER:
        raise InvalidInput("An organization must be created by a user.")
    org = Account(login=normalised, kind=AccountKind.ORG, name=name[:200], description=description)
    session.add(org)
    session.flush()
    owners = Group(
        org_id=org.id,
        name=OWNERS_GROUP,
        permission="admin",
        description="Administrators of the organization",
    )
    session.add(owners)
    session.flush()
    session.add(GroupMember(group_id=owners.id, user_id=owner.id))
    session.flush()
    return org


def create_org_as(
    session: Session, actor: Actor, login: str, *, name: str = "", description: str = ""
) -> Account:
    actor.require_user()
    if actor.cap < Level.ADMIN:
        raise Forbidden("Creating an organization needs your password or an 'all' token.")
    owner = actor_user(session, actor)
    return create_org(session, login, owner, name=name, description=description)


def set_password(session: Session, user: Account, password: str) -> None:
    _check_password(password)
    user.password_hash = hash_password(password)


def authenticate(session: Session, login: str, password: str) -> Account:
    """The user with this login and password; the same error for every kind of mismatch."""
    try:
        account = find_account(session, login)
    except InvalidInput:
        account = None
    password_hash = account.password_hash if account is not None else None
    if (
        not verify_password(password_hash, password)
        or account is None
        or account.kind is not AccountKind.USER
    ):
        raise Unauthenticated("Invalid username or password.")
    return account


def password_actor(account: Account) -> Actor:
    """An actor for someone who proved their password (or holds a web session)."""
    return Actor(
        user_id=account.id,
        login=account.login,
        is_site_admin=account.is_site_admin,
        cap=Level.ADMIN,
        auth_source=account.auth_source,
    )


def user_orgs(session: Session, user: Account) -> list[Account]:
    query = (
        select(Account)
        .join(Group, Group.org_id == Account.id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user.id)
        .distinct()
        .order_by(Account.login)
    )
    return list(session.scalars(query))


def orgs_seen_by(session: Session, actor: Actor, login: str) -> list[Account]:
    """The organizations of user ``login`` that ``actor`` may know about: membership of an
    organization is visible to its members only (its member pages answer "not found" to
    everyone else), so a user's list shows only organizations the caller belongs to."""
    user = get_user(session, login)
    return [
        org for org in user_orgs(session, user) if account_level(session, actor, org) >= Level.READ
    ]


def writable_namespaces(session: Session, actor: Actor) -> list[Account]:
    """The user's own namespace and the organizations they may publish to."""
    if actor.user_id is None:
        return []
    user = actor_user(session, actor)
    candidates = [user, *user_orgs(session, user)]
    return [
        account for account in candidates if account_level(session, actor, account) >= Level.WRITE
    ]
