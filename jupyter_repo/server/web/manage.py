"""Management pages: an organization's members and groups, a group's members and packages,
and a namespace's labels. Outsiders get the 404 page: they learn nothing of the insides."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.permissions import Level, account_level
from jupyter_repo.repository.services import labels, listings, orgs
from jupyter_repo.server.base import status_of
from jupyter_repo.server.web.base import Confirmation, WebHandler, path_name

PER_PAGE = 50


def group_url(org: str, group: str) -> str:
    return f"/orgs/{org}/groups/{quote(group)}"


class OrgHandler(WebHandler):
    """``/orgs/<org>``: groups and members; admins create groups."""

    async def get(self, org: str) -> None:
        await self.show(org)

    async def show(self, org: str, status: int = 200, **extra: Any) -> None:
        view = await self.run(
            listings.org_view,
            self.actor,
            path_name(names.login, org),
            page=self.int_argument("page", 1),
            per_page=self.per_page(PER_PAGE),
        )
        self.render_page(
            "org.html",
            status=status,
            view=view,
            permissions=orgs.PERMISSIONS,
            **{"form_errors": {}, "values": {}, **extra},
        )

    async def submit(self, form: dict[str, list[str]], org: str) -> None:
        org = path_name(names.login, org)
        await self.run(orgs.get_org, self.actor, org, Level.ADMIN)
        group = self.field(form, "group")
        permission = self.field(form, "permission")
        try:
            await self.act(orgs.create_group, self.actor, org, group, permission)
        except (errors.InvalidInput, errors.Conflict) as error:
            await self.show(
                org,
                status=status_of(error),
                form_errors={"group": error.message},
                values={"group": group, "permission": permission},
            )
            return
        self.flash(f"Group {group} created with {permission} permission.")
        self.see_other(group_url(org, names.group(group)))


#: Group actions: (service, form field, confirmation needed, form on the page, done message).
GROUP_ACTIONS: dict[str, tuple[Any, str, bool, str, str]] = {
    "add-member": (
        orgs.add_member,
        "login",
        False,
        "member",
        "{value} is now a member of {group}.",
    ),
    "remove-member": (
        orgs.remove_member,
        "login",
        True,
        "member",
        "{value} is no longer a member of {group}.",
    ),
    "grant": (orgs.add_package, "package", False, "package", "{group} may now use {value}."),
    "revoke": (
        orgs.remove_package,
        "package",
        True,
        "package",
        "{group} may no longer use {value}.",
    ),
}


class GroupHandler(WebHandler):
    """``/orgs/<org>/groups/<group>``: members and the packages the group may use."""

    async def get(self, org: str, group: str) -> None:
        await self.show(org, group)

    async def show(self, org: str, group: str, status: int = 200, **extra: Any) -> None:
        view = await self.run(
            listings.group_view,
            self.actor,
            path_name(names.login, org),
            path_name(names.group, group),
            members_page=self.int_argument("members_page", 1),
            packages_page=self.int_argument("packages_page", 1),
            per_page=self.per_page(PER_PAGE),
        )
        self.render_page(
            "group.html", status=status, view=view, **{"form_errors": {}, "values": {}, **extra}
        )

    async def submit(self, form: dict[str, list[str]], org: str, group: str) -> None:
        org = path_name(names.login, org)
        group = path_name(names.group, group)
        await self.run(orgs.get_group, self.actor, org, group, Level.ADMIN)
        action = self.field(form, "action")
        back = group_url(org, group)
        if action == "delete":
            if not self.confirmed(form):
                self.ask_to_confirm(
                    form,
                    Confirmation(
                        title=f"Delete the group {group} of {org}?",
                        consequences=[
                            "Its members lose the access the group gave them (they stay "
                            f"members of {org} through their other groups, if any).",
                            "The packages stay as they are. This cannot be undone.",
                        ],
                        action=back,
                        button=f"Delete group {group}",
                        cancel=back,
                    ),
                )
                return
            await self.act(orgs.delete_group, self.actor, org, group)
            self.flash(f"The group {group} is deleted.")
            self.see_other(f"/orgs/{org}")
            return
        if action not in GROUP_ACTIONS:
            raise errors.InvalidInput(f"Unknown action {action!r}.")
        function, field, confirm, form_id, done = GROUP_ACTIONS[action]
        value = self.field(form, field)
        try:
            if not value:
                raise errors.InvalidInput(f"Fill in the {field} field.")
            if confirm and not self.confirmed(form):
                what = (
                    f"{value} loses the access the group {group} gives."
                    if field == "login"
                    else f"Members of {group} can no longer use {value} through this group."
                )
                self.ask_to_confirm(
                    form,
                    Confirmation(
                        title=(
                            f"Remove {value} from {group}?"
                            if field == "login"
                            else f"Take {value} away from {group}?"
                        ),
                        consequences=[what, "You can add it back later."],
                        action=back,
                        button="Remove" if field == "login" else "Take it away",
                        cancel=back,
                    ),
                )
                return
            await self.act(function, self.actor, org, group, value)
        except (errors.InvalidInput, errors.Conflict) as error:
            await self.show(
                org,
                group,
                status=status_of(error),
                form_errors={form_id: error.message},
                values={field: value},
            )
            return
        self.flash(done.format(value=value, group=group))
        self.see_other(back)


class LabelsHandler(WebHandler):
    """``/labels/<owner>``: a namespace's labels; lock, unlock, copy, remove."""

    async def get(self, owner: str) -> None:
        await self.show(path_name(names.login, owner))

    async def show(self, login: str, status: int = 200, **extra: Any) -> None:
        def load(session: Session) -> dict[str, Any]:
            account = listings.manageable_account(session, self.actor, login, Level.WRITE)
            return {
                "account": account,
                "labels": labels.summary(session, self.actor, login),
                "is_admin": account_level(session, self.actor, account) >= Level.ADMIN,
            }

        self.render_page(
            "labels.html",
            status=status,
            **await self.run(load),
            **{"form_errors": {}, "values": {}, **extra},
        )

    async def submit(self, form: dict[str, list[str]], owner: str) -> None:
        login = path_name(names.login, owner)
        await self.run(listings.manageable_account, self.actor, login, Level.WRITE)
        action = self.field(form, "action")
        label = self.field(form, "label")
        target = self.field(form, "to_label")
        back = f"/labels/{login}"
        try:
            if not label:
                raise errors.InvalidInput("Name the label.")
            if action in ("lock", "unlock"):
                await self.act(labels.set_locked, self.actor, login, label, action == "lock")
                done = f"Label {label} is {action}ed."
            elif action == "remove":
                if not self.confirmed(form):
                    self.ask_to_confirm(
                        form,
                        Confirmation(
                            title=f"Remove the label {label} from every file of {login}?",
                            consequences=[
                                "The files stay (and keep their other labels), but the "
                                f"channel and index of label {label} become empty: installs "
                                "that name the label will no longer find anything.",
                                "To undo it, add the label to the files again.",
                            ],
                            action=back,
                            button=f"Remove label {label}",
                            cancel=back,
                        ),
                    )
                    return
                await self.act(labels.remove_files, self.actor, login, label)
                done = f"Label {label} removed from every file of {login}."
            elif action == "copy":
                if not target:
                    raise errors.InvalidInput("Name the label to copy to.")
                await self.act(labels.copy_label, self.actor, login, label, target)
                done = f"Every file of label {label} now also has label {target}."
            else:
                raise errors.InvalidInput(f"Unknown action {action!r}.")
        except (errors.InvalidInput, errors.Conflict) as error:
            await self.show(
                login,
                status=status_of(error),
                form_errors={"copy" if action == "copy" else "labels": error.message},
                values={"label": label, "to_label": target},
            )
            return
        self.flash(done)
        self.see_other(back)
