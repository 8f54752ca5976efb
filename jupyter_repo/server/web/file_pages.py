"""One file's page (a rendered notebook, an environment, a project, any other file) and its
download for browsers (which carry a session cookie rather than a token)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.services import downloads, listings, project_members
from jupyter_repo.server.files import IMMUTABLE, BlobInfo, send_blob
from jupyter_repo.server.web.base import WebHandler, path_name
from jupyter_repo.server.web.browse import TYPE_LABELS
from jupyter_repo.server.web.install import (
    TOKEN_PLACEHOLDER,
    anaconda_commands,
    jupyter_repo_commands,
)
from jupyter_repo.server.web.previews import NotebookPreviews
from jupyter_repo.server.web.templating import path_quote

SPEC_DISPLAY_LIMIT = 1 << 20
PROJECT_FILES_PER_PAGE = 200
#: Seconds after which a "being rendered" notebook page reloads itself.
PENDING_REFRESH = 3


def _path_names(owner: str, name: str, version: str, basename: str) -> tuple[str, ...]:
    return (
        path_name(names.login, owner),
        path_name(names.package, name),
        path_name(names.version, version),
        basename,
    )


class FilePageHandler(WebHandler):
    """``/<owner>/<package>/files/<version>/<basename>``."""

    async def get(self, owner: str, name: str, version: str, basename: str) -> None:
        view = await self.run(
            listings.file_view, self.actor, *_path_names(owner, name, version, basename)
        )
        context: dict[str, Any] = {
            "f": view,
            "type_labels": TYPE_LABELS,
            "raw_url": raw_path(view),
        }
        if view.distribution_type == "ipynb":
            await self.notebook(view, context)
            return
        if view.distribution_type in ("env", "project"):
            context["spec_text"] = await self.spec_text(view)
            context["commands"] = self.environment_commands(view)
            if view.distribution_type == "project":
                files = list(view.attrs.get("files") or [])
                member_path = self.get_query_argument("path", None)
                if member_path is not None:
                    context["member"] = await self.run_blocking(
                        project_members.read_member,
                        self.repo,
                        view.blob_key,
                        view.filename,
                        files,
                        member_path,
                    )
                page = self.int_argument("page", 1)
                per_page = self.per_page(PROJECT_FILES_PER_PAGE)
                listings.check_page(page, per_page)
                start = (page - 1) * per_page
                context["project_files"] = listings.Page(
                    files[start : start + per_page], len(files), page, per_page
                )
        self.render_page(
            f"file_{view.distribution_type}.html"
            if view.distribution_type in ("env", "project")
            else "file_other.html",
            **context,
        )

    async def notebook(self, view: listings.FileView, context: dict[str, Any]) -> None:
        """The notebook's page: its rendered cells, or why not, or "being rendered"."""
        previews: NotebookPreviews = self.settings["notebook_previews"]
        preview = await previews.preview(view.sha256, view.blob_key, view.size, view.filename)
        context["environment"] = attached_environment(view.attrs.get("environment"))
        context["preview"] = preview
        if preview.pending:
            self.set_header("Refresh", str(PENDING_REFRESH))
            context["refresh_seconds"] = PENDING_REFRESH
        if preview.html is None:
            self.render_page("file_ipynb.html", **context)
        else:  # written as it is: one copy in memory, however many people read it
            await self.render_page_around("file_ipynb.html", preview.html, **context)

    async def spec_text(self, view: listings.FileView) -> str | None:
        if view.distribution_type == "project":
            return str(view.attrs.get("spec_text") or "") or None
        if view.size > SPEC_DISPLAY_LIMIT:
            return None
        data = await self.run_blocking(read_blob, self.repo, view.blob_key, SPEC_DISPLAY_LIMIT)
        return data.decode("utf-8", "replace")

    def environment_commands(self, view: listings.FileView) -> list[tuple[str, list[str]]]:
        """How to create the environment, by the format of its spec."""
        # pip and curl cannot send a token header from a requirements line or a copied
        # command, so a private file's URL carries the token in its path (/t/<token>/).
        root = self.base_url().rstrip("/") + ("" if view.public else f"/t/{TOKEN_PLACEHOLDER}")
        download = root + download_path(view)
        owner, package = view.owner.login, view.package.name
        spec_format = view.attrs.get("format") or (view.attrs.get("spec") or {}).get("format")
        result: list[tuple[str, list[str]]] = [
            (
                "jupyter repo",
                jupyter_repo_commands(
                    self.base_url(), owner, package, [view.distribution_type], public=view.public
                ),
            ),
        ]
        if view.distribution_type == "project":
            anaconda = anaconda_commands(self.base_url(), owner, package, public=view.public)
            unpack = "unzip" if view.filename.lower().endswith(".zip") else "tar -xf"
            result.append(("anaconda CLI", [*anaconda, f"{unpack} {view.filename}"]))
            return result
        if spec_format == "environment.yml":
            result.append(
                (
                    "conda",
                    [
                        f"curl -fsSLo {view.filename} {download}",
                        f"conda env create --file {view.filename}",
                    ],
                )
            )
        elif spec_format == "explicit":
            result.append(
                (
                    "conda",
                    [
                        f"curl -fsSLo {view.filename} {download}",
                        f"conda create --name {package} --file {view.filename}",
                    ],
                )
            )
        elif spec_format == "requirements.txt":
            result.append(("pip", ["python -m venv .venv", f".venv/bin/pip install -r {download}"]))
        return result


def attached_environment(recorded: Any) -> dict[str, str] | None:
    """The environment a notebook names in its metadata, if the names are valid."""
    if not isinstance(recorded, dict):
        return None
    try:
        owner = names.login(str(recorded.get("owner", "")))
        name = names.package(str(recorded.get("name", "")))
        version = names.version(str(recorded["version"])) if recorded.get("version") else ""
    except errors.InvalidInput:
        return None
    url = f"/{owner}/{path_quote(name)}" + (f"?version={path_quote(version)}" if version else "")
    return {"owner": owner, "name": name, "version": version, "url": url}


def download_path(view: listings.FileView) -> str:
    return (
        f"/{view.owner.login}/{path_quote(view.package.name)}/download/"
        f"{path_quote(view.version)}/{path_quote(view.basename)}"
    )


class FileDownloadHandler(WebHandler):
    """``/<owner>/<package>/download/<version>/<basename>``: the bytes, as an attachment."""

    async def get(self, owner: str, name: str, version: str, basename: str) -> None:
        owner, name, version, basename = _path_names(owner, name, version, basename)

        def locate(session: Session) -> tuple[BlobInfo, bool]:
            file, public = downloads.locate(session, self.actor, owner, name, version, basename)
            info = BlobInfo(
                file.blob.key,
                file.size,
                file.sha256,
                file.filename,
                file.upload_time,
                file_id=file.id,
            )
            return info, public

        blob, public = await self.run(locate)
        await send_blob(self, blob, cache_control=IMMUTABLE if public else "private, max-age=0")


#: File types whose bytes are text worth reading in the browser ("View raw").
RAW_TYPES = ("ipynb", "env")


class FileRawHandler(WebHandler):
    """``/<owner>/<package>/raw/<version>/<basename>``: a notebook's or an environment's
    text as plain text in the browser (never rendered: text/plain, nosniff, the pages' CSP)."""

    async def get(self, owner: str, name: str, version: str, basename: str) -> None:
        owner, name, version, basename = _path_names(owner, name, version, basename)

        def locate(session: Session) -> tuple[BlobInfo, bool]:
            file, public = downloads.locate(session, self.actor, owner, name, version, basename)
            if file.distribution_type not in RAW_TYPES:
                raise errors.NotFound("No raw view of this file.")
            return BlobInfo(
                file.blob.key,
                file.size,
                file.sha256,
                file.filename,
                file.upload_time,
                content_type="text/plain; charset=utf-8",
            ), public

        blob, public = await self.run(locate)
        await send_blob(
            self,
            blob,
            cache_control=IMMUTABLE if public else "private, max-age=0",
            attachment=False,
            presign=False,
        )


def raw_path(view: listings.FileView) -> str | None:
    if view.distribution_type not in RAW_TYPES:
        return None
    return (
        f"/{view.owner.login}/{path_quote(view.package.name)}/raw/"
        f"{path_quote(view.version)}/{path_quote(view.basename)}"
    )


def read_blob(repo: Repository, key: str, limit: int) -> bytes:
    """The whole blob (a small file such as an environment spec, at most ``limit`` bytes).
    Blocking."""
    chunks = []
    size = 0
    for chunk in repo.store.open_range(key, 0, limit + 1):
        size += len(chunk)
        if size > limit:
            raise errors.TooLarge(f"The file is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
