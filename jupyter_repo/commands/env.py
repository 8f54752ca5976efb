"""``jupyter repo env create|list|remove``: new environments (each a Jupyter kernel) made
from shared environments of the repository (:mod:`jupyter_repo.client.install.newenv`)."""

from __future__ import annotations

import sys

from traitlets import Bool, List, Unicode

from jupyter_repo.client.install import newenv
from jupyter_repo.commands.clientbase import ClientCommand, client_aliases, client_flags


class EnvCommand(ClientCommand):
    """What the ``env`` commands share: the environments folder."""

    envs_dir = Unicode(
        "",
        help="Where new environments are created (else $JUPYTER_REPO_ENVS_DIR, else "
        "<Jupyter data dir>/repo-envs).",
    ).tag(config=True)

    def folder(self) -> str | None:
        return self.envs_dir or None


env_aliases = {**client_aliases, "envs-dir": "EnvCommand.envs_dir"}


class EnvCreateApp(EnvCommand):
    name = "jupyter-repo-env-create"
    description = (
        "Create a new environment (and its kernel) from a shared environment, or from the "
        "environment a notebook has attached: env create OWNER/NAME[/VERSION]"
    )
    usage = (
        "env create OWNER/NAME[/VERSION] [--name KERNEL_NAME] [--prefix PATH] "
        "[--extra-index-url URL] [--no-pypi]"
    )
    aliases = {
        **env_aliases,
        "name": "EnvCreateApp.kernel_name",
        "prefix": "EnvCreateApp.kernel_prefix",
        "extra-index-url": "EnvCreateApp.extra_index_urls",
    }
    flags = {
        **client_flags,
        "no-pypi": (
            {"EnvCreateApp": {"pypi_fallback": False}},
            "Take pip packages from the owner's index (and --extra-index-url) only, not PyPI.",
        ),
    }
    kernel_name = Unicode(
        "", help="The kernel's name (default: repo-<owner>-<name>-v<version>)."
    ).tag(config=True)
    kernel_prefix = Unicode(
        "", help="Write the kernelspec into PREFIX/share/jupyter/kernels (default: the user's)."
    ).tag(config=True)
    extra_index_urls = List(
        Unicode(), help="More pip indexes (or folders of wheels) after the owner's index."
    ).tag(config=True)
    pypi_fallback = Bool(True, help="Take pip packages missing from the indexes from PyPI.").tag(
        config=True
    )

    def run(self) -> None:
        (text,) = self.positional(1)
        created = newenv.create_environment(
            self.client(need_token=False),
            text,
            kernel_name=self.kernel_name or None,
            kernel_prefix=self.kernel_prefix or None,
            envs_dir=self.folder(),
            log=self.log_line,
            progress=self.step,
            extra_index_urls=tuple(self.extra_index_urls),
            pypi_fallback=self.pypi_fallback,
        )
        self.say(created.message)

    def step(self, fraction: float | None, message: str) -> None:
        shown = f"[{fraction:4.0%}] " if fraction is not None else ""
        self.say(f"==> {shown}{message}")

    def log_line(self, line: str) -> None:
        self.say(f"    {line}" if sys.stdout.isatty() else line)


class EnvListApp(EnvCommand):
    name = "jupyter-repo-env-list"
    description = "List the environments env create made: env list"
    usage = "env list [--envs-dir PATH]"
    aliases = env_aliases

    def run(self) -> None:
        self.positional(0)
        found = newenv.list_environments(self.folder())
        if not found:
            self.say(f"No environments in {self.folder() or newenv.default_envs_dir()}.")
        for item in found:
            self.say(f"{item.kernel_name}  {item.display_name}  {item.prefix}")


class EnvRemoveApp(EnvCommand):
    name = "jupyter-repo-env-remove"
    description = "Remove an environment env create made, and its kernel: env remove NAME"
    usage = "env remove KERNEL_NAME|OWNER/NAME/VERSION [--envs-dir PATH]"
    aliases = env_aliases

    def run(self) -> None:
        (which,) = self.positional(1)
        newenv.remove_environment(which, self.folder(), log=self.say)


class EnvApp(ClientCommand):
    name = "jupyter-repo-env"
    description = "New environments, each a Jupyter kernel, from shared environments."
    subcommands = {
        "create": (EnvCreateApp, EnvCreateApp.description),
        "list": (EnvListApp, EnvListApp.description),
        "remove": (EnvRemoveApp, EnvRemoveApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("Choose an env command: " + ", ".join(self.subcommands))
            self.exit(1)
        else:
            self.subapp.start()
