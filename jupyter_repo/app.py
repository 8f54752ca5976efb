"""``jupyter repo``: the top-level command, dispatching to subcommands.

Subcommands are named by import path, so each run imports only the command it runs (the
client commands start quickly: no database layer, no Jupyter server).
"""

from __future__ import annotations

from jupyter_core.application import JupyterApp
from traitlets import default

from jupyter_repo import __version__


class JupyterRepoApp(JupyterApp):
    name = "jupyter-repo"
    version = __version__
    description = "jupyter-repo: a repository for notebooks, environments and packages."
    subcommands = {
        "serve": ("jupyter_repo.commands.serve.ServeApp",
                  "Run the jupyter-repo repository server."),
        "migrate": ("jupyter_repo.commands.migrate.MigrateApp",
                    "Apply the database migrations (also done by 'serve' at start-up)."),
        "admin": ("jupyter_repo.commands.admin.AdminApp",
                  "Administration commands for a repository server."),
        "login": ("jupyter_repo.commands.account.LoginApp",
                  "Log in to a repository and save a token."),
        "logout": ("jupyter_repo.commands.account.LogoutApp",
                   "Forget (and revoke) the saved token."),
        "whoami": ("jupyter_repo.commands.account.WhoamiApp",
                   "Show who you are on the repository and where you can publish."),
        "publish": ("jupyter_repo.commands.publish.PublishApp",
                    "Publish a notebook, an environment or a project folder."),
        "search": ("jupyter_repo.commands.search.SearchApp", "Search packages."),
        "install": ("jupyter_repo.commands.install.InstallApp",
                    "Install a package or an environment into this Python environment."),
    }

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_repo_config"

    def start(self) -> None:
        if self.subapp is None:
            print("Usage: jupyter repo <command>; commands: " + ", ".join(self.subcommands))
            self.exit(1)
        super().start()


main = JupyterRepoApp.launch_instance
