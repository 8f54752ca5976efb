"""Logging in and out, and the account page: tokens (create, list, revoke), organizations."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.models import Account, Token
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import accounts, tokens, web_sessions
from jupyter_repo.server.web.base import SESSION_COOKIE, WebHandler, local_path

#: Choices offered for a new token's lifetime, in days.
EXPIRY_CHOICES = (1, 7, 30, 90, 365)
DEFAULT_EXPIRY_DAYS = 30


class LoginHandler(WebHandler):
    """``/login``: the form, and opening a session."""

    async def get(self) -> None:
        target = local_path(self.get_query_argument("next", None), "/account")
        if not self.actor.anonymous:
            self.see_other(target)
            return
        self.render_page("login.html", next_url=target, username="", error=None)

    async def submit(self, form: dict[str, list[str]]) -> None:
        username = self.field(form, "username")
        password = form.get("password", [""])[-1]
        target = local_path(self.field(form, "next"), "/account")
        try:
            user: Account = await self.authenticate_password(username, password)
        except errors.Unauthenticated as error:
            self.render_page(
                "login.html", status=401, next_url=target, username=username, error=error.message
            )
            return
        old = self.get_cookie(SESSION_COOKIE)
        if old:
            await self.run_write(web_sessions.end, old)
        secret = await self.run_write(
            web_sessions.start,
            user.id,
            max_age=self.session_age,
            remote_addr=self.request.remote_ip or "",
            user_agent=self.request.headers.get("User-Agent", ""),
        )
        self.set_session_cookie(secret)
        self.see_other(target)


class LogoutHandler(WebHandler):
    """``POST /logout``: the session ends on the server, not only in this browser."""

    async def get(self) -> None:
        self.render_page("logout.html")

    async def submit(self, form: dict[str, list[str]]) -> None:
        secret = self.get_cookie(SESSION_COOKIE)
        if secret:
            await self.run_write(web_sessions.end, secret)
        self.clear_session_cookie()
        self.see_other("/")


def _account_page(session: Session, actor: Actor) -> dict[str, Any]:
    user = accounts.actor_user(session, actor)
    return {
        "user": user,
        "orgs": accounts.user_orgs(session, user),
        "tokens": tokens.list_tokens(session, actor),
        "namespaces": accounts.writable_namespaces(session, actor),
    }


class AccountHandler(WebHandler):
    """``/account``: who you are, your organizations and your tokens."""

    async def get(self) -> None:
        self.require_login()
        await self.show()

    async def show(self, status: int = 200, **extra: Any) -> None:
        context = await self.run(_account_page, self.actor)
        self.render_page(
            "account.html",
            status=status,
            scopes=tokens.SCOPES,
            expiry_choices=EXPIRY_CHOICES,
            default_expiry=DEFAULT_EXPIRY_DAYS,
            **context,
            **extra,
        )


def _create_token(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: list[str],
    max_age: int,
    remote_addr: str,
    policy: tokens.TokenPolicy,
) -> tuple[Token, str]:
    """Create a token; unlike the CLI's login, never silently replace one of the same name."""
    if any(row.name == name for row in tokens.list_tokens(session, actor)):
        raise errors.Conflict(
            f"You already have a token named {name!r}: choose another name or revoke it first."
        )
    return tokens.create_token(
        session,
        actor,
        name=name,
        scopes=scopes,
        max_age=max_age,
        remote_addr=remote_addr,
        policy=policy,
        hostname="web",
        fail_if_exists=True,
    )


class TokensHandler(AccountHandler):
    """``POST /account/tokens``: create a token; its secret is shown once."""

    async def get(self) -> None:
        self.see_other("/account")

    async def submit(self, form: dict[str, list[str]]) -> None:
        self.require_login()
        name = self.field(form, "name")
        scopes = form.get("scopes") or []
        days_text = self.field(form, "expires_days", str(DEFAULT_EXPIRY_DAYS))
        try:
            days = int(days_text)
        except ValueError:
            raise errors.InvalidInput("The lifetime must be a whole number of days.") from None
        if days < 1:
            raise errors.InvalidInput("A token must live at least one day.")
        if not name:
            raise errors.InvalidInput("Give the token a name, so you can recognise it later.")
        if not scopes:
            raise errors.InvalidInput("Choose at least one scope.")
        _row, secret = await self.act(
            _create_token,
            self.actor,
            name=name,
            scopes=scopes,
            max_age=days * 86400,
            remote_addr=self.request.remote_ip or "",
            policy=self.repo.token_policy,
        )
        await self.show(new_token=secret, new_token_name=name)


class TokenRevokeHandler(WebHandler):
    """``POST /account/tokens/<id>/revoke``."""

    async def submit(self, form: dict[str, list[str]], token_id: str) -> None:
        self.require_login()
        await self.run_write(tokens.revoke_by_id, self.actor, token_id)
        self.see_other("/account")


class OrgCreateHandler(WebHandler):
    """``POST /orgs``: create an organization; its creator becomes an owner."""

    async def submit(self, form: dict[str, list[str]]) -> None:
        self.require_login()
        org = await self.act(
            accounts.create_org_as,
            self.actor,
            self.field(form, "login"),
            name=self.field(form, "name"),
        )
        self.see_other(f"/orgs/{org.login}")
