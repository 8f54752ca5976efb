"""The Jupyter server's link to its repository: which URL, which token, who that is.

The token comes from the user's saved tokens (what ``login`` stores, shared with
``jupyter repo login``), else from the server configuration (``RepoExtension.token``), else
from ``JUPYTER_REPO_TOKEN``; each is sent only to the repository it belongs to (the saved
one to the URL it was saved for, the configured one to ``RepoExtension.url`` or
``JUPYTER_REPO_URL``), so logging in to another repository from Lab never hands it the
administrator's token. It stays on the server: answers carry the user's name and
namespaces, never the token. All methods block (they make HTTP requests).
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import (
    Advice,
    Credentials,
    CredentialStore,
    normalise_url,
    resolve,
)

#: The Lab user logs in through the extension; the administrator configures it.
IN_LAB = Advice(
    configure="log in with the repository's URL, or set c.RepoExtension.url in the "
    "Jupyter server configuration",
    log_in="log in to it first",
)


def no_api_here(url: str) -> errors.BadRequest:
    return errors.BadRequest(
        f"There is no jupyter-repo API at {url}: check the URL (it is the address of the "
        "repository's web pages, e.g. https://repo.example.org)."
    )


def _check_login(client: RepoClient, url: str) -> str:
    """The login of the token's user, with what went wrong said in words: a server that
    is not a repository (a 404, or an answer that is not the API's JSON), or a refused
    token (a new token that is refused is wrong, expired or revoked: logging in again
    with it would not help)."""
    try:
        user = client.whoami()
    except errors.NotFound:
        raise no_api_here(url) from None
    except errors.Unauthorized:
        raise errors.Unauthorized(
            f"The repository at {url} refused this token: it is mistyped, expired or "
            "revoked. Create a new one on the repository's account page."
        ) from None
    except ValueError:  # 200 with HTML or other non-JSON: some other web server
        raise no_api_here(url) from None
    login = user.get("login") if isinstance(user, dict) else None
    if not isinstance(login, str) or not login:
        raise no_api_here(url)
    return login


class Connection:
    def __init__(
        self,
        *,
        url: str = "",
        token: str = "",
        store: CredentialStore,
        timeout: float = 30.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.configured_url = url
        self.configured_token = token
        self.store = store
        self.timeout = timeout
        self._chosen_url: str | None = None
        self._logged_out = False
        self._lock = threading.Lock()
        self.log = log or logging.getLogger("jupyter_repo")
        self._warned: set[str] = set()

    def credentials(self) -> Credentials:
        """:func:`resolve`'s rules, the URL chosen at login first and the user's saved token
        before the administrator's (which belongs to ``c.RepoExtension.url`` only)."""
        with self._lock:
            credentials = resolve(
                self._chosen_url,
                configured_url=self.configured_url or None,
                configured_token=self.configured_token or None,
                configured_what="c.RepoExtension.token",
                saved_first=True,
                signed_out=self._logged_out,
                store=self.store,
            )
            for line in credentials.withheld:
                if line not in self._warned:  # once, not at every status poll
                    self._warned.add(line)
                    self.log.warning("jupyter-repo: %s", line)
            return credentials

    def client(self, *, need_token: bool = True) -> RepoClient:
        return RepoClient.from_credentials(
            self.credentials(), need_token=need_token, advice=IN_LAB, timeout=self.timeout
        )

    def status(self) -> dict[str, Any]:
        credentials = self.credentials()
        answer: dict[str, Any] = {
            "url": credentials.url,
            "connected": False,
            "user": None,
            "namespaces": [],
            "error": None,
        }
        if not credentials.url or not credentials.token:
            return answer
        client = self.client()
        try:
            user = client.whoami()
            namespaces = client.namespaces()
        except (errors.NotFound, ValueError):  # a 404, or an answer that is not the API's
            answer["error"] = no_api_here(credentials.url).message
            return answer
        except errors.ClientError as error:
            answer["error"] = error.message
            return answer
        finally:
            client.close()
        answer.update(
            connected=True,
            user={"login": user.get("login"), "name": user.get("name") or ""},
            namespaces=[
                {"login": item["login"], "kind": item["kind"], "name": item.get("name") or ""}
                for item in namespaces
            ],
        )
        return answer

    def login(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> dict[str, Any]:
        """Check the credentials, save the token for the URL, and answer like ``status``."""
        chosen = normalise_url(url) if url else self.credentials().url
        if not chosen:
            raise errors.NotConfigured("Give the repository's URL to log in.")
        issued_here = False
        if not token:
            if not username or not password:
                raise errors.BadRequest("Log in with a token, or a username and a password.")
            with RepoClient(chosen, timeout=self.timeout) as anonymous:
                try:
                    created = anonymous.login(
                        username, password, token_name=f"jupyter-repo:{socket.gethostname()}"
                    )
                except (errors.NotFound, ValueError):
                    raise no_api_here(chosen) from None
            token, issued_here = created["token"], True
        with RepoClient(chosen, token, timeout=self.timeout) as client:
            login = _check_login(client, chosen)
        self.store.save_token(chosen, token, login=login, issued_here=issued_here)
        self.store.set_default_url(chosen)
        with self._lock:
            self._chosen_url, self._logged_out = chosen, False
        return self.status()

    def logout(self) -> dict[str, Any]:
        """Forget the saved token (revoking it if this extension created it)."""
        url = self.credentials().url
        if url:
            entry = self.store.forget_token(url)
            if entry and entry.get("issued_here"):
                try:
                    with RepoClient(url, entry["token"], timeout=self.timeout) as client:
                        client.revoke_current_token()
                except errors.ClientError:
                    pass  # forgetting it here is what matters; it expires on its own
        with self._lock:
            self._logged_out = True
        return self.status()
