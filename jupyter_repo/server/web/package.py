"""The package page (versions, files per label and platform, install instructions) and the
forms its writers use (visibility, labels of files, yanking)."""

from __future__ import annotations

from urllib.parse import quote

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.permissions import Level
from jupyter_repo.repository.services import labels, listings, packages, yanking
from jupyter_repo.server.web.base import WebHandler, path_name
from jupyter_repo.server.web.browse import TYPE_LABELS
from jupyter_repo.server.web.descriptions import render_description
from jupyter_repo.server.web.file_pages import attached_environment
from jupyter_repo.server.web.install import instructions

FILES_PER_PAGE = 50


def package_url(owner: str, name: str) -> str:
    return f"/{owner}/{quote(name)}"


class PackageHandler(WebHandler):
    """``/<owner>/<package>``."""

    async def get(self, owner: str, name: str) -> None:
        login = path_name(names.login, owner)
        name = path_name(names.package, name)
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
            per_page=FILES_PER_PAGE,
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
            d=detail,
            install=install,
            filters=filters,
            type_labels=TYPE_LABELS,
            description=description,
        )


def notebook_environment(detail: listings.PackageDetail) -> tuple[str, str] | None:
    """The environment the newest notebook shown names, if its names are valid."""
    notebook = next((row for row in detail.files.items if row.distribution_type == "ipynb"), None)
    found = attached_environment(notebook.environment) if notebook else None
    return (found["owner"], found["name"]) if found else None


class PackageSettingsHandler(WebHandler):
    """``POST /<owner>/<package>/settings``: visibility, the labels of files, yanking."""

    async def submit(self, form: dict[str, list[str]], owner: str, name: str) -> None:
        login = path_name(names.login, owner)
        name = path_name(names.package, name)
        package = await self.run(packages.get_package, self.actor, login, name, Level.WRITE)
        action = self.field(form, "action")
        if action == "visibility":
            public = self.field(form, "public")
            if public not in ("0", "1"):
                raise errors.InvalidInput("Choose public (1) or private (0).")
            await self.act(packages.set_visibility, self.actor, login, name, public == "1")
        elif action in ("add-label", "remove-label"):
            label = self.field(form, "label")
            target = labels.FileSelection(
                package.name,
                self.field(form, "version") or None,
                self.field(form, "basename") or None,
            )
            if not label:
                raise errors.InvalidInput("Name the label.")
            if action == "add-label":
                await self.act(labels.add_files, self.actor, login, label, target)
            else:
                await self.act(labels.remove_files, self.actor, login, label, target)
        elif action in ("yank", "unyank"):
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
        else:
            raise errors.InvalidInput(f"Unknown action {action!r}.")
        self.see_other(package_url(login, package.name))
