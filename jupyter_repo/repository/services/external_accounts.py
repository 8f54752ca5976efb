"""Accounts whose identity another system vouches for: JupyterHub, an OAuth 2 provider.

The provider has already proved who the person is (the server layer asked it); here that
identity becomes an account: created at the first sign-in, never one that belongs to
someone else. A provider signs in only the accounts it created (``auth_source``), so a
hub user named like a local administrator does not become that administrator. Hub groups
mapped to an organization's groups set exactly those memberships, at every sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import Forbidden, InvalidInput
from jupyter_repo.repository.models import (
    Account,
    AccountKind,
    Group,
    GroupMember,
    Token,
    WebSession,
    utcnow,
)
from jupyter_repo.repository.services import accounts, tokens
from jupyter_repo.repository.services.orgs import PERMISSIONS

JUPYTERHUB = "jupyterhub"


@dataclass(frozen=True)
class GroupGrant:
    """A group of an organization that members of a provider's group belong to."""

    org: str
    group: str
    permission: str

    @classmethod
    def parse(cls, text: str) -> GroupGrant:
        """``"<org>/<group>:<read|write|admin>"`` (how the configuration writes it)."""
        target, _, permission = text.partition(":")
        org, _, group = target.partition("/")
        if not org or not group or permission not in PERMISSIONS:
            raise InvalidInput(
                f"A group mapping must read '<org>/<group>:<{'|'.join(PERMISSIONS)}>', "
                f"not {text!r}."
            )
        return cls(names.login(org), names.group(group), permission)


@dataclass(frozen=True)
class Identity:
    """Who a provider says the person is."""

    source: str  # "jupyterhub" or "oauth:<provider>"
    login: str
    name: str = ""
    email: str = ""
    groups: tuple[str, ...] = ()
    #: provider group → the repository groups its members belong to
    mapping: dict[str, tuple[GroupGrant, ...]] = field(default_factory=dict)


def sign_in(session: Session, identity: Identity) -> Account:
    """The account of ``identity``: created at the first sign-in, groups kept in step."""
    try:
        login = names.login(identity.login)
    except InvalidInput as error:
        raise Forbidden(
            f"The name {identity.login!r} cannot be an account name here ({error.message}); "
            "ask the administrator."
        ) from None
    account = accounts.find_account(session, login)
    if account is None:
        account = accounts.create_user(
            session, login, None, name=identity.name[:200], email=identity.email[:200]
        )
        account.auth_source = identity.source
    elif account.kind is not AccountKind.USER or account.auth_source != identity.source:
        raise Forbidden(
            f"The account {login!r} here is not one that this sign-in created; an "
            "administrator can tell you how to sign in to it."
        )
    if identity.mapping:
        _sync_groups(session, account, identity)
    session.flush()
    return account


def _sync_groups(session: Session, account: Account, identity: Identity) -> None:
    """Member of exactly the mapped groups the provider's groups lead to; memberships in
    groups no mapping names are left alone. A mapped organization must exist (an
    administrator creates it); its group is created with the mapped permission."""
    members = set(identity.groups)
    belongs_to = {
        (grant.org, grant.group)
        for provider_group, grants in identity.mapping.items()
        if provider_group in members
        for grant in grants
    }
    targets: dict[tuple[str, str], GroupGrant] = {}
    for grants in identity.mapping.values():
        for grant in grants:
            key = (grant.org, grant.group)
            if key not in targets or key in belongs_to:
                targets[key] = grant
    for (org_login, group_name), grant in sorted(targets.items()):
        org = accounts.find_account(session, org_login)
        if org is None or org.kind is not AccountKind.ORG:
            continue  # a mapping to an organization nobody created grants nothing
        group = session.scalar(
            select(Group).where(Group.org_id == org.id, Group.name == group_name)
        )
        belongs = (org_login, group_name) in belongs_to
        if group is None:
            if not belongs:
                continue
            group = Group(org_id=org.id, name=group_name, permission=grant.permission)
            session.add(group)
            session.flush()
        elif group.permission != grant.permission:
            group.permission = grant.permission
        membership = session.get(GroupMember, (group.id, account.id))
        if belongs and membership is None:
            session.add(GroupMember(group_id=group.id, user_id=account.id))
        elif not belongs and membership is not None:
            session.delete(membership)


def issue_token(
    session: Session,
    account_id: int,
    *,
    name: str,
    scopes: list[str],
    max_age: int,
    origin: str,
    remote_addr: str = "",
) -> tuple[Token, str]:
    """A token for a signed-in identity's account (replaces an active one of that name:
    a single-user server that asks again gets a fresh token, the old one ends)."""
    account = session.get(Account, account_id)
    if account is None:
        raise Forbidden("The account is gone.")
    return tokens.create_token(
        session,
        accounts.password_actor(account),
        name=name,
        scopes=scopes,
        max_age=max_age,
        remote_addr=remote_addr,
        hostname=origin,
        origin=origin,
        policy=tokens.TokenPolicy(default_max_age=max_age, max_max_age=max_age),
    )


def cut_off(session: Session, login: str, source: str) -> int:
    """The provider no longer has this user: end every token and session of the account
    (only one ``source`` created). Returns how many tokens were revoked."""
    account = accounts.find_account(session, login)
    if account is None or account.auth_source != source:
        return 0
    revoked = session.execute(
        update(Token)
        .where(Token.user_id == account.id, Token.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.execute(delete(WebSession).where(WebSession.user_id == account.id))
    return int(getattr(revoked, "rowcount", 0) or 0)
