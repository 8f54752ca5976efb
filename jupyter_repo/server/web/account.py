"""Logging in and out, and the account page: tokens (create, list, revoke), organizations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.models import Account, Token
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import accounts, tokens, web_sessions
from jupyter_repo.server.base import status_of
from jupyter_repo.server.web.base import SESSION_COOKIE, Confirmation, WebHandler, local_path

#: Choices offered for a new token's lifetime, in days.
EXPIRY_CHOICES = (1, 7, 30, 90, 365)
DEFAULT_EXPIRY_DAYS = 30


@dataclass(frozen=True)
class Access:
    """One of the few kinds of token the form offers, for the many overlapping scopes."""

    key: str
    title: str
    explanation: str
    scopes: tuple[str, ...]


ACCESS_CHOICES = (
    Access(
        "read",
        "Download",
        "Read and download your private packages: conda, pip, files and the API. "
        "For installing, CI jobs that only install, and sharing read access with a tool.",
        ("read",),
    ),
    Access(
        "write",
        "Publish",
        "Everything Download allows, and upload, change and remove packages, files and labels. "
        "For publishing from a laptop or a release job.",
        ("api:write",),
    ),
    Access(
        "all",
        "Everything",
        "All your account can do, also creating and revoking tokens and managing "
        "organizations. Rarely needed.",
        ("all",),
    ),
)
ACCESS = {choice.key: choice for choice in ACCESS_CHOICES}


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


class AccountPage(WebHandler):
    """The account page, shown by its own route and again by its forms with their errors."""

    async def show(self, status: int = 200, **extra: Any) -> None:
        context = await self.run(_account_page, self.actor)
        self.render_page(
            "account.html",
            status=status,
            scopes=tokens.SCOPES,
            access_choices=ACCESS_CHOICES,
            expiry_choices=EXPIRY_CHOICES,
            default_expiry=DEFAULT_EXPIRY_DAYS,
            **{"form_errors": {}, "values": {}, **context, **extra},
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


class AccountHandler(AccountPage):
    """``/account``: who you are, your organizations and your tokens."""

    async def get(self) -> None:
        self.require_login()
        await self.show()


class TokensHandler(AccountPage):
    """``POST /account/tokens``: create a token; its secret is shown once. A mistake in the
    form is shown on the form, with what was typed kept."""

    async def get(self) -> None:
        self.see_other("/account")

    async def submit(self, form: dict[str, list[str]]) -> None:
        self.require_login()
        values = {
            "name": self.field(form, "name"),
            "access": self.field(form, "access"),
            "scopes": form.get("scopes") or [],
            "expires_days": self.field(form, "expires_days", str(DEFAULT_EXPIRY_DAYS)),
        }
        try:
            name, scopes, days = self.token_request(values)
            _row, secret = await self.act(
                _create_token,
                self.actor,
                name=name,
                scopes=scopes,
                max_age=days * 86400,
                remote_addr=self.request.remote_ip or "",
                policy=self.repo.token_policy,
            )
        except (errors.InvalidInput, errors.Conflict) as error:
            await self.show(
                status=status_of(error), form_errors={"token": error.message}, values=values
            )
            return
        await self.show(new_token=secret, new_token_name=name)

    @staticmethod
    def token_request(values: dict[str, Any]) -> tuple[str, list[str], int]:
        """The name, scopes and lifetime asked for, or the first mistake in them."""
        name = values["name"]
        if not name:
            raise errors.InvalidInput("Give the token a name, so you can recognise it later.")
        access = values["access"]
        if access and access not in ACCESS:
            raise errors.InvalidInput("Choose what the token may do.")
        scopes = [*(ACCESS[access].scopes if access else ()), *values["scopes"]]
        if not scopes:
            raise errors.InvalidInput(
                "Choose what the token may do: Download, Publish or Everything."
            )
        try:
            days = int(values["expires_days"])
        except ValueError:
            raise errors.InvalidInput("The lifetime must be a whole number of days.") from None
        if days < 1:
            raise errors.InvalidInput("A token must live at least one day.")
        return name, tokens.normalise_scopes(scopes), days


class TokenRevokeHandler(WebHandler):
    """``POST /account/tokens/<id>/revoke``: first what revoking means, then revoking."""

    async def submit(self, form: dict[str, list[str]], token_id: str) -> None:
        self.require_login()
        token = await self.run(tokens.revocable, self.actor, token_id)
        if not self.confirmed(form):
            self.ask_to_confirm(
                form,
                Confirmation(
                    title=f"Revoke the token “{token.name}”?",
                    consequences=[
                        "Everything still using it is refused from then on: command lines, "
                        "pip and conda configurations, CI jobs, the JupyterLab extension.",
                        "This cannot be undone; you can create a new token at any time.",
                    ],
                    action=self.request.path,
                    button=f"Revoke {token.name}",
                    cancel="/account",
                ),
            )
            return
        await self.run_write(tokens.revoke_by_id, self.actor, token_id)
        self.flash(f"The token “{token.name}” is revoked: anything still using it is refused.")
        self.see_other("/account")


class OrgCreateHandler(AccountPage):
    """``POST /orgs``: create an organization; its creator becomes an owner."""

    async def submit(self, form: dict[str, list[str]]) -> None:
        self.require_login()
        values = {"login": self.field(form, "login"), "org_name": self.field(form, "name")}
        try:
            if not values["login"]:
                raise errors.InvalidInput("Give the organization a name (its login).")
            org = await self.act(
                accounts.create_org_as, self.actor, values["login"], name=values["org_name"]
            )
        except (errors.InvalidInput, errors.Conflict) as error:
            await self.show(
                status=status_of(error),
                form_errors={"org": error.message},
                values=values,
            )
            return
        self.flash(f"The organization {org.login} is created; you are one of its owners.")
        self.see_other(f"/orgs/{org.login}")
