"""Shared pieces of the client subcommands (``login``, ``publish``, ``search``, ``install``):
credentials, progress bars and one-line errors instead of tracebacks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from jupyter_core.application import JupyterApp, base_aliases, base_flags
from traitlets import Bool, Unicode, default
from traitlets.config import Config

from jupyter_repo import __version__
from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import Credentials, CredentialStore, resolve

client_aliases = {**base_aliases, "url": "ClientCommand.url", "token": "ClientCommand.token"}
client_flags = {
    **base_flags,
    "progress": (
        {"ClientCommand": {"progress": True}},
        "Show progress bars even when the output is not a terminal.",
    ),
}


def leave_if_rattler_ran(code: int) -> None:
    """Exit now, output flushed, once py-rattler has run: its runtime's threads can crash
    the interpreter while it shuts down (SIGSEGV, SIGABRT), turning a finished install
    into a failed exit status."""
    if "rattler" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class ClientCommand(JupyterApp):
    """A command talking to a repository as a client (it needs no database layer)."""

    version = __version__
    aliases = client_aliases
    flags = client_flags
    usage = ""

    url = Unicode("", help="The repository URL (else JUPYTER_REPO_URL, else the saved one).").tag(
        config=True
    )
    token = Unicode(
        "", help="A repository token (else JUPYTER_REPO_TOKEN, else the saved one)."
    ).tag(config=True)
    progress = Bool(False, help="Always show progress bars.").tag(config=True)

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_repo_config"

    def store(self) -> CredentialStore:
        return CredentialStore()

    def typed(self, trait: str) -> bool:
        """Whether ``trait`` was given on the command line (not by a configuration file)."""
        sections = {cls.__name__ for cls in type(self).mro()}
        return any(
            name in sections and isinstance(section, Config) and trait in section
            for name, section in self.cli_config.items()
        )

    def configured_url(self) -> str | None:
        """The URL the configuration files give, which a token set there belongs to (with
        ``--url`` on the command line, the files are read again to find it)."""
        if not self.typed("url"):
            return self.url or None
        files = type(self)(config_file=self.config_file, config_dir=self.config_dir)
        files.load_config_file()
        return files.url or None

    def credentials(self) -> Credentials:
        """URL and token as :func:`resolve` picks them; a token from ``--token`` goes with
        the URL in use, one from a configuration file only to the URL configured there."""
        typed_token = self.token if self.typed("token") else None
        file_token = None if typed_token else (self.token or None)
        typed_url = self.url if self.typed("url") else None
        file_url = self.configured_url() if file_token or not typed_url else None
        credentials = resolve(
            typed_url or None,
            typed_token or None,
            configured_url=file_url,
            configured_token=file_token,
            configured_what="The token in the configuration file",
            store=self.store(),
        )
        for line in credentials.withheld:
            print(f"Warning: {line}", file=sys.stderr, flush=True)
        return credentials

    def client(self, *, need_token: bool = True) -> RepoClient:
        return RepoClient.from_credentials(self.credentials(), need_token=need_token)

    def positional(self, low: int, high: int | None = None) -> list[str]:
        high = low if high is None else high
        if not low <= len(self.extra_args) <= high:
            raise errors.BadRequest(f"usage: jupyter repo {self.usage}")
        return list(self.extra_args)

    def progress_bar(self) -> Callable[[str, int, int], None]:
        """A ``progress(name, done, total)`` callback drawing one tqdm bar per file."""
        from tqdm import tqdm

        bars: dict[str, Any] = {}

        def update(name: str, done: int, total: int) -> None:
            bar = bars.get(name)
            if bar is None:
                bar = bars[name] = tqdm(
                    total=total,
                    desc=name,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    leave=True,
                    file=sys.stderr,
                    disable=None if not self.progress else False,
                )
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

        return update

    def say(self, line: str) -> None:
        print(line, flush=True)

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        try:
            self.run()
        except errors.ClientError as error:
            self.fail(error.message)
        except KeyboardInterrupt:
            self.fail("Cancelled.", code=130)
        leave_if_rattler_ran(0)

    def fail(self, message: str, code: int = 1) -> NoReturn:
        """One line on stderr, no traceback, a non-zero exit status."""
        print(f"Error: {message}", file=sys.stderr, flush=True)
        leave_if_rattler_ran(code)
        self.exit(code)
        raise SystemExit(code)  # not reached: exit() raises it, but is typed "-> None"
