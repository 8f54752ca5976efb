"""``jupyter repo env create|list|remove``: new environments (each a Jupyter kernel) made
from shared environments of the repository (:mod:`jupyter_repo.client.install.newenv`)."""

from __future__ import annotations

import sys

from tqdm import tqdm
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
        # A bar on stderr when it is a terminal (or with --progress); the step lines always.
        bar = tqdm(
            total=100,
            file=sys.stderr,
            disable=None if not self.progress else False,
            bar_format="{percentage:3.0f}%|{bar}| {desc}",
            leave=False,
        )

        def step(fraction: float | None, message: str) -> None:
            shown = f"[{fraction:4.0%}] " if fraction is not None else ""
            bar.clear()
            self.say(f"==> {shown}{message}")
            if fraction is not None:
                bar.update(round(fraction * 100) - bar.n)
            bar.set_description_str(message[:60])

        def log(line: str) -> None:
            bar.clear()
            self.say(f"    {line}" if sys.stdout.isatty() else line)
            bar.refresh()

        try:
            created = newenv.create_environment(
                self.client(need_token=False),
                text,
                kernel_name=self.kernel_name or None,
                kernel_prefix=self.kernel_prefix or None,
                envs_dir=self.folder(),
                log=log,
                progress=step,
                extra_index_urls=tuple(self.extra_index_urls),
                pypi_fallback=self.pypi_fallback,
            )
        finally:
            bar.close()
        self.log.debug("created %s", created.to_json())  # its last step line says it all


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
