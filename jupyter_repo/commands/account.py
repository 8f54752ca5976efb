"""``jupyter repo login | logout | whoami``: the user's credentials for a repository."""

from __future__ import annotations

import getpass
import os
import socket

from traitlets import Unicode

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import TokenSource, bound_token, resolve
from jupyter_repo.commands.clientbase import ClientCommand, client_aliases

PASSWORD_VARIABLE = "JUPYTER_REPO_PASSWORD"


def token_name() -> str:
    """Tokens created by logging in are named after the machine (one per machine)."""
    return f"jupyter-repo:{socket.gethostname()}"


class LoginApp(ClientCommand):
    name = "jupyter-repo-login"
    description = (
        "Log in to a repository and save a token: "
        "login [--url URL] [--username USER] [--password P | --token T]"
    )
    usage = "login [--url URL] [--username USER] [--password PASSWORD | --token TOKEN]"
    aliases = {**client_aliases, "username": "LoginApp.username", "password": "LoginApp.password"}
    username = Unicode("", help="Your user name (asked when missing).").tag(config=True)
    password = Unicode("", help=f"Your password (else {PASSWORD_VARIABLE}, else asked).").tag(
        config=True
    )

    def run(self) -> None:
        self.positional(0)
        store = self.store()
        url = resolve(self.url or None, None, store=store).require_url()
        token = self.login_token(url)
        if token:
            client = RepoClient(url, token)
            login = client.whoami()["login"]
            store.save_token(url, token, login=login)
        else:
            username = self.username or input("Username: ").strip()
            password = (
                self.password
                or os.environ.get(PASSWORD_VARIABLE)
                or getpass.getpass(f"Password for {username}: ")
            )
            created = RepoClient(url).login(username, password, token_name=token_name())
            client = RepoClient(url, created["token"])
            login = client.whoami()["login"]
            store.save_token(url, created["token"], login=login, issued_here=True)
        store.set_default_url(url)
        self.say(f"Logged in to {url} as {login}; the token is saved in {store.tokens_path}.")

    def login_token(self, url: str) -> str | None:
        """``--token``, or a token of a configuration file when it belongs to ``url``."""
        if self.typed("token"):
            return self.token or None
        token, withheld = bound_token(
            url,
            [TokenSource(self.token, self.configured_url(), "The token in the configuration file")],
        )
        for line in withheld:
            self.say(f"Warning: {line}")
        return token


class LogoutApp(ClientCommand):
    name = "jupyter-repo-logout"
    description = "Forget the saved token (and revoke it when 'login' created it)."
    usage = "logout [--url URL]"

    def run(self) -> None:
        self.positional(0)
        store = self.store()
        url = resolve(self.url or None, None, store=store).require_url()
        entry = store.forget_token(url)
        if entry is None:
            self.say(f"You were not logged in to {url}.")
            return
        if entry.get("issued_here"):
            try:
                RepoClient(url, entry["token"]).revoke_current_token()
            except errors.ClientError as error:
                self.say(f"The token could not be revoked on the repository: {error.message}")
        self.say(f"Logged out of {url}.")


class WhoamiApp(ClientCommand):
    name = "jupyter-repo-whoami"
    description = "Show who you are on the repository and where you can publish."
    usage = "whoami [--url URL]"

    def run(self) -> None:
        self.positional(0)
        client = self.client()
        user = client.whoami()
        namespaces = [item["login"] for item in client.namespaces()]
        name = f" ({user['name']})" if user.get("name") else ""
        self.say(f"{user['login']}{name} at {client.url}")
        self.say(f"can publish to: {', '.join(namespaces) or 'nothing'}")
