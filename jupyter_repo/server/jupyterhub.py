"""The repository as a JupyterHub service: the hub's API, asked about users and tokens.

Everything the hub says is asked of the hub itself, over its API, with the service's own
token: a single-user server's token is shown to ``GET /hub/api/user`` (never believed as
it is), a user's groups and existence come from ``GET /hub/api/users/<name>``. Accounts a
hub created act only while the hub still has their user (checked at most every
``membership_check_interval`` seconds per user, on the event loop).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Dict, Integer, List, Unicode, default
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository import errors
from jupyter_repo.repository.services.external_accounts import JUPYTERHUB, GroupGrant

#: How long one question to the hub may take.
HUB_TIMEOUT = 10.0


class JupyterHubService(LoggingConfigurable):
    """Where the hub is and what its users get here. A managed service (started by the hub)
    finds everything in its environment; an external one is configured here."""

    api_url = Unicode(
        help="The hub's API, e.g. http://hub:8081/hub/api (default: $JUPYTERHUB_API_URL). "
        "Empty: this repository is not a JupyterHub service."
    ).tag(config=True)
    api_token = Unicode(
        help="This service's API token at the hub (default: $JUPYTERHUB_API_TOKEN); it is "
        "also the OAuth client secret. Needs the scopes read:users:name and "
        "read:users:groups on the hub's users."
    ).tag(config=True)
    service_name = Unicode(
        help="This service's name at the hub (default: $JUPYTERHUB_SERVICE_NAME, else "
        "'jupyter-repo'). A single-user server's token must allow access to it."
    ).tag(config=True)
    oauth_client_id = Unicode(
        help="OAuth client id (default: $JUPYTERHUB_CLIENT_ID, else 'service-<name>')."
    ).tag(config=True)
    oauth_redirect_uri = Unicode(
        help="Where the hub sends browsers back: <this server>/oauth/jupyterhub/callback "
        "(default: that path on ServeApp.public_url). Must match the service's "
        "oauth_redirect_uri in the hub's configuration. Empty: no sign-in through the hub."
    ).tag(config=True)
    hub_url = Unicode(
        help="The hub's public URL, where browsers sign in (default: "
        "$JUPYTERHUB_PUBLIC_HUB_URL, else the API URL without /api)."
    ).tag(config=True)
    token_scopes = List(
        Unicode(),
        ["api:write"],
        help="Scopes of the tokens single-user servers obtain for their user.",
    ).tag(config=True)
    token_max_age = Integer(
        8 * 3600,
        help="Seconds a single-user server's token lives; the server gets a new one when "
        "it runs out (and the hub user must still exist).",
    ).tag(config=True)
    membership_check_interval = Integer(
        60,
        help="Seconds a confirmation that a hub user still exists is trusted; after that "
        "the hub is asked again before a hub account's token or session acts.",
    ).tag(config=True)
    group_mapping = Dict(
        value_trait=List(Unicode()),
        help="Hub group → groups of organizations here, each '<org>/<group>:<read|write|"
        "admin>', e.g. {'data-science': ['acme/analysts:write']}. At every sign-in a hub "
        "user becomes a member of exactly the mapped groups of their hub groups (and "
        "leaves the mapped groups of the others). The organization must exist; the group "
        "is created with the permission given.",
    ).tag(config=True)

    @default("api_url")
    def _api_url(self) -> str:
        return os.environ.get("JUPYTERHUB_API_URL", "")

    @default("api_token")
    def _api_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("service_name")
    def _service_name(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_NAME", "") or "jupyter-repo"

    @default("oauth_client_id")
    def _client_id(self) -> str:
        return os.environ.get("JUPYTERHUB_CLIENT_ID", "") or f"service-{self.service_name}"

    @default("hub_url")
    def _hub_url(self) -> str:
        public = os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL", "")
        if public:
            return public
        api = self.api_url.rstrip("/")
        return api[: -len("/api")] if api.endswith("/api") else api

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._confirmed: dict[str, float] = {}
        self.grants = {
            hub_group: tuple(GroupGrant.parse(text) for text in targets)
            for hub_group, targets in self.group_mapping.items()
        }

    @property
    def enabled(self) -> bool:
        return bool(self.api_url and self.api_token)

    # -- the hub's API ---------------------------------------------------------------------

    async def _get(
        self, path: str, token: str, missing: tuple[int, ...] = (401, 403, 404)
    ) -> dict[str, Any] | None:
        """``GET <api>/<path>`` with ``token``; None when the hub answers one of
        ``missing``; any other failure is a 503 (the hub is down or misconfigured)."""
        request = HTTPRequest(
            self.api_url.rstrip("/") + path,
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            request_timeout=HUB_TIMEOUT,
            connect_timeout=HUB_TIMEOUT,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as error:
            if error.code in missing:
                return None
            self.log.warning("JupyterHub answered %s to GET %s", error.code, path)
            raise errors.Busy("JupyterHub cannot be reached; try again shortly.", 10) from None
        except OSError as error:
            self.log.warning("JupyterHub cannot be reached: %s", error)
            raise errors.Busy("JupyterHub cannot be reached; try again shortly.", 10) from None
        model = json.loads(response.body)
        return model if isinstance(model, dict) else None

    async def identify(self, hub_token: str) -> dict[str, Any]:
        """The hub user a single-user server's token belongs to, as the hub says.

        Refused: a token the hub does not know (401), a token of a service rather than a
        user, or one that may not access this service (403).
        """
        if not hub_token or len(hub_token) > 256 or not hub_token.isprintable():
            raise errors.Unauthenticated("JupyterHub does not know this token.")
        model = await self._get("/user", hub_token)
        if model is None:
            raise errors.Unauthenticated("JupyterHub does not know this token.")
        if model.get("kind") != "user" or not isinstance(model.get("name"), str):
            raise errors.Forbidden("Only a hub user's token can be exchanged here.")
        scopes = model.get("scopes") or []
        if not ({"access:services", f"access:services!service={self.service_name}"} & set(scopes)):
            raise errors.Forbidden(
                f"This JupyterHub token may not access the service {self.service_name!r}; "
                "the hub's administrator grants it (see the deployment guide)."
            )
        return model

    async def user(self, name: str) -> dict[str, Any] | None:
        """The hub's model of user ``name`` (with its groups), None if the hub has none."""
        # Only a 404 means "no such user": a refused service token (a role missing on the
        # hub) must not read as every user gone, which would revoke all their tokens.
        model = await self._get(f"/users/{quote(name, safe='')}", self.api_token, missing=(404,))
        if model is not None:
            self._confirmed[name.lower()] = time.monotonic()
        return model

    async def still_has(self, login: str) -> bool:
        """Does the hub still have the user of account ``login``? (Cached for
        ``membership_check_interval`` seconds after each confirmation.)"""
        confirmed = self._confirmed.get(login)
        if confirmed is not None and time.monotonic() - confirmed < self.membership_check_interval:
            return True
        self._confirmed.pop(login, None)
        return await self.user(login) is not None

    def forget(self, login: str) -> None:
        self._confirmed.pop(login.lower(), None)

    # -- OAuth -----------------------------------------------------------------------------

    def oauth_settings(self) -> dict[str, Any]:
        """The hub as an OAuth 2 provider (see :mod:`jupyter_repo.server.oauth`)."""
        api = self.api_url.rstrip("/")
        return {
            "name": JUPYTERHUB,
            "display_name": "JupyterHub",
            "client_id": self.oauth_client_id,
            "client_secret": self.api_token,
            "authorize_url": self.hub_url.rstrip("/") + "/api/oauth2/authorize",
            "token_url": api + "/oauth2/token",
            "userinfo_url": api + "/user",
            "redirect_uri": self.oauth_redirect_uri,
            "scope": "",
            "login_claim": "name",
            "token_endpoint_auth_method": "client_secret_post",
        }
