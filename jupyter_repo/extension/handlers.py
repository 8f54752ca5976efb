"""The extension's REST endpoints under ``<base_url>/jupyter-repo/`` (see
``docs/jupyter-extension.md``). Every method is ``@tornado.web.authenticated`` and
``@authorized`` on the ``jupyter_repo`` resource, so Jupyter's own login, XSRF checks and
authorizer apply; handlers only parse, delegate and answer."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from jupyter_repo.client import errors
from jupyter_repo.extension import bodies, operations
from jupyter_repo.extension.app import RepoExtension
from jupyter_repo.extension.tasks import Task

AUTH_RESOURCE = "jupyter_repo"
PREFIX = "jupyter-repo"


class RepoHandler(ExtensionHandlerMixin, APIHandler):
    """Common ground: the extension, JSON bodies, and repository errors as JSON answers."""

    auth_resource = AUTH_RESOURCE

    @property
    def ext(self) -> RepoExtension:
        return self.extensionapp  # type: ignore[return-value]

    def body(self) -> dict[str, Any]:
        return bodies.parse(self.request.body)

    def reply(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(value)

    def start_task(self, kind: str, work: Any) -> None:
        task = self.ext.tasks.start(kind, work)
        location = self.ext.server.base_url.rstrip("/") + f"/{PREFIX}/tasks/{task.id}"
        self.set_header("Location", location)
        self.reply({"task_id": task.id, "location": f"/{PREFIX}/tasks/{task.id}"}, 202)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, errors.ClientError):
            self.log.info("jupyter-repo: %s (%s)", value.message, value.reason)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """``{"message", "reason"}`` for repository errors and Jupyter's own (a missing
        file in the contents, XSRF...), so callers can always switch on ``reason``: it is
        always one of ``errors.REASONS`` (Jupyter's own free-form reasons, such as the
        contents manager's "bad type", are replaced by the code of their status)."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, errors.ClientError):
            self.set_status(error.status)
            self.finish({"message": error.message, "reason": error.reason})
            return
        log_message = error.log_message if isinstance(error, web.HTTPError) else None
        if status_code < 500:
            kind = errors.BY_STATUS.get(status_code, errors.BadRequest)
            self.finish({"message": log_message or self._reason, "reason": kind.reason})
            return
        # A failure of ours, logged by log_exception; the browser gets no traceback.
        self.finish(
            {
                "message": log_message
                or "The jupyter-repo extension failed "
                "unexpectedly; the Jupyter server's log says why.",
                "reason": "error",
            }
        )


class StatusHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.ext.blocking(self.ext.connection.status))


class LoginHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        self.reply(
            await self.ext.blocking(
                self.ext.connection.login,
                url=bodies.text(body, "url", limit=2000),
                token=bodies.text(body, "token", limit=500),
                username=bodies.text(body, "username", limit=200),
                password=bodies.text(body, "password", limit=1024),
            )
        )


class LogoutHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.reply(await self.ext.blocking(self.ext.connection.logout))


class PublishNotebookHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = bodies.NotebookBody.parse(self.body())
        self.ext.connection.client()  # not configured / not logged in: 400 now, not later
        self.start_task(
            "publish-notebook", lambda task: operations.publish_notebook(self.ext, task, request)
        )


class PublishEnvironmentHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = bodies.EnvironmentBody.parse(self.body())
        self.ext.connection.client()
        self.start_task(
            "publish-environment",
            lambda task: operations.publish_environment(self.ext, task, request),
        )


class EnvironmentNameHandler(RepoHandler):
    """``?path=<notebook>``: the name *Share environment* suggests for its kernel's
    environment (the rule publishing the notebook with its environment follows)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = bodies.notebook_path({"path": self.get_query_argument("path", "")}, required=True)
        assert path is not None
        self.reply({"name": await operations.environment_name(self.ext, path)})


class PublishProjectHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = bodies.ProjectBody.parse(self.body())
        self.ext.connection.client()
        self.start_task(
            "publish-project", lambda task: operations.publish_project(self.ext, task, request)
        )


class PreviewProjectHandler(RepoHandler):
    """The file list of a project publish, before it (no repository needed)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = bodies.ProjectPreviewBody.parse(self.body())
        self.reply(await operations.preview_project(self.ext, request))


def _item(package: dict[str, Any]) -> dict[str, Any]:
    """The search/list item shape of the contract."""
    owner = package.get("owner")
    return {
        "owner": owner.get("login") if isinstance(owner, dict) else owner,
        "name": package.get("name"),
        "summary": package.get("summary") or "",
        "latest_version": package.get("latest_version"),
        "package_types": package.get("package_types") or [],
        "platforms": package.get("conda_platforms") or [],
        "labels": package.get("labels") or [],
        "public": package.get("public", True),
        "html_url": package.get("html_url"),
    }


def _whole_number(handler: RepoHandler, name: str, default: int) -> int:
    value = handler.get_query_argument(name, "") or ""
    if not value:
        return default
    if not value.isdigit():
        raise errors.BadRequest(f"'{name}' must be a whole number.")
    return int(value)


class SearchHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        argument = self.get_query_argument
        page = _whole_number(self, "page", 1)
        per_page = _whole_number(self, "per_page", 50)

        def search() -> dict[str, Any]:
            with self.ext.connection.client(need_token=False) as client:
                items, total = client.search(
                    argument("q", "") or "",
                    package_type=argument("type", None) or None,
                    platform=argument("platform", None) or None,
                    label=argument("label", None) or None,
                    owner=argument("owner", None) or None,
                    page=max(page, 1),
                    per_page=per_page,
                )
            return {"items": [_item(item) for item in items], "total": total}

        self.reply(await self.ext.blocking(search))


class PackagesHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        owner = self.get_query_argument("owner", "") or ""

        def listing() -> dict[str, Any]:
            with self.ext.connection.client(need_token=not owner) as client:
                items = client.packages(owner or client.whoami()["login"])
            return {"items": [_item(item) for item in items], "total": len(items)}

        self.reply(await self.ext.blocking(listing))


class PackageHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        owner = self.get_query_argument("owner", "") or ""
        name = self.get_query_argument("name", "") or ""
        if not owner or not name:
            raise errors.BadRequest("Give 'owner' and 'name'.")

        def show() -> dict[str, Any]:
            with self.ext.connection.client(need_token=False) as client:
                return client.package(owner, name)

        self.reply(await self.ext.blocking(show))


class OpenHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = bodies.OpenBody.parse(self.body())
        self.reply(await operations.open_package(self.ext, request))


class InstallHandler(RepoHandler):
    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        request = bodies.InstallBody.parse(self.body())
        self.ext.connection.client(need_token=False)
        self.start_task("install", lambda task: operations.install(self.ext, task, request))


class InstallEnvironmentHandler(RepoHandler):
    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        request = bodies.InstallEnvironmentBody.parse(self.body())
        self.ext.connection.client(need_token=False)
        self.start_task(
            "install-environment",
            lambda task: operations.install_environment(self.ext, task, request),
        )


class CreateEnvironmentHandler(RepoHandler):
    """A new environment and its kernel from a shared environment (or a notebook's)."""

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        request = bodies.CreateEnvironmentBody.parse(self.body())
        self.ext.connection.client(need_token=False)
        self.start_task(
            "create-environment",
            lambda task: operations.create_environment(self.ext, task, request),
        )


class TasksHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        tasks = self.ext.tasks.list()
        self.reply({"items": [task.to_json() for task in tasks], "total": len(tasks)})


class TaskHandler(RepoHandler):
    def task(self, task_id: str) -> Task:
        return self.ext.tasks.get(task_id)

    @web.authenticated
    @authorized
    async def get(self, task_id: str) -> None:
        self.reply(self.task(task_id).to_json())

    @web.authenticated
    @authorized
    async def delete(self, task_id: str) -> None:
        self.ext.tasks.cancel(task_id)
        self.set_status(204)
        self.finish()


class TaskLogHandler(RepoHandler):
    @web.authenticated
    @authorized
    async def get(self, task_id: str) -> None:
        self.reply({"lines": self.ext.tasks.get(task_id).log_lines()})


TASK_ID = r"([0-9a-f]{32})"

ROUTES: list[tuple[str, type[RepoHandler]]] = [
    (f"{PREFIX}/status", StatusHandler),
    (f"{PREFIX}/login", LoginHandler),
    (f"{PREFIX}/logout", LogoutHandler),
    (f"{PREFIX}/publish/notebook", PublishNotebookHandler),
    (f"{PREFIX}/publish/environment", PublishEnvironmentHandler),
    (f"{PREFIX}/publish/environment/name", EnvironmentNameHandler),
    (f"{PREFIX}/publish/project", PublishProjectHandler),
    (f"{PREFIX}/publish/project/preview", PreviewProjectHandler),
    (f"{PREFIX}/search", SearchHandler),
    (f"{PREFIX}/packages", PackagesHandler),
    (f"{PREFIX}/package", PackageHandler),
    (f"{PREFIX}/open", OpenHandler),
    (f"{PREFIX}/install", InstallHandler),
    (f"{PREFIX}/install-environment", InstallEnvironmentHandler),
    (f"{PREFIX}/create-environment", CreateEnvironmentHandler),
    (f"{PREFIX}/tasks", TasksHandler),
    (f"{PREFIX}/tasks/{TASK_ID}", TaskHandler),
    (f"{PREFIX}/tasks/{TASK_ID}/log", TaskLogHandler),
]
