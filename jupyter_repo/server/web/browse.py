"""Reading pages: home, search results and a namespace's packages."""

from __future__ import annotations

from jupyter_repo.repository import names
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


class SearchHandler(WebHandler):
    async def get(self) -> None:
        query = (self.get_query_argument("q", "") or "").strip()
        filters = {
            "q": query,
            "type": self.text_argument("type"),
            "platform": self.text_argument("platform"),
            "label": self.text_argument("label"),
        }
        results = await self.run(
            listings.search_packages,
            self.actor,
            query,
            package_type=filters["type"],
            platform=filters["platform"],
            label=filters["label"],
            page=self.int_argument("page", 1),
            per_page=PER_PAGE,
        )
        self.render_page(
            "search.html",
            results=results,
            filters=filters,
            type_labels=TYPE_LABELS,
            platforms=COMMON_PLATFORMS,
        )


class OwnerHandler(WebHandler):
    """``/<owner>``: a user's or organization's packages (private ones to those allowed)."""

    async def get(self, owner: str) -> None:
        login = path_name(names.login, owner)
        package_type = self.text_argument("type")
        view = await self.run(
            listings.owner_packages,
            self.actor,
            login,
            package_type=package_type,
            page=self.int_argument("page", 1),
            per_page=PER_PAGE,
        )
        self.render_page(
            "owner.html", view=view, package_type=package_type, type_labels=TYPE_LABELS
        )
