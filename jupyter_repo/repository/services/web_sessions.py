"""Browser sessions: log in with a password, get a random secret for a cookie, log out.

The secret is 256 random bits and only its SHA-256 is stored (as for tokens), so a leaked
database does not leak live sessions. A session acts with the user's full rights, like the
password that opened it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from jupyter_repo.repository.errors import InvalidInput, Unauthenticated
from jupyter_repo.repository.models import Account, AccountKind, WebSession, utcnow
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.security import hash_token
from jupyter_repo.repository.services import accounts

MAX_SECRET_LENGTH = 100


def start(
    session: Session, user_id: int, *, max_age: int, remote_addr: str = "", user_agent: str = ""
) -> str:
    """Open a session for the user; returns the secret for the cookie (shown only here)."""
    if max_age <= 0:
        raise InvalidInput("A session must last some time.")
    user = session.get(Account, user_id)
    if user is None or user.kind is not AccountKind.USER:
        raise Unauthenticated("Invalid username or password.")
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            secret_hash=hash_token(secret),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age),
            remote_addr=(remote_addr or "")[:64],
            user_agent=(user_agent or "")[:200],
        )
    )
    session.flush()
    return secret


def resolve(session: Session, secret: str) -> Actor:
    """The actor behind a session cookie; unknown, ended and expired sessions are refused."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        raise Unauthenticated("The session has ended; log in again.")
    row = session.get(WebSession, hash_token(secret))
    if row is None or row.expires_at <= utcnow():
        raise Unauthenticated("The session has ended; log in again.")
    user = session.get(Account, row.user_id)
    assert user is not None  # the foreign key cascades
    return accounts.password_actor(user)


def end(session: Session, secret: str) -> None:
    """Log out: the secret stops working at once, in every server process."""
    if secret and len(secret) <= MAX_SECRET_LENGTH:
        session.execute(delete(WebSession).where(WebSession.secret_hash == hash_token(secret)))
