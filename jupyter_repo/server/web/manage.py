"""Management pages: an organization's members and groups, a group's members and packages,
and a namespace's labels. Outsiders get the 404 page: they learn nothing of the insides."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.permissions import Level, account_level
from jupyter_repo.repository.services import labels, listings, orgs
from jupyter_repo.server.web.base import WebHandler, path_name

PER_PAGE = 50


def group_url(org: str, group: str) -> str:
    return f"/orgs/{org}/groups/{quote(group)}"


class OrgHandler(WebHandler):
    """``/orgs/<org>``: groups and members; admins create groups."""

    async def get(self, org: str) -> None:
        view = await self.run(
            listings.org_view,
            self.actor,
            path_name(names.login, org),
            page=self.int_argument("page", 1),
            per_page=PER_PAGE,
        )
        self.render_page("org.html", view=view, permissions=orgs.PERMISSIONS)

    async def submit(self, form: dict[str, list[str]], org: str) -> None:
        org = path_name(names.login, org)
        await self.run(orgs.get_org, self.actor, org, Level.ADMIN)
        group = self.field(form, "group")
        await self.act(orgs.create_group, self.actor, org, group, self.field(form, "permission"))
        self.see_other(group_url(org, names.group(group)))


class GroupHandler(WebHandler):
    """``/orgs/<org>/groups/<group>``: members and the packages the group may use."""

    async def get(self, org: str, group: str) -> None:
        view = await self.run(
            listings.group_view,
            self.actor,
            path_name(names.login, org),
            path_name(names.group, group),
            members_page=self.int_argument("members_page", 1),
            packages_page=self.int_argument("packages_page", 1),
            per_page=PER_PAGE,
        )
        self.render_page("group.html", view=view)

    async def submit(self, form: dict[str, list[str]], org: str, group: str) -> None:
        org = path_name(names.login, org)
        group = path_name(names.group, group)
        await self.run(orgs.get_group, self.actor, org, group, Level.ADMIN)
        action = self.field(form, "action")
        actions: dict[str, tuple[Any, str]] = {
            "add-member": (orgs.add_member, "login"),
            "remove-member": (orgs.remove_member, "login"),
            "grant": (orgs.add_package, "package"),
            "revoke": (orgs.remove_package, "package"),
        }
        if action == "delete":
            await self.act(orgs.delete_group, self.actor, org, group)
            self.see_other(f"/orgs/{org}")
            return
        if action not in actions:
            raise errors.InvalidInput(f"Unknown action {action!r}.")
        function, field = actions[action]
        value = self.field(form, field)
        if not value:
            raise errors.InvalidInput(f"Fill in the {field} field.")
        await self.act(function, self.actor, org, group, value)
        self.see_other(group_url(org, group))


class LabelsHandler(WebHandler):
    """``/labels/<owner>``: a namespace's labels; lock, unlock, copy, remove."""

    async def get(self, owner: str) -> None:
        login = path_name(names.login, owner)

        def load(session: Session) -> dict[str, Any]:
            account = listings.manageable_account(session, self.actor, login, Level.WRITE)
            return {
                "account": account,
                "labels": labels.summary(session, self.actor, login),
                "is_admin": account_level(session, self.actor, account) >= Level.ADMIN,
            }

        self.render_page("labels.html", **await self.run(load))

    async def submit(self, form: dict[str, list[str]], owner: str) -> None:
        login = path_name(names.login, owner)
        await self.run(listings.manageable_account, self.actor, login, Level.WRITE)
        action = self.field(form, "action")
        label = self.field(form, "label")
        if not label:
            raise errors.InvalidInput("Name the label.")
        if action in ("lock", "unlock"):
            await self.act(labels.set_locked, self.actor, login, label, action == "lock")
        elif action == "remove":
            await self.act(labels.remove_files, self.actor, login, label)
        elif action == "copy":
            target = self.field(form, "to_label")
            if not target:
                raise errors.InvalidInput("Name the label to copy to.")
            await self.act(labels.copy_label, self.actor, login, label, target)
        else:
            raise errors.InvalidInput(f"Unknown action {action!r}.")
        self.see_other(f"/labels/{login}")
