"""Acceptance 2: every route of the extension, enumerated from the running application,
refuses unauthenticated requests and cookie-authenticated writes without an XSRF token;
the authorizer is consulted on every route."""

from __future__ import annotations

import re
import warnings
from http.cookies import SimpleCookie
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from tornado.routing import PathMatches

from jupyter_repo.extension import handlers
from tests.extension.conftest import Fetch

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def extension_routes(web_app: Any) -> list[tuple[str, type]]:
    """(path regex, handler class) of every route whose handler is one of ours."""
    found = []
    pending = list(web_app.default_router.rules) + list(web_app.wildcard_router.rules)
    while pending:
        rule = pending.pop()
        target = rule.target
        if hasattr(target, "rules"):
            pending.extend(target.rules)
        elif isinstance(target, type) and issubclass(target, handlers.RepoHandler):
            assert isinstance(rule.matcher, PathMatches)
            found.append((rule.matcher.regex.pattern, target))
    return sorted(set(found), key=lambda item: item[0])


def concrete(pattern: str, base_url: str) -> str:
    """A request path matching the route (groups filled with a task id), without base_url."""
    path = re.sub(r"\([^)]*\)", "0" * 32, pattern.rstrip("$"))
    return path[len(base_url) :] if path.startswith(base_url) else path


def implemented(handler: type) -> list[str]:
    return [
        method
        for method in METHODS
        if method.lower() in vars(handler)
        or any(
            method.lower() in vars(base)
            for base in handler.__mro__[1:]
            if issubclass(base, handlers.RepoHandler)
        )
    ]


def body_for(method: str) -> bytes | None:
    return b"{}" if method in ("POST", "PUT", "PATCH") else None


async def login_cookies(jp_fetch: Fetch, jp_serverapp: Any) -> dict[str, str]:
    """Log in the way a browser does (token in the URL once) and keep the cookies."""
    token = jp_serverapp.identity_provider.token
    response = await jp_fetch(
        "jupyter-repo", "status", params={"token": token}, headers={"Authorization": ""}
    )
    assert response.code == 200
    cookies: dict[str, str] = {}
    for header in response.headers.get_list("Set-Cookie"):
        for name, morsel in SimpleCookie(header).items():
            cookies[name] = morsel.value
    assert any(name.startswith("username-") for name in cookies), cookies
    return cookies


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def test_every_route_refuses_strangers_and_forged_writes(
    jp_fetch: Fetch,
    jp_serverapp: Any,
    jp_base_url: str,
) -> None:
    routes = extension_routes(jp_serverapp.web_app)
    assert {handler for _pattern, handler in routes} == {
        handler for _pattern, handler in handlers.ROUTES
    }
    assert len(routes) == len(handlers.ROUTES) == 18

    cookies = await login_cookies(jp_fetch, jp_serverapp)
    xsrf = "2|deadbeef|0123456789abcdef0123456789abcdef|1700000000"
    checked = 0
    for pattern, handler in routes:
        path = concrete(pattern, jp_base_url)
        assert path.startswith("jupyter-repo/"), path
        for method in implemented(handler):
            # No credentials at all: refused before the handler runs.
            response = await jp_fetch(
                path,
                method=method,
                body=body_for(method),
                headers={"Authorization": ""},
                raise_error=False,
            )
            assert response.code == 403, (method, path, response.code)

            # A logged-in browser (cookie) without the XSRF token: writes are refused.
            response = await jp_fetch(
                path,
                method=method,
                body=body_for(method),
                headers={"Authorization": "", "Cookie": cookie_header(cookies)},
                raise_error=False,
            )
            if method == "GET":
                assert response.code != 403, (method, path, response.body)
            else:
                assert response.code == 403, (method, path, response.code)
                assert b"_xsrf" in response.body

                # ...and the same request with a matching XSRF cookie and header passes.
                response = await jp_fetch(
                    path,
                    method=method,
                    body=body_for(method),
                    headers={
                        "Authorization": "",
                        "X-XSRFToken": xsrf,
                        "Cookie": cookie_header({**cookies, "_xsrf": xsrf}),
                    },
                    raise_error=False,
                )
                assert response.code != 403, (method, path, response.body)
            checked += 1
    assert checked == 19  # 18 routes; tasks/<id> answers GET and DELETE


def test_no_route_escapes_jupyters_authentication(
    jp_configurable_serverapp: Any, jp_server_config: dict[str, Any]
) -> None:
    """With ``allow_unauthenticated_access = False`` jupyter_server warns about every
    endpoint that is neither authenticated nor explicitly public; none may be ours."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=jp_server_config)
    assert app.web_app.settings["allow_unauthenticated_access"] is False
    assert len(extension_routes(app.web_app)) == len(handlers.ROUTES)
    complaints = [
        str(item.message)
        for item in caught
        if type(item.message).__name__ == "JupyterServerAuthWarning"
    ]
    assert not [text for text in complaints if "jupyter-repo" in text or "Repo" in text]


class ReadOnlyAuthorizer(Authorizer):
    """Allows reading only, as a read-only deployment (or JupyterHub role) would."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"


class TestReadOnlyDeployment:
    @pytest.fixture
    def jp_server_config(self, repo_config: dict[str, Any]) -> dict[str, Any]:
        return {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_repo": True},
                "allow_unauthenticated_access": False,
                "authorizer_class": ReadOnlyAuthorizer,
            },
            "RepoExtension": repo_config,
        }

    async def test_the_authorizer_guards_every_write(
        self, jp_fetch: Fetch, jp_serverapp: Any, jp_base_url: str
    ) -> None:
        for pattern, handler in extension_routes(jp_serverapp.web_app):
            path = concrete(pattern, jp_base_url)
            for method in implemented(handler):
                response = await jp_fetch(
                    path, method=method, body=body_for(method), raise_error=False
                )
                if method == "GET":
                    assert response.code != 403, (method, path)
                else:
                    assert response.code == 403, (method, path, response.code)
                    assert b"not authorized" in response.body
