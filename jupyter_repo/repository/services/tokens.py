"""Access tokens: creation with scopes and expiry, listing, revocation, resolution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from jupyter_repo.repository.models import Account, Package, Token, utcnow
from jupyter_repo.repository.permissions import Actor, Level, account_level, package_level
from jupyter_repo.repository.security import hash_token, new_id, new_token
from jupyter_repo.repository.services import accounts, packages

T = TypeVar("T")

#: scope → (description, the most it allows)
SCOPES: dict[str, tuple[str, Level]] = {
    "all": ("Full access: everything your account can do, including managing tokens.", Level.ADMIN),
    "api": ("Full API access (same as 'all').", Level.ADMIN),
    "api:write": ("Upload, change and remove packages, releases, files and labels.", Level.WRITE),
    "upload": ("Upload packages (also allows reading them).", Level.WRITE),
    "repos": ("Read and write packages (legacy name).", Level.WRITE),
    "api:read": ("Read private packages and their files through the API.", Level.READ),
    "read": ("Read and download private packages.", Level.READ),
    "download": ("Download private packages (conda, PyPI and files).", Level.READ),
    "conda:download": ("Download private conda packages (channels with /t/<token>/).", Level.READ),
    "pypi:download": ("Download private PyPI packages.", Level.READ),
}


@dataclass(frozen=True)
class TokenPolicy:
    default_max_age: int = 365 * 24 * 3600
    max_max_age: int = 5 * 365 * 24 * 3600


def scope_level(scopes: list[str]) -> Level:
    return max((SCOPES[scope][1] for scope in scopes if scope in SCOPES), default=Level.NONE)


def normalise_scopes(scopes: object) -> list[str]:
    if scopes is None:
        return ["all"]
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list) or not all(isinstance(item, str) for item in scopes):
        raise InvalidInput("Scopes must be a list of scope names.")
    result: list[str] = []
    for scope in (part for item in scopes for part in item.split()):
        if scope not in SCOPES:
            raise InvalidInput(
                f"Unknown scope {scope!r}; known scopes: {', '.join(sorted(SCOPES))}."
            )
        if scope not in result:
            result.append(scope)
    return result or ["all"]


def create_token(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: object = None,
    max_age: int | None = None,
    org: str | None = None,
    package: str | None = None,
    label: str | None = None,
    remote_addr: str = "",
    hostname: str = "",
    fail_if_exists: bool = False,
    policy: TokenPolicy = TokenPolicy(),
    origin: str | None = None,
) -> tuple[Token, str]:
    """Create a token for the actor's user; returns the row and the secret (shown once)."""
    user_id = actor.require_user()
    if actor.cap < Level.ADMIN:
        raise Forbidden("Creating tokens needs your password or a token with the 'all' scope.")
    name = (name or "").strip()[:200] or "token"
    chosen = normalise_scopes(scopes)
    if scope_level(chosen) > actor.cap:
        raise Forbidden("A token cannot grant more than the credentials that create it.")
    lifetime = policy.default_max_age if max_age in (None, 0) else max_age
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime < 0:
        raise InvalidInput("max-age must be a positive number of seconds.")
    if lifetime > policy.max_max_age:
        raise InvalidInput(
            f"max-age is over the server's limit of {policy.max_max_age} seconds "
            f"({policy.max_max_age // 86400} days)."
        )
    account_id = None
    if org:
        account = accounts.get_account(session, org)
        if account_level(session, actor, account) < Level.ADMIN:
            raise Forbidden(f"You are not an administrator of '{account.login}'.")
        account_id = account.id
    package_id = None
    if package:
        package_id = _readable_package(session, actor, package).id
    label_name = names.label(label) if label else None
    if actor.token_id is not None:
        account_id, package_id, label_name = _within_creator(
            session, actor, account_id, package_id, label_name
        )
        lifetime = min(lifetime, _seconds_left(session, actor))
        # A token made with a hub's token keeps its origin (and its short life above).
        origin = origin or current_token(session, actor).origin
    active = _active_named(session, user_id, account_id, name)
    if active:
        if fail_if_exists:
            raise InvalidInput(
                f"A token named {name!r} already exists (you are already logged in from "
                "this host); remove it first or log in again to replace it."
            )
        for old in active:
            old.revoked_at = utcnow()
    secret = new_token()
    token = Token(
        id=new_id(8),
        user_id=user_id,
        account_id=account_id,
        name=name,
        token_hash=hash_token(secret),
        scopes=chosen,
        package_id=package_id,
        label=label_name,
        remote_addr=remote_addr[:64],
        hostname=(hostname or "")[:200],
        expires_at=utcnow() + timedelta(seconds=lifetime),
        origin=origin,
    )
    session.add(token)
    session.flush()
    return token, secret


def _readable_package(session: Session, actor: Actor, spec: str) -> Package:
    """The package ``<owner>/<name>`` a new token is limited to; one the caller cannot read
    is "not found", exactly like a missing one."""
    if not isinstance(spec, str):
        raise InvalidInput("Limit a token to a package with '<owner>/<package>'.")
    owner_login, _, package_name = spec.partition("/")
    if not package_name:
        raise InvalidInput("Limit a token to a package with '<owner>/<package>'.")
    missing = NotFound(f"The package {spec} does not exist.")
    try:
        owner = accounts.get_account(session, owner_login)
        row = packages.find_package(session, owner, package_name)
    except (NotFound, InvalidInput):
        raise missing from None
    if row is None or package_level(session, actor, row) < Level.READ:
        raise missing
    return row


def _within_creator(
    session: Session,
    actor: Actor,
    account_id: int | None,
    package_id: int | None,
    label: str | None,
) -> tuple[int | None, int | None, str | None]:
    """The limits of a token created with a token: never wider than the creator's.

    A limit the creator has and the request leaves out is inherited; a request for a
    different one is refused (a token limited to one package cannot mint a token for
    another, nor an unlimited one)."""
    account_id = _narrowed(actor.token_account_id, account_id, "one organization")
    package_id = _narrowed(actor.token_package_id, package_id, "one package")
    label = _narrowed(actor.token_label, label, f"the label '{actor.token_label}'")
    if account_id is not None and package_id is not None:
        package = session.get(Package, package_id)
        if package is None or package.owner_id != account_id:
            raise Forbidden("The package is outside the organization this token is limited to.")
    return account_id, package_id, label


def _narrowed(mine: T | None, asked: T | None, what: str) -> T | None:
    if mine is None:
        return asked
    if asked is None or asked == mine:
        return mine
    raise Forbidden(f"This token is limited to {what}; a token it creates must be too.")


def _seconds_left(session: Session, actor: Actor) -> int:
    """How long the creating token still lives (a token it creates does not outlive it)."""
    row = current_token(session, actor)
    if row.expires_at is None:
        return 2**62
    return max(0, int((row.expires_at - utcnow()).total_seconds()))


def within_reach(actor: Actor, row: Token) -> bool:
    """May ``actor`` see or revoke the token ``row``? Passwords and sessions see all of
    their user's tokens; a token sees only tokens no wider than itself."""
    if actor.token_id is None:
        return True
    return (
        (actor.token_account_id is None or row.account_id == actor.token_account_id)
        and (actor.token_package_id is None or row.package_id == actor.token_package_id)
        and (actor.token_label is None or row.label == actor.token_label)
        and scope_level(list(row.scopes)) <= actor.cap
    )


def _active_named(session: Session, user_id: int, account_id: int | None, name: str) -> list[Token]:
    now = utcnow()
    rows = session.scalars(
        select(Token).where(
            Token.user_id == user_id,
            Token.name == name,
            Token.account_id.is_(None) if account_id is None else Token.account_id == account_id,
            Token.revoked_at.is_(None),
        )
    )
    return [row for row in rows if row.expires_at is None or row.expires_at > now]


def resolve(session: Session, secret: str) -> Actor:
    """The actor behind a token; expired, revoked and unknown tokens are all refused alike."""
    row = session.scalar(select(Token).where(Token.token_hash == hash_token(secret)))
    now = datetime.now(timezone.utc)
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
    ):
        raise Unauthenticated("The token is invalid, expired or revoked.")
    user = session.get(Account, row.user_id)
    assert user is not None
    return Actor(
        user_id=user.id,
        login=user.login,
        is_site_admin=user.is_site_admin,
        token_id=row.id,
        cap=scope_level(list(row.scopes)),
        token_account_id=row.account_id,
        token_package_id=row.package_id,
        token_label=row.label,
        auth_source=user.auth_source,
    )


def list_tokens(session: Session, actor: Actor, *, include_inactive: bool = False) -> list[Token]:
    user_id = actor.require_user()
    rows = list(
        session.scalars(
            select(Token).where(Token.user_id == user_id).order_by(Token.created_at.desc())
        )
    )
    rows = [row for row in rows if within_reach(actor, row)]
    if include_inactive:
        return rows
    now = utcnow()
    return [
        row
        for row in rows
        if row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
    ]


def current_token(session: Session, actor: Actor) -> Token:
    if actor.token_id is None:
        raise Unauthenticated("This request was not made with a token.")
    token = session.get(Token, actor.token_id)
    if token is None:
        raise Unauthenticated("The token is invalid, expired or revoked.")
    return token


def revoke_current(session: Session, actor: Actor) -> None:
    current_token(session, actor).revoked_at = utcnow()


def revoke_by_name(session: Session, actor: Actor, name: str, org: str | None = None) -> int:
    user_id = actor.require_user()
    if actor.cap < Level.ADMIN:
        raise Forbidden("Removing tokens needs your password or a token with the 'all' scope.")
    query = select(Token).where(Token.name == name, Token.revoked_at.is_(None))
    if org:
        account = accounts.find_account(session, org)
        if account is None or account_level(session, actor, account) < Level.ADMIN:
            raise NotFound(f"No token named {name!r}.")
        query = query.where(Token.account_id == account.id)
    else:
        query = query.where(Token.user_id == user_id)
    rows = [row for row in session.scalars(query) if within_reach(actor, row)]
    if not rows:
        raise NotFound(f"No token named {name!r}.")
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def revocable(session: Session, actor: Actor, token_id: str) -> Token:
    """One of the actor's tokens that the actor may revoke (asked before revoking it)."""
    user_id = actor.require_user()
    if actor.cap < Level.ADMIN:
        raise Forbidden("Removing tokens needs your password or a token with the 'all' scope.")
    row = session.get(Token, token_id)
    if row is None or row.user_id != user_id or not within_reach(actor, row):
        raise NotFound("No such token.")
    return row


def revoke_by_id(session: Session, actor: Actor, token_id: str) -> None:
    row = revocable(session, actor, token_id)
    row.revoked_at = utcnow()
