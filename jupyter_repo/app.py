"""``jupyter repo``: the top-level command, dispatching to subcommands.

Subcommands are named by import path, so each run imports only the command it runs (the
client commands start quickly: no database layer, no Jupyter server).
"""

from __future__ import annotations

import sys
from typing import Any

from jupyter_core.application import JupyterApp
from traitlets import default

from jupyter_repo import __version__

#: The extra that provides each top-level module a command may miss (pyproject.toml).
EXTRA_OF_MODULE = {
    **dict.fromkeys(
        (
            "tornado",
            "sqlalchemy",
            "alembic",
            "argon2",
            "conda_package_streaming",
            "backports",
            "pkginfo",
            "python_multipart",
            "multipart",
            "msgpack",
            "jinja2",
            "nbconvert",
            "nh3",
        ),
        "server",
    ),
    **dict.fromkeys(("jupyter_server", "jupyterlab"), "lab"),
    "boto3": "s3",
    "psycopg": "postgresql",
    "rattler": "conda",
    "uv": "env",
}


class JupyterRepoApp(JupyterApp):
    name = "jupyter-repo"
    version = __version__
    description = "jupyter-repo: a repository for notebooks, environments and packages."
    subcommands = {
        "serve": (
            "jupyter_repo.commands.serve.ServeApp",
            "Run the jupyter-repo repository server.",
        ),
        "migrate": (
            "jupyter_repo.commands.migrate.MigrateApp",
            "Apply the database migrations (also done by 'serve' at start-up).",
        ),
        "admin": (
            "jupyter_repo.commands.admin.AdminApp",
            "Administration commands for a repository server.",
        ),
        "mirror": (
            "jupyter_repo.commands.mirror.MirrorApp",
            "Mirror or proxy upstream conda channels and PyPI indexes (on the server).",
        ),
        "export": (
            "jupyter_repo.commands.bundle.ExportApp",
            "Write a namespace to one bundle file for an air-gapped site (on the server).",
        ),
        "import": (
            "jupyter_repo.commands.bundle.ImportApp",
            "Verify and import a bundle written by 'export' (on the server).",
        ),
        "login": (
            "jupyter_repo.commands.account.LoginApp",
            "Log in to a repository and save a token.",
        ),
        "logout": (
            "jupyter_repo.commands.account.LogoutApp",
            "Forget (and revoke) the saved token.",
        ),
        "whoami": (
            "jupyter_repo.commands.account.WhoamiApp",
            "Show who you are on the repository and where you can publish.",
        ),
        "publish": (
            "jupyter_repo.commands.publish.PublishApp",
            "Publish a notebook, an environment or a project folder.",
        ),
        "search": ("jupyter_repo.commands.search.SearchApp", "Search packages."),
        "yank": (
            "jupyter_repo.commands.yank.YankApp",
            "Yank a release or a file (installers pass it by), or un-yank it.",
        ),
        "install": (
            "jupyter_repo.commands.install.InstallApp",
            "Install a package or an environment into this Python environment.",
        ),
        "open": (
            "jupyter_repo.commands.open.OpenApp",
            "Download a notebook or data files, or unpack a project, into this folder.",
        ),
        "env": (
            "jupyter_repo.commands.env.EnvApp",
            "Create, list and remove environments (each a Jupyter kernel) made from shared ones.",
        ),
    }

    def initialize_subcommand(self, subc: str, argv: Any = None) -> None:
        """Load the subcommand; one whose libraries are not installed says which extra
        brings them, instead of a traceback."""
        try:
            super().initialize_subcommand(subc, argv)
        except ModuleNotFoundError as error:
            top = (error.name or "").split(".")[0]
            extra = EXTRA_OF_MODULE.get(top)
            if extra is None:
                raise
            print(
                f"'jupyter repo {subc}' needs the {extra} libraries, which are not "
                f"installed here (no module named {top!r}): "
                f"pip install 'jupyter-repo[{extra}]'",
                file=sys.stderr,
            )
            self.exit(1)

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_repo_config"

    def start(self) -> None:
        if self.subapp is None:
            print("Usage: jupyter repo <command>; commands: " + ", ".join(self.subcommands))
            self.exit(1)
        super().start()


main = JupyterRepoApp.launch_instance
