"""Signing in to the web pages with OAuth 2 / OpenID Connect (authlib), JupyterHub included.

``GET /oauth/<provider>/login`` sends the browser to the provider with a fresh ``state``
(and a PKCE verifier), both kept in a short-lived, HttpOnly cookie of this server only;
``GET /oauth/<provider>/callback`` accepts the answer only with the same state from the
same browser, once, exchanges the code for a token at the provider (server to server), asks
the provider who that is, and opens a session for that account (created at the first
sign-in). ``next`` leads only to paths on this server.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.services import external_accounts, web_sessions
from jupyter_repo.repository.services.external_accounts import JUPYTERHUB, GroupGrant, Identity
from jupyter_repo.server.base import log
from jupyter_repo.server.jupyterhub import JupyterHubService
from jupyter_repo.server.web.base import SESSION_COOKIE, WebHandler, local_path

STATE_COOKIE = "jupyter_repo_oauth"
#: Seconds between leaving for the provider and coming back.
STATE_MAX_AGE = 600
PROVIDER_TIMEOUT = 15.0


@dataclass(frozen=True)
class OAuthProvider:
    """One identity provider, from ``c.ServeApp.oauth_providers`` (or the hub)."""

    name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    redirect_uri: str
    display_name: str = ""
    scope: str = "openid profile email"
    #: The userinfo field that becomes the account name.
    login_claim: str = "preferred_username"
    #: The userinfo field listing the user's groups (for ``group_mapping``).
    groups_claim: str = "groups"
    group_mapping: dict[str, tuple[GroupGrant, ...]] = field(default_factory=dict)
    token_endpoint_auth_method: str = "client_secret_basic"

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> OAuthProvider:
        """A provider from a configuration dict; what is missing or unknown is said."""
        known = set(cls.__dataclass_fields__)
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown OAuth provider settings: {', '.join(sorted(unknown))}")
        missing = {
            "name",
            "client_id",
            "client_secret",
            "authorize_url",
            "token_url",
            "userinfo_url",
            "redirect_uri",
        } - {key for key, value in settings.items() if value}
        if missing:
            raise ValueError(f"OAuth provider settings missing: {', '.join(sorted(missing))}")
        values = dict(settings)
        values["group_mapping"] = {
            group: tuple(GroupGrant.parse(text) for text in targets)
            for group, targets in dict(settings.get("group_mapping") or {}).items()
        }
        values.setdefault("display_name", values["name"])
        return cls(**values)

    @property
    def source(self) -> str:
        return JUPYTERHUB if self.name == JUPYTERHUB else f"oauth:{self.name}"

    def client(self) -> OAuth2Session:
        """authlib's client (requests); its calls block, so they run on a worker thread."""
        return OAuth2Session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scope or None,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=self.token_endpoint_auth_method,
        )


class UsedStates:
    """States already spent in this process: a replayed callback is refused even when its
    cookie is presented again (the provider also refuses a code used twice)."""

    def __init__(self) -> None:
        self._spent: dict[str, float] = {}

    def spend(self, state: str) -> bool:
        now = time.monotonic()
        for old, at in list(self._spent.items()):
            if now - at > STATE_MAX_AGE:
                del self._spent[old]
        if state in self._spent:
            return False
        self._spent[state] = now
        return True


class OAuthHandler(WebHandler):
    """Shared by both steps: which provider, the state cookie."""

    def provider(self, name: str) -> OAuthProvider:
        providers: dict[str, OAuthProvider] = self.settings.get("oauth_providers") or {}
        provider = providers.get(name)
        if provider is None:
            raise errors.NotFound("No such page.")
        return provider

    def refuse(self, message: str) -> NoReturn:
        self.clear_cookie(STATE_COOKIE, path="/oauth/")
        raise errors.InvalidInput(message + " Start again from the login page.")


class OAuthLoginHandler(OAuthHandler):
    """``GET /oauth/<provider>/login?next=<path>``: off to the provider."""

    async def get(self, name: str) -> None:
        provider = self.provider(name)
        target = local_path(self.get_query_argument("next", None), "/account")
        state = secrets.token_urlsafe(32)
        verifier = generate_token(64)
        extra = {"nonce": secrets.token_urlsafe(16)} if "openid" in provider.scope.split() else {}
        with provider.client() as client:
            url, _ = client.create_authorization_url(
                provider.authorize_url, state=state, code_verifier=verifier, **extra
            )
        self.set_cookie(
            STATE_COOKIE,
            base64.urlsafe_b64encode(
                json.dumps({"p": name, "s": state, "v": verifier, "n": target}).encode()
            ).decode(),
            path="/oauth/",
            httponly=True,
            samesite="Lax",  # sent on the provider's top-level redirect back, not on others
            secure=self.request.protocol == "https",
            expires_days=STATE_MAX_AGE / 86400,
        )
        # The provider is another site: the one redirect that may leave this server.
        self.set_status(302)
        self.set_header("Location", url)
        self.finish()


class OAuthCallbackHandler(OAuthHandler):
    """``GET /oauth/<provider>/callback?code=...&state=...``: back from the provider."""

    async def get(self, name: str) -> None:
        provider = self.provider(name)
        problem = self.get_query_argument("error", None)
        if problem:
            self.refuse(f"The sign-in was not completed ({problem[:100]}).")
        saved = self._saved_state(name)
        state = self.get_query_argument("state", "") or ""
        code = self.get_query_argument("code", "") or ""
        if not saved or not hmac.compare_digest(state.encode(), saved["s"].encode()):
            self.refuse("This sign-in did not start in this browser, or it has expired.")
        used: UsedStates = self.settings["oauth_used_states"]
        if not code or not used.spend(state):
            self.refuse("This sign-in answer was already used.")
        self.clear_cookie(STATE_COOKIE, path="/oauth/")
        identity = await self._identity(provider, code, saved["v"])
        account = await self.run_write(external_accounts.sign_in, identity)
        old = self.get_cookie(SESSION_COOKIE)
        if old:
            await self.run_write(web_sessions.end, old)
        secret = await self.run_write(
            web_sessions.start,
            account.id,
            max_age=self.session_age,
            remote_addr=self.request.remote_ip or "",
            user_agent=self.request.headers.get("User-Agent", ""),
        )
        self.set_session_cookie(secret)
        self.see_other(local_path(saved.get("n"), "/account"))

    def _saved_state(self, name: str) -> dict[str, str] | None:
        raw = self.get_cookie(STATE_COOKIE)
        if not raw or len(raw) > 2000:
            return None
        try:
            saved = json.loads(base64.urlsafe_b64decode(raw.encode()))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(saved, dict) or saved.get("p") != name:
            return None
        if not all(isinstance(saved.get(key), str) for key in ("s", "v", "n")):
            return None
        return saved

    async def _identity(self, provider: OAuthProvider, code: str, verifier: str) -> Identity:
        """Who the provider says signed in: the code exchanged for a token, then userinfo."""
        try:
            info = await self.run_blocking(_userinfo, provider, code, verifier)
        except Exception as error:  # the provider refused, or answered nonsense
            log.warning("OAuth sign-in with %s failed: %s", provider.name, error)
            raise errors.Unauthenticated(
                f"{provider.display_name} did not confirm this sign-in; start again."
            ) from None
        login = info.get(provider.login_claim) if isinstance(info, dict) else None
        if not isinstance(login, str) or not login:
            raise errors.Unauthenticated(
                f"{provider.display_name} did not say who signed in ({provider.login_claim})."
            )
        groups = info.get(provider.groups_claim) or []
        mapping = provider.group_mapping
        if provider.name == JUPYTERHUB:
            hub: JupyterHubService = self.settings["jupyterhub"]
            model = await hub.user(login)  # groups as the hub says, to this service
            if model is None:
                raise errors.Unauthenticated("JupyterHub does not have this user.")
            groups, mapping = model.get("groups") or [], hub.grants
        return Identity(
            source=provider.source,
            login=login,
            name=str(info.get("name") or "") if provider.name != JUPYTERHUB else "",
            email=str(info.get("email") or ""),
            groups=tuple(group for group in groups if isinstance(group, str)),
            mapping=mapping,
        )


def _userinfo(provider: OAuthProvider, code: str, verifier: str) -> Any:
    """The code exchanged for a token at the provider, then the provider's userinfo."""
    with provider.client() as client:
        client.fetch_token(
            provider.token_url,
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            timeout=PROVIDER_TIMEOUT,
        )
        response = client.get(provider.userinfo_url, timeout=PROVIDER_TIMEOUT)
        response.raise_for_status()
        return response.json()
