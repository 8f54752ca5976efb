"""Inside a JupyterHub single-user server: the hub's repository, and a token for it, found
by themselves.

A single-user server (and its kernels and terminals) has ``JUPYTERHUB_API_URL`` and its own
``JUPYTERHUB_API_TOKEN``. When the hub advertises a repository service (by default the
service named ``jupyter-repo``; ``JUPYTER_REPO_HUB_SERVICE`` names another), its URL comes
from the hub's API, and the repository gives a token for this hub user in exchange for the
server's hub token (the repository asks the hub who that is). The token lives in this
process's memory only (never in a file or an environment variable), and is replaced before
it expires.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import requests

SERVICE_VARIABLE = "JUPYTER_REPO_HUB_SERVICE"
DEFAULT_SERVICE = "jupyter-repo"
#: A token with less than this many seconds left is replaced.
RENEW_BEFORE = 300
#: How long "this hub has no repository service" is believed.
NEGATIVE_TTL = 60.0
TIMEOUT = 15.0

log = logging.getLogger("jupyter_repo")


@dataclass(frozen=True)
class HubToken:
    url: str
    token: str
    expires: float  # time.time()


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: HubToken | None = None
        self.missing_until = 0.0


_cache = _Cache()


def in_hub(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("JUPYTERHUB_API_URL") and environ.get("JUPYTERHUB_API_TOKEN"))


def repository_url(environ: Mapping[str, str]) -> str | None:
    """The URL of the hub's repository service, as the hub's API gives it (None: none)."""
    name = environ.get(SERVICE_VARIABLE) or DEFAULT_SERVICE
    api = environ["JUPYTERHUB_API_URL"].rstrip("/")
    answer = requests.get(
        f"{api}/services/{quote(name, safe='')}",
        headers={"Authorization": f"token {environ['JUPYTERHUB_API_TOKEN']}"},
        timeout=TIMEOUT,
    )
    if answer.status_code in (403, 404):
        return None
    answer.raise_for_status()
    model = answer.json()
    info = model.get("info") or {}
    url = info.get("jupyter_repo_url") or model.get("url")
    return url.rstrip("/") if isinstance(url, str) and url else None


def _exchange(url: str, environ: Mapping[str, str]) -> HubToken:
    answer = requests.post(
        f"{url}/api/hub/token",
        json={
            "hub_token": environ["JUPYTERHUB_API_TOKEN"],
            "server_name": environ.get("JUPYTERHUB_SERVER_NAME", ""),
        },
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    body = answer.json()
    # The token's expiry as the repository says (an hour if it does not say).
    expires = time.time() + 3600.0
    if isinstance(body.get("expires"), str):
        with contextlib.suppress(ValueError):
            expires = datetime.fromisoformat(body["expires"]).timestamp()
    return HubToken(url, str(body["token"]), expires)


def hub_token(environ: Mapping[str, str] | None = None, *, renew: bool = False) -> HubToken | None:
    """The repository's URL and a live token for this hub user, or None outside a hub, or
    when the hub has no repository service, or when the repository refuses."""
    environ = os.environ if environ is None else environ
    if not in_hub(environ):
        return None
    with _cache.lock:
        now = time.time()
        current = _cache.current
        if current is not None and not renew and current.expires - now > RENEW_BEFORE:
            return current
        if current is None and now < _cache.missing_until:
            return None
        try:
            url = current.url if current is not None else repository_url(environ)
            if url is None:
                _cache.missing_until = now + NEGATIVE_TTL
                return None
            _cache.current = _exchange(url, environ)
        except (requests.RequestException, ValueError, KeyError) as error:
            log.warning("jupyter-repo: no repository token from the hub's service: %s", error)
            _cache.current = None
            _cache.missing_until = now + NEGATIVE_TTL
            return None
        return _cache.current


def forget() -> None:
    """Drop the cached token (tests; a user who signs out)."""
    with _cache.lock:
        _cache.current = None
        _cache.missing_until = 0.0
