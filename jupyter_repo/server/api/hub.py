"""``POST /api/hub/token``: a JupyterHub single-user server gets a token for its user.

The server sends its own hub token (``$JUPYTERHUB_API_TOKEN``) in the body; this server
shows it to the hub (``GET /hub/api/user``) and believes only the hub's answer: a token of
a hub user that may access this service. The user's account is created on first use and
their mapped groups set, and a token with the configured scopes and lifetime comes back,
marked as obtained through JupyterHub (the user sees and can revoke it on the tokens page).
The hub token is never stored.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.services import external_accounts
from jupyter_repo.repository.services.external_accounts import JUPYTERHUB, Identity
from jupyter_repo.server.api import representations as rep
from jupyter_repo.server.base import BaseHandler
from jupyter_repo.server.jupyterhub import JupyterHubService


class HubTokenHandler(BaseHandler):
    async def prepare(self) -> None:
        hub: JupyterHubService | None = self.settings.get("jupyterhub")
        if hub is None or not hub.enabled:
            # No such route here, whatever the credentials.
            raise errors.NotFound("This repository is not a JupyterHub service.")
        await super().prepare()

    async def post(self) -> None:
        hub: JupyterHubService = self.settings["jupyterhub"]
        body = self.json_body(required=True)
        hub_token = body.get("hub_token")
        server_name = body.get("server_name") or ""
        if not isinstance(hub_token, str) or not isinstance(server_name, str):
            raise errors.InvalidInput("Send {'hub_token': <the server's JupyterHub token>}.")
        who = await hub.identify(hub_token)
        model = await hub.user(who["name"])
        if model is None:
            raise errors.Unauthenticated("JupyterHub does not have this user.")
        identity = Identity(
            source=JUPYTERHUB,
            login=who["name"],
            groups=tuple(g for g in model.get("groups") or [] if isinstance(g, str)),
            mapping=hub.grants,
        )
        name = "JupyterHub server" + (f" {server_name[:60]}" if server_name else "")

        def sign_in_and_issue(session: Session) -> dict[str, object]:
            account = external_accounts.sign_in(session, identity)
            row, secret = external_accounts.issue_token(
                session,
                account.id,
                name=name,
                scopes=list(hub.token_scopes),
                max_age=hub.token_max_age,
                origin=JUPYTERHUB,
                remote_addr=self.request.remote_ip or "",
            )
            return {**rep.token(row), "token": secret, "login": account.login}

        self.write_json(await self.run_write(sign_in_and_issue))
