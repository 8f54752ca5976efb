"""The package page (versions, files per label and platform, install instructions) and the
forms its writers use (visibility, labels of files, yanking)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.models import Package
from jupyter_repo.repository.permissions import Level
from jupyter_repo.repository.services import labels, listings, packages, yanking
from jupyter_repo.server.base import status_of
from jupyter_repo.server.web.base import Confirmation, WebHandler, path_name
from jupyter_repo.server.web.browse import TYPE_LABELS
from jupyter_repo.server.web.descriptions import render_description
from jupyter_repo.server.web.file_pages import attached_environment
from jupyter_repo.server.web.install import instructions

FILES_PER_PAGE = 50


def package_url(owner: str, name: str) -> str:
    return f"/{owner}/{quote(name)}"


class PackagePage(WebHandler):
    """The package page, shown by its route and again by its settings forms (with errors)."""

    async def show_package(self, login: str, name: str, status: int = 200, **extra: Any) -> None:
        filters = {
            "label": self.text_argument("label"),
            "platform": self.text_argument("platform"),
            "version": self.text_argument("version"),
        }
        detail = await self.run(
            listings.package_detail,
            self.actor,
            login,
            name,
            page=self.int_argument("page", 1),
            per_page=self.per_page(FILES_PER_PAGE),
            **filters,
        )
        install = instructions(
            self.base_url(),
            detail.owner.login,
            detail.package.name,
            public=detail.package.public,
            type_labels=detail.type_labels,
            environment=notebook_environment(detail),
        )
        description = None
        if detail.description:
            description = await self.run_blocking(
                render_description, detail.description, detail.description_content_type
            )
        self.render_page(
            "package.html",
            status=status,
            d=detail,
            install=install,
            filters=filters,
            type_labels=TYPE_LABELS,
            **{"form_errors": {}, "values": {}, **extra},
            description=description,
        )


class PackageHandler(PackagePage):
    """``/<owner>/<package>``."""

    async def get(self, owner: str, name: str) -> None:
        await self.show_package(path_name(names.login, owner), path_name(names.package, name))


def notebook_environment(detail: listings.PackageDetail) -> tuple[str, str] | None:
    """The environment the newest notebook shown names, if its names are valid."""
    notebook = next((row for row in detail.files.items if row.distribution_type == "ipynb"), None)
    found = attached_environment(notebook.environment) if notebook else None
    return (found["owner"], found["name"]) if found else None


#: The form on the package page each action comes from (where its mistakes are shown).
FORM_OF_ACTION = {
    "visibility": "visibility",
    "add-label": "labels",
    "remove-label": "labels",
    "yank": "yank",
    "unyank": "yank",
}


class PackageSettingsHandler(PackagePage):
    """``POST /<owner>/<package>/settings``: visibility, the labels of files, yanking.

    Making a package private or public and removing a label are confirmed first, on a page
    saying what follows; a mistake in a form is shown on the package page, on that form."""

    async def submit(self, form: dict[str, list[str]], owner: str, name: str) -> None:
        login = path_name(names.login, owner)
        name = path_name(names.package, name)
        package = await self.run(packages.get_package, self.actor, login, name, Level.WRITE)
        action = self.field(form, "action")
        try:
            done = await self.change(form, login, package, action)
        except (errors.InvalidInput, errors.Conflict, errors.Forbidden) as error:
            values = {
                key: self.field(form, key) for key in ("label", "version", "basename", "reason")
            }
            await self.show_package(
                login,
                package.name,
                status=status_of(error),
                form_errors={FORM_OF_ACTION.get(action, "visibility"): error.message},
                values=values,
            )
            return
        if done:
            self.flash(done)
            self.see_other(package_url(login, package.name))

    async def change(
        self, form: dict[str, list[str]], login: str, package: Package, action: str
    ) -> str | None:
        """Carry out ``action``; what happened, or None when a confirmation page was shown."""
        back = package_url(login, package.name)
        if action == "visibility":
            public = self.field(form, "public")
            if public not in ("0", "1"):
                raise errors.InvalidInput("Choose public (1) or private (0).")
            if not self.confirmed(form):
                self.ask_to_confirm(
                    form, visibility_confirmation(login, package.name, public == "1", back)
                )
                return None
            await self.act(packages.set_visibility, self.actor, login, package.name, public == "1")
            return f"{login}/{package.name} is now {'public' if public == '1' else 'private'}."
        if action in ("add-label", "remove-label"):
            label = self.field(form, "label")
            version = self.field(form, "version") or None
            basename = self.field(form, "basename") or None
            if not label:
                raise errors.InvalidInput("Name the label.")
            target = labels.FileSelection(package.name, version, basename)
            which = basename or (f"every file of version {version}" if version else "every file")
            if action == "add-label":
                await self.act(labels.add_files, self.actor, login, label, target)
                return f"Label {label} added to {which} of {package.name}."
            if not self.confirmed(form):
                self.ask_to_confirm(
                    form,
                    Confirmation(
                        title=f"Remove the label {label} from {which} of {package.name}?",
                        consequences=[
                            f"The files stay, but the channel and index of label {label} "
                            f"({login}/label/{label}) stop offering them: installs that "
                            "name that label will no longer find them.",
                            "You can add the label again later.",
                        ],
                        action=self.request.path,
                        button=f"Remove label {label}",
                        cancel=back,
                    ),
                )
                return None
            await self.act(labels.remove_files, self.actor, login, label, target)
            return f"Label {label} removed from {which} of {package.name}."
        if action in ("yank", "unyank"):
            version = self.field(form, "version")
            if not version:
                raise errors.InvalidInput("Name the version to yank or un-yank.")
            await self.act(
                yanking.set_yanked,
                self.actor,
                login,
                package.name,
                version,
                basename=self.field(form, "basename") or None,
                yanked=action == "yank",
                reason=self.field(form, "reason"),
            )
            state = "yanked" if action == "yank" else "no longer yanked"
            return f"Version {version} of {package.name} is {state}."
        raise errors.InvalidInput(f"Unknown action {action!r}.")


def visibility_confirmation(login: str, name: str, public: bool, back: str) -> Confirmation:
    if public:
        return Confirmation(
            title=f"Make {login}/{name} public?",
            consequences=[
                "Everyone, also people without an account, can then see the package and "
                "download every one of its files, through this site, conda and pip.",
            ],
            action=f"{back}/settings",
            button="Make it public",
            cancel=back,
        )
    return Confirmation(
        title=f"Make {login}/{name} private?",
        consequences=[
            "Only you and the people and groups given access can then see it or download "
            "its files; everyone else gets “not found”.",
            "Installs by anyone without access (including anonymous conda and pip "
            "configurations and CI jobs without a token) will fail.",
        ],
        action=f"{back}/settings",
        button="Make it private",
        cancel=back,
    )
