"""``jupyter repo``: the top-level command, dispatching to subcommands."""

from __future__ import annotations

from jupyter_repo.commands.admin import AdminApp
from jupyter_repo.commands.base import RepoCommand
from jupyter_repo.commands.migrate import MigrateApp
from jupyter_repo.commands.serve import ServeApp


class JupyterRepoApp(RepoCommand):
    name = "jupyter-repo"
    description = "jupyter-repo: a repository for notebooks, environments and packages."
    subcommands = {
        "serve": (ServeApp, ServeApp.description),
        "migrate": (MigrateApp, MigrateApp.description),
        "admin": (AdminApp, AdminApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("Usage: jupyter repo <command>; commands: " + ", ".join(self.subcommands))
            self.exit(1)
        super().start()


main = JupyterRepoApp.launch_instance
