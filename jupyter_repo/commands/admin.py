"""``jupyter repo admin ...``: manage a server that has no web UI at hand."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session
from traitlets import Bool, List, Unicode

from jupyter_repo.commands.base import RepoCommand, repository_aliases
from jupyter_repo.repository import errors
from jupyter_repo.repository.permissions import Actor, Level
from jupyter_repo.repository.services import accounts, orgs, tokens

T = TypeVar("T")
P = ParamSpec("P")


class _AdminCommand(RepoCommand):
    usage = ""

    def positional(self, count: int) -> list[str]:
        if len(self.extra_args) != count:
            self.fail(f"usage: jupyter repo admin {self.usage}")
        return list(self.extra_args)

    def act(
        self, function: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        repo = self.make_repository()
        try:
            return repo.write(function, *args, **kwargs)
        except errors.RepositoryError as error:
            self.fail(error.message)
        finally:
            repo.close()

    def password(self, prompt: str) -> str:
        value = self.password_value or os.environ.get("JUPYTER_REPO_PASSWORD", "")
        if not value:
            value = getpass.getpass(prompt)
        return value

    password_value = Unicode("", help="The password (else JUPYTER_REPO_PASSWORD or a prompt).").tag(
        config=True
    )


class CreateUserApp(_AdminCommand):
    name = "jupyter-repo-admin-create-user"
    description = "Create a user: jupyter repo admin create-user LOGIN [--password P] [--admin]"
    usage = "create-user LOGIN [--password PASSWORD] [--admin] [--email EMAIL]"
    aliases = {
        **repository_aliases,
        "password": "CreateUserApp.password_value",
        "email": "CreateUserApp.email",
        "name": "CreateUserApp.full_name",
    }
    flags = {
        **RepoCommand.flags,
        "admin": ({"CreateUserApp": {"site_admin": True}}, "Make the user a site admin."),
    }
    site_admin = Bool(False).tag(config=True)
    email = Unicode("").tag(config=True)
    full_name = Unicode("").tag(config=True)

    def start(self) -> None:
        (login,) = self.positional(1)
        password = self.password(f"Password for {login}: ")
        self.act(
            lambda s: accounts.create_user(
                s,
                login,
                password,
                name=self.full_name,
                email=self.email,
                is_site_admin=self.site_admin,
            )
        )
        print(f"created user {login.lower()}")


class CreateOrgApp(_AdminCommand):
    name = "jupyter-repo-admin-create-org"
    description = "Create an organization owned by a user: create-org ORG --owner USER"
    usage = "create-org ORG --owner USER"
    aliases = {**repository_aliases, "owner": "CreateOrgApp.owner"}
    owner = Unicode("").tag(config=True)

    def start(self) -> None:
        (login,) = self.positional(1)
        if not self.owner:
            self.fail("usage: jupyter repo admin create-org ORG --owner USER")
        self.act(lambda s: accounts.create_org(s, login, accounts.get_user(s, self.owner)))
        print(f"created organization {login.lower()} owned by {self.owner}")


class SetPasswordApp(_AdminCommand):
    name = "jupyter-repo-admin-set-password"
    description = "Set a user's password: set-password LOGIN [--password P]"
    usage = "set-password LOGIN [--password PASSWORD]"
    aliases = {**repository_aliases, "password": "SetPasswordApp.password_value"}

    def start(self) -> None:
        (login,) = self.positional(1)
        password = self.password(f"New password for {login}: ")
        self.act(lambda s: accounts.set_password(s, accounts.get_user(s, login), password))
        print(f"password of {login} changed")


class AddMemberApp(_AdminCommand):
    name = "jupyter-repo-admin-add-member"
    description = "Add a user to an organization's group: add-member ORG GROUP USER"
    usage = "add-member ORG GROUP USER [--permission read|write|admin]"
    aliases = {**repository_aliases, "permission": "AddMemberApp.permission"}
    permission = Unicode("read", help="Permission of the group if it is created.").tag(config=True)

    def start(self) -> None:
        org, group, login = self.positional(3)

        def add(session: Session) -> None:
            owner = _org_admin(session, org)
            orgs.create_group(session, owner, org, group, self.permission) if not _has_group(
                session, owner, org, group
            ) else None
            orgs.add_member(session, owner, org, group, login)

        self.act(add)
        print(f"added {login} to {org}/{group}")


class IssueTokenApp(_AdminCommand):
    name = "jupyter-repo-admin-issue-token"
    description = "Issue a token for a user: issue-token USER [--scopes all] [--name N]"
    usage = "issue-token USER [--scopes SCOPE ...] [--name NAME] [--max-age SECONDS]"
    aliases = {
        **repository_aliases,
        "scopes": "IssueTokenApp.scopes",
        "name": "IssueTokenApp.token_name",
        "max-age": "IssueTokenApp.max_age",
    }
    scopes = List(Unicode(), ["all"]).tag(config=True)
    token_name = Unicode("admin-issued").tag(config=True)
    max_age = Unicode("").tag(config=True)

    def start(self) -> None:
        (login,) = self.positional(1)
        repo = self.make_repository()

        def issue(session: Session) -> str:
            user = accounts.get_user(session, login)
            _row, secret = tokens.create_token(
                session,
                accounts.password_actor(user),
                name=self.token_name,
                scopes=list(self.scopes),
                max_age=int(self.max_age) if self.max_age else None,
                policy=repo.token_policy,
            )
            return secret

        try:
            secret = repo.write(issue)
        except (errors.RepositoryError, ValueError) as error:
            self.fail(getattr(error, "message", str(error)))
        finally:
            repo.close()
        print(secret)


def _org_admin(session: Session, org: str) -> Actor:
    """Act as the organization itself would: a site-level actor for admin commands."""
    account = accounts.get_account(session, org)
    if not account.is_org:
        raise errors.InvalidInput(f"{org} is not an organization.")
    return Actor(user_id=-1, login="admin", is_site_admin=True, cap=Level.ADMIN)


def _has_group(session: Session, actor: Actor, org: str, group: str) -> bool:
    try:
        orgs.get_group(session, actor, org, group)
        return True
    except errors.NotFound:
        return False


class AdminApp(RepoCommand):
    name = "jupyter-repo-admin"
    description = "Administration commands for a repository server."
    subcommands = {
        "create-user": (CreateUserApp, CreateUserApp.description),
        "create-org": (CreateOrgApp, CreateOrgApp.description),
        "set-password": (SetPasswordApp, SetPasswordApp.description),
        "add-member": (AddMemberApp, AddMemberApp.description),
        "issue-token": (IssueTokenApp, IssueTokenApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("Choose an admin command: " + ", ".join(self.subcommands))
            self.exit(1)
        super().start()
