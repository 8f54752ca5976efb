"""The Jupyter server extension (``jupyter_repo``): publish to and install from a repository.

Enabled on install by ``jupyter-config/jupyter_server_config.d/jupyter_repo.json``; its
configuration lives in ``jupyter_server_config.py`` under ``c.RepoExtension``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Float, Integer, List, Unicode

from jupyter_repo import __version__
from jupyter_repo.client.config import CredentialStore
from jupyter_repo.client.project import DEFAULT_EXCLUDES, ProjectRules
from jupyter_repo.extension.connection import Connection
from jupyter_repo.extension.tasks import TaskManager

T = TypeVar("T")
P = ParamSpec("P")


class RepoExtension(ExtensionApp):
    """Publish notebooks, environments and projects; search and install packages."""

    name = "jupyter_repo"
    version = __version__
    description = "Publish to and install from a jupyter-repo repository."
    load_other_extensions = True

    url = Unicode(
        "",
        help="The repository URL. Default: JUPYTER_REPO_URL, else the URL saved by "
        "'jupyter repo login' or by logging in from JupyterLab.",
    ).tag(config=True)
    token = Unicode(
        "",
        help="A repository token set by the administrator. A token saved by logging in "
        "takes precedence; JUPYTER_REPO_TOKEN is used when neither is set. Both are sent only "
        "to the repository they belong to: c.RepoExtension.url (else JUPYTER_REPO_URL), "
        "never to another URL a user logs in to.",
    ).tag(config=True)
    credentials_dir = Unicode(
        "",
        help="Folder of the saved URL and tokens (default: <jupyter config dir>/"
        "jupyter_repo, shared with the 'jupyter repo' command). Tokens are stored with mode 0600.",
    ).tag(config=True)
    max_project_file_size = Integer(
        ProjectRules.max_file_size,
        help="Files larger than this many bytes are left out of published projects.",
    ).tag(config=True)
    max_project_size = Integer(
        ProjectRules.max_total_size,
        help="A project larger than this many bytes in total is refused.",
    ).tag(config=True)
    max_project_files = Integer(
        ProjectRules.max_files,
        help="A project folder with more files than this to publish "
        "is refused (publishing a home folder by mistake, say).",
    ).tag(config=True)
    project_excludes = List(
        Unicode(),
        list(DEFAULT_EXCLUDES),
        help="gitignore-style patterns left out of "
        "projects (the folder's .gitignore applies as well). Hidden files are left out unless "
        "the user includes them; credential files (CREDENTIAL_PATTERNS in "
        "jupyter_repo.client.project) never go in, whatever this says.",
    ).tag(config=True)
    extra_index_urls = List(
        Unicode(),
        help="More pip indexes used when installing a package's dependencies "
        "(for example https://pypi.org/simple).",
    ).tag(config=True)
    envs_dir = Unicode(
        "",
        help="Folder of the environments 'Open with its environment' creates (default: "
        "JUPYTER_REPO_ENVS_DIR, else <Jupyter data dir>/repo-envs; shared with 'jupyter "
        "repo env create').",
    ).tag(config=True)
    max_notebook_size = Integer(
        100 << 20, help="The largest notebook (bytes) that 'open' writes into the contents."
    ).tag(config=True)
    request_timeout = Float(30.0, help="Seconds to wait for the repository.").tag(config=True)
    worker_threads = Integer(4, help="Threads for uploads, downloads and captures.").tag(
        config=True
    )

    def initialize_settings(self) -> None:
        self.executor = ThreadPoolExecutor(self.worker_threads, thread_name_prefix="jupyter-repo")
        self.connection = Connection(
            url=self.url,
            token=self.token,
            store=CredentialStore(self.credentials_dir or None),
            timeout=self.request_timeout,
            log=self.log,
        )
        self.tasks = TaskManager(log=self.log)
        self.install_lock = asyncio.Lock()

    def initialize_handlers(self) -> None:
        from jupyter_repo.extension.handlers import ROUTES

        self.handlers.extend(ROUTES)

    def project_rules(self, *, include_hidden: bool = False) -> ProjectRules:
        return ProjectRules(
            max_file_size=self.max_project_file_size,
            max_total_size=self.max_project_size,
            max_files=self.max_project_files,
            excludes=tuple(self.project_excludes),
            include_hidden=include_hidden,
            protected=(str(self.connection.store.directory),),
        )

    @property
    def server(self) -> ServerApp:
        """The Jupyter server this extension is loaded into."""
        if self.serverapp is None:
            raise RuntimeError("The jupyter_repo extension is not loaded into a server.")
        return self.serverapp

    async def blocking(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking function on the extension's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(function, *args, **kwargs))

    async def stop_extension(self) -> None:
        await self.tasks.shutdown()
        self.executor.shutdown(wait=False, cancel_futures=True)
