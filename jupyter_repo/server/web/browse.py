"""Reading pages: home, search results and a namespace's packages."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import listings
from jupyter_repo.server.web.base import WebHandler, path_name

PER_PAGE = 50
TYPE_LABELS = {
    "conda": "conda",
    "pypi": "PyPI",
    "ipynb": "notebook",
    "env": "environment",
    "project": "project",
    "file": "file",
}
COMMON_PLATFORMS = ("noarch", "linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64")


class HomeHandler(WebHandler):
    async def get(self) -> None:
        recent, total = await self.run(listings.recent_packages, self.actor, limit=20)
        self.render_page(
            "home.html",
            recent=recent,
            total=total,
            type_labels=TYPE_LABELS,
            platforms=COMMON_PLATFORMS,
        )


class FacetCache:
    """The search filters' counts per (who is asking, query), kept ``seconds`` (30): counting
    every file of a large catalogue for each page of results would cost more than the
    results; counts a few seconds old are good enough to choose a filter."""

    def __init__(self, seconds: float = 30.0, size: int = 512) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, listings.Facets]] = OrderedDict()

    @staticmethod
    def key(actor: Actor, query: str) -> tuple[Any, ...]:
        """Everything that decides which packages the actor sees, and the query."""
        return (
            actor.user_id,
            actor.is_site_admin,
            actor.token_account_id,
            actor.token_package_id,
            actor.token_label,
            query.strip().lower(),
        )

    def get(self, key: tuple[Any, ...]) -> listings.Facets | None:
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: tuple[Any, ...], facets: listings.Facets) -> None:
        self._entries[key] = (time.monotonic() + self.seconds, facets)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


SORT_CHOICES = {"relevance": "best match", "name": "name", "updated": "last update"}
OWNER_SORT_CHOICES = {"name": "name", "updated": "last update"}


def checked_filter(check: Callable[[str], str], value: str | None) -> tuple[str | None, bool]:
    """A filter typed into the address or a form: (the value, True) if it is well formed,
    else (None, False): the page then shows every package and says the filter was left out,
    rather than answering with an error page."""
    if value is None:
        return None, True
    try:
        return check(value), True
    except errors.InvalidInput:
        return None, False


def _known_type(value: str) -> str:
    if value not in TYPE_LABELS:
        raise errors.InvalidInput(f"No package type {value!r}.")
    return value


class SearchHandler(WebHandler):
    async def get(self) -> None:
        query = (self.get_query_argument("q", "") or "").strip()
        typed = {
            "type": self.text_argument("type"),
            "platform": self.text_argument("platform"),
            "label": self.text_argument("label"),
        }
        checks: dict[str, Callable[[str], str]] = {
            "type": _known_type,
            "platform": names.subdir,
            "label": names.label,
        }
        filters: dict[str, str | None] = {"q": query}
        ignored: list[tuple[str, str]] = []
        for key, value in typed.items():
            filters[key], ok = checked_filter(checks[key], value)
            if not ok and value is not None:
                ignored.append((key, value))
        sort = self.text_argument("sort") or "relevance"
        if sort not in SORT_CHOICES:
            ignored.append(("sort", sort))
            sort = "relevance"
        per_page = self.per_page(PER_PAGE)
        results = await self.run(
            listings.search_packages,
            self.actor,
            query,
            package_type=filters["type"],
            platform=filters["platform"],
            label=filters["label"],
            page=self.int_argument("page", 1),
            per_page=per_page,
            sort=sort,
        )
        cache: FacetCache = self.application.settings.setdefault("facet_cache", FacetCache())
        facets_key = cache.key(self.actor, query)
        facets = cache.get(facets_key)
        if facets is None:
            facets = await self.run(listings.search_facets, self.actor, query)
            cache.put(facets_key, facets)
        self.render_page(
            "search.html",
            results=results,
            facets=facets,
            filters=filters,
            ignored=ignored,
            sort=sort,
            sort_choices=SORT_CHOICES,
            params={
                **filters,
                "sort": None if sort == "relevance" else sort,
                "per_page": None if per_page == PER_PAGE else per_page,
            },
            type_labels=TYPE_LABELS,
            platforms=COMMON_PLATFORMS,
        )


class OwnerHandler(WebHandler):
    """``/<owner>``: a user's or organization's packages (private ones to those allowed)."""

    async def get(self, owner: str) -> None:
        login = path_name(names.login, owner)
        typed = self.text_argument("type")
        package_type, ok = checked_filter(_known_type, typed)
        sort = self.text_argument("sort") or "name"
        ignored = [] if ok else [("type", typed or "")]
        if sort not in OWNER_SORT_CHOICES:
            ignored.append(("sort", sort))
            sort = "name"
        per_page = self.per_page(PER_PAGE)
        view = await self.run(
            listings.owner_packages,
            self.actor,
            login,
            package_type=package_type,
            page=self.int_argument("page", 1),
            per_page=per_page,
            sort=sort,
        )
        self.render_page(
            "owner.html",
            view=view,
            package_type=package_type,
            type_labels=TYPE_LABELS,
            ignored=ignored,
            sort=sort,
            sort_choices=OWNER_SORT_CHOICES,
            params={
                "type": package_type,
                "sort": None if sort == "name" else sort,
                "per_page": None if per_page == PER_PAGE else per_page,
            },
        )
