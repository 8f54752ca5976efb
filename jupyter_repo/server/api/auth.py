"""Users, logins and tokens: ``/user``, ``/authentications``, ``/scopes``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.services import accounts, tokens
from jupyter_repo.server.api import representations as rep
from jupyter_repo.server.base import BaseHandler


class ApiRootHandler(BaseHandler):
    """``HEAD /api`` (anaconda-client's server check) and ``GET /api`` (URLs of the site)."""

    async def get(self) -> None:
        urls = rep.Urls(self.base_url())
        self.write_json(
            {
                "status": "ok",
                "brand": "jupyter-repo",
                "api_url": urls.api,
                "conda_url": urls.base + "/conda",
                "pypi_url": urls.base + "/pypi",
                "main_url": urls.base,
                "api_docs_url": urls.base + "/api/openapi.json",
                "swagger_url": urls.base + "/api/openapi.json",
            }
        )


class AuthenticationTypeHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json({"authentication_type": "password"})


class ScopesHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json({name: description for name, (description, _) in tokens.SCOPES.items()})


class AuthenticationsHandler(BaseHandler):
    """Create (log in), list and remove tokens."""

    allow_password_auth = True

    async def post(self) -> None:
        if self.actor.anonymous:
            raise errors.Unauthenticated("Log in with your username and password (HTTP Basic).")
        body = self.json_body()
        max_age = body.get("max-age", body.get("max_age"))
        if isinstance(max_age, str) and max_age.isdigit():
            max_age = int(max_age)
        policy = self.repo.token_policy

        def create(session: Session) -> dict[str, Any]:
            row, secret = tokens.create_token(
                session,
                self.actor,
                name=str(body.get("note") or body.get("name") or "token"),
                scopes=body.get("scopes"),
                max_age=max_age,
                org=body.get("user") or body.get("org") or None,
                package=body.get("package") or None,
                label=body.get("label") or None,
                remote_addr=self.request.remote_ip or "",
                hostname=str(body.get("hostname") or ""),
                fail_if_exists=bool(body.get("fail-if-exists", False)),
                policy=policy,
            )
            return {**rep.token(row), "token": secret}

        self.write_json(await self.run_write(create))

    async def get(self) -> None:
        rows = await self.run(lambda s: [rep.token(t) for t in tokens.list_tokens(s, self.actor)])
        self.write_json(rows)

    async def delete(self) -> None:
        await self.run_write(tokens.revoke_current, self.actor)
        self.set_status(201)
        self.finish()


class AuthenticationHandler(BaseHandler):
    """``GET /authentication``: the token used for this request."""

    async def get(self) -> None:
        self.write_json(await self.run(lambda s: rep.token(tokens.current_token(s, self.actor))))


class AuthenticationByNameHandler(BaseHandler):
    async def delete(self, name: str, org: str | None = None) -> None:
        await self.run_write(tokens.revoke_by_name, self.actor, name, org)
        self.set_status(201)
        self.finish()


class OrgAuthenticationByNameHandler(AuthenticationByNameHandler):
    async def delete(self, org: str, name: str) -> None:  # type: ignore[override]
        await super().delete(name, org)


class CurrentUserHandler(BaseHandler):
    """``GET /user``: who am I."""

    allow_password_auth = True

    async def get(self) -> None:
        self.actor.require_user()

        def describe(session: Session) -> dict[str, Any]:
            account = accounts.actor_user(session, self.actor)
            data = rep.user(account)
            data["email"] = account.email
            data["orgs"] = [org.login for org in accounts.user_orgs(session, account)]
            if self.actor.token_id:
                token = tokens.current_token(session, self.actor)
                data["token_scopes"] = list(token.scopes)
            return data

        self.write_json(await self.run(describe))


class CurrentUserOrgsHandler(BaseHandler):
    async def get(self) -> None:
        self.actor.require_user()

        def orgs(session: Session) -> list[dict[str, Any]]:
            account = accounts.actor_user(session, self.actor)
            return [
                {"login": org.login, "name": org.name, "description": org.description}
                for org in accounts.user_orgs(session, account)
            ]

        self.write_json(await self.run(orgs))


class NamespacesHandler(BaseHandler):
    """``GET /namespaces``: the caller's own namespace and the organizations they may publish
    to (what a "publish to" picker offers)."""

    async def get(self) -> None:
        self.actor.require_user()
        self.write_json(
            await self.run(
                lambda s: [
                    {"login": account.login, "kind": account.kind, "name": account.name}
                    for account in accounts.writable_namespaces(s, self.actor)
                ]
            )
        )


class UserHandler(BaseHandler):
    """``GET /user/<login>``: any user or organization (404 with the client's wording)."""

    async def get(self, login: str) -> None:
        self.write_json(await self.run(lambda s: rep.user(accounts.get_account(s, login))))


class UserOrgsHandler(BaseHandler):
    async def get(self, login: str) -> None:
        def orgs(session: Session) -> list[dict[str, Any]]:
            return [
                {"login": org.login, "name": org.name}
                for org in accounts.orgs_seen_by(session, self.actor, login)
            ]

        self.write_json(await self.run(orgs))


class OrgsHandler(BaseHandler):
    """``POST /orgs/<name>``: a logged-in user creates an organization."""

    async def post(self, login: str) -> None:
        body = self.json_body()
        org = await self.run_write(
            lambda s: rep.user(
                accounts.create_org_as(
                    s,
                    self.actor,
                    login,
                    name=str(body.get("name") or ""),
                    description=str(body.get("description") or ""),
                )
            ),
        )
        self.write_json(org, status=201)
