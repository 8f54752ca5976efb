"""The Tornado application: route table, tokens in paths, shared resources."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from tornado import httputil, web

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.indexes.channels import ChannelIndexes
from jupyter_repo.repository.services.token_usage import UsageThrottle
from jupyter_repo.server.base import NotFoundHandler
from jupyter_repo.server.channels import revalidation_answer
from jupyter_repo.server.connection import RequestStart
from jupyter_repo.server.forwarded import TrustedProxies

#: ``/t/<token>`` at the root (rattler) or after the first segment (conda: ``/conda/t/<tok>``).
_PATH_TOKEN = re.compile(r"^(/conda|/pypi|/api)?/t/([A-Za-z0-9-]+)(?=/|$)")


class RepoApplication(web.Application):
    """A Tornado application that understands ``/t/<token>/`` path segments.

    The token is taken out of the path before routing (so handlers and access logs never
    see it) and kept on the request for authentication. A request from a trusted proxy gets
    its client's address and scheme here, before any handler reads them.
    """

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        # Body-less requests reach their handler once read (keeps connections alive after
        # early errors); anonymous repodata revalidations are answered before routing.
        return RequestStart(
            self,
            request_conn,
            partial(super().start_request, server_conn, request_conn),
            shortcuts=(revalidation_answer,),
        )

    def find_handler(self, request: httputil.HTTPServerRequest, **kwargs: Any) -> Any:
        proxies: TrustedProxies | None = self.settings.get("trusted_proxies")
        if proxies is not None:
            proxies.apply(request)
        match = _PATH_TOKEN.match(request.path)
        if match:
            prefix, token = match.group(1) or "", match.group(2)
            rest = request.path[match.end() :] or "/"
            request.path = prefix + rest if prefix or rest != "/" else "/"
            query = request.uri.partition("?")
            request.uri = request.path + (query[1] + query[2] if query[1] else "")
            request.path_token = token  # type: ignore[attr-defined]
        return super().find_handler(request, **kwargs)


def default_routes() -> list[tuple[Any, ...]]:
    from jupyter_repo.server import channels, pypi, pypi_upload
    from jupyter_repo.server.api import routes as api_routes
    from jupyter_repo.server.web import routes as web_routes

    # Channels first: they take the most requests, and Tornado tries routes in order.
    # The web pages' catch-all namespace routes (/<owner>/...) must stay last.
    return [
        *channels.ROUTES,
        *pypi.ROUTES,
        *pypi_upload.ROUTES,
        *api_routes.ROUTES,
        *web_routes.ROUTES,
    ]


def make_app(
    repository: Repository,
    *,
    routes: list[tuple[Any, ...]] | None = None,
    executor: ThreadPoolExecutor | None = None,
    **settings: Any,
) -> RepoApplication:
    """Build the application for ``repository`` (no global state; tests build several)."""
    handlers = list(routes if routes is not None else default_routes())
    handlers.append((r"/.*", NotFoundHandler))
    settings.setdefault("repository", repository)
    if "channel_indexes" not in settings:
        indexes = ChannelIndexes(parent=repository, repository=repository)
        repository.add_listener(indexes.on_changes)
        settings["channel_indexes"] = indexes
    folder = repository.static_folder
    if folder is not None and "static_indexes" not in settings:
        from jupyter_repo.repository.indexes.static import StaticIndexes

        static_indexes = StaticIndexes(
            repository, settings["channel_indexes"], folder, repository.log
        )
        repository.add_listener(static_indexes.on_changes)
        settings["static_indexes"] = static_indexes
    settings.setdefault(
        "executor",
        executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="jupyter-repo"),
    )
    if "notebook_previews" not in settings:
        from jupyter_repo.server.web.previews import NotebookPreviews

        settings["notebook_previews"] = NotebookPreviews(
            parent=repository, repository=repository, executor=settings["executor"]
        )
    settings.setdefault("token_usage", UsageThrottle())
    if "proxies" not in settings:
        from jupyter_repo.mirroring.proxy import Proxies

        settings["proxies"] = Proxies(parent=repository, repository=repository)
    settings.setdefault("default_handler_class", NotFoundHandler)
    # Sign-in from outside: JupyterHub (a JupyterHubService), OAuth 2 providers by name.
    settings.setdefault("jupyterhub", None)
    settings.setdefault("oauth_providers", {})
    settings.setdefault("local_passwords", True)
    if "oauth_used_states" not in settings:
        from jupyter_repo.server.oauth import UsedStates

        settings["oauth_used_states"] = UsedStates()
    # XSRF is checked by the web pages' forms only (the API takes no cookies).
    settings.setdefault("xsrf_cookies", False)
    settings.setdefault("xsrf_cookie_kwargs", {"httponly": True, "samesite": "Strict"})
    return RepoApplication(handlers, **settings)
