"""The route table of the web pages.

These routes come after every API, channel and index route, and the catch-all namespace
routes (``/<owner>/...``) come last and never match the prefixes those own.
"""

from __future__ import annotations

from typing import Any

from jupyter_repo.server import oauth
from jupyter_repo.server.web import account, badges, browse, diffs, file_pages, manage, package
from jupyter_repo.server.web.base import FaviconHandler, StaticHandler, WebNotFoundHandler
from jupyter_repo.server.web.templating import STATIC_DIR

#: First path segments that belong to other parts of the server, never to a namespace.
OTHER_PREFIXES = ("api", "conda", "pypi", "static", "t")
_NOT_OTHER = r"(?!(?:" + "|".join(OTHER_PREFIXES) + r")(?:/|$))"
SEG = r"([^/]+)"
OWNER = "/" + _NOT_OTHER + SEG
REST = r"(.+)"

ROUTES: list[tuple[Any, ...]] = [
    (r"/static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
    (r"/favicon\.ico", FaviconHandler),
    (r"/", browse.HomeHandler),
    (r"/search", browse.SearchHandler),
    (r"/login", account.LoginHandler),
    (r"/logout", account.LogoutHandler),
    (rf"/oauth/{SEG}/login", oauth.OAuthLoginHandler),
    (rf"/oauth/{SEG}/callback", oauth.OAuthCallbackHandler),
    (r"/account", account.AccountHandler),
    (r"/account/tokens", account.TokensHandler),
    (rf"/account/tokens/{SEG}/revoke", account.TokenRevokeHandler),
    (r"/orgs", account.OrgCreateHandler),
    (rf"/orgs/{SEG}", manage.OrgHandler),
    (rf"/orgs/{SEG}/groups/{SEG}", manage.GroupHandler),
    (rf"/labels/{SEG}", manage.LabelsHandler),
    # Namespaces: keep these last.
    (rf"{OWNER}/?", browse.OwnerHandler),
    (rf"{OWNER}/{SEG}/?", package.PackageHandler),
    (rf"{OWNER}/{SEG}/settings", package.PackageSettingsHandler),
    (rf"{OWNER}/{SEG}/badges/({'|'.join(badges.KINDS)})\.svg", badges.BadgeHandler),
    (rf"{OWNER}/{SEG}/files/{SEG}/{REST}", file_pages.FilePageHandler),
    (rf"{OWNER}/{SEG}/download/{SEG}/{REST}", file_pages.FileDownloadHandler),
    (rf"{OWNER}/{SEG}/raw/{SEG}/{REST}", file_pages.FileRawHandler),
    (rf"{OWNER}/{SEG}/diff/{SEG}/{SEG}", diffs.NotebookDiffHandler),
    ("/" + _NOT_OTHER + r".*", WebNotFoundHandler),
]
