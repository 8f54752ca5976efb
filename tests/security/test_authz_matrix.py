"""The authorization matrix: every route of the server, every actor, public and private.

The routes come from the application itself (``make_app``'s rule table); each must be covered
by an entry of ``tests/support/authz_policy.py`` for every method its handler answers, or the
test fails. Expected answers come from that policy table only. All mismatches are collected
into one report.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from tornado.web import RequestHandler

from jupyter_repo.server.app import make_app
from jupyter_repo.server.base import NotFoundHandler
from jupyter_repo.server.web.base import WebHandler
from tests.support import authz_policy as policy
from tests.support import authz_world
from tests.support.authz_world import World
from tests.support.server import RepoServer, running_server

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
THREADS = 4


@dataclass(frozen=True)
class Cell:
    route: policy.Route
    method: str  # the route's, or HEAD for a GET route
    actor: str
    visibility: str | None

    def describe(self) -> str:
        return f"{self.method:6} {self.route.path:55} {self.actor:20} {self.visibility or '-':8}"


# -- the application's own routes --------------------------------------------------------------


@dataclass(frozen=True)
class AppRoute:
    index: int
    pattern: str
    handler: type

    def __str__(self) -> str:
        return f"{self.pattern} ({self.handler.__module__}.{self.handler.__name__})"


def application_routes(server: RepoServer) -> list[AppRoute]:
    """The rule table of the real application, in routing order (catch-all last)."""
    app = make_app(server.repo, channel_indexes=object())
    return [
        AppRoute(index, rule.matcher.regex.pattern, rule.target)
        for index, rule in enumerate(app.wildcard_router.rules)
    ]


def answered_methods(handler: type) -> set[str]:
    """The methods a handler answers with something other than 405."""
    if handler is NotFoundHandler:
        return {"GET", "POST"}  # it refuses every method, before any handler method
    found = set()
    for method in METHODS:
        implementation = getattr(handler, method.lower(), None)
        if implementation is None or implementation is getattr(RequestHandler, method.lower()):
            continue
        if (
            method == "POST"
            and issubclass(handler, WebHandler)
            and handler.submit is WebHandler.submit
        ):
            continue  # WebHandler.post only parses forms for handlers with a submit()
        found.add(method)
    return found


def route_for(path: str, routes: list[AppRoute]) -> AppRoute:
    """The route Tornado picks for ``path``: the first rule whose pattern matches it."""
    bare = path.partition("?")[0]
    for route in routes:
        if re.match(route.pattern, bare):
            return route
    raise AssertionError(f"no route matches {path}")


def coverage_problems(
    world: World, routes: list[AppRoute], entries: Iterable[policy.Route] = policy.ROUTES
) -> list[str]:
    required = {
        (route.index, method) for route in routes for method in answered_methods(route.handler)
    }
    covered: dict[tuple[int, str], str] = {}
    problems = []
    for entry in entries:
        values = defaultdict(lambda: "x1", world.values("public"))
        app_route = route_for(entry.path.format_map(values), routes)
        key = (app_route.index, entry.method)
        if key not in required:
            problems.append(
                f"policy entry {entry.method} {entry.path} reaches {app_route}, "
                f"which does not answer {entry.method}"
            )
        covered[key] = entry.path
    by_index = {route.index: route for route in routes}
    for index, method in sorted(required - set(covered)):
        problems.append(f"route without a matrix entry: {method} {by_index[index]}")
    return problems


# -- cells -------------------------------------------------------------------------------------


def cells() -> list[Cell]:
    result = []
    for route in policy.ROUTES:
        methods = [route.method] + (["HEAD"] if route.method == "GET" else [])
        visibilities: Iterable[str | None] = (
            ("public", "private") if route.per_visibility else (None,)
        )
        for method in methods:
            for visibility in visibilities:
                for actor in policy.ACTORS:
                    result.append(Cell(route, method, actor, visibility))
    return result


def expected_status(cell: Cell, outcome: str) -> int:
    if outcome == policy.OK:  # a refused token reads like no token (policy.expected)
        return cell.route.ok_for("anonymous" if cell.actor in policy.INVALID else cell.actor)
    if outcome == policy.UNAUTH:
        return cell.route.unauthenticated or (303 if cell.route.family == "web" else 401)
    if outcome == policy.HIDDEN:
        package_readable = policy.LEVELS[cell.actor][cell.visibility or "public"] >= policy.READ
        return 400 if cell.route.files_in_form and package_readable else 404
    return 403


def run_cell(world: World, http: authz_world.requests.Session, cell: Cell) -> str | None:
    """Run one cell; a description of the mismatch, or None."""
    route = cell.route
    values = {**world.values(cell.visibility), "new": world.fresh()}
    values.update(authz_world.setup(world, route.setup, cell.actor, cell.visibility))
    path = authz_world.fill(route.path, values)
    body = authz_world.fill(route.body, values)
    credential = (
        world.fresh_credential(cell.actor, route.family)
        if route.fresh_credential
        else world.credential(cell.actor, route.family)
    )
    answer = authz_world.send(world, http, route, cell.method, path, body, credential)
    outcome = policy.expected(
        route.needs,
        cell.actor,
        cell.visibility,
        reads_credentials=route.reads_credentials,
        creates=route.creates,
        family=route.family,
    )
    want = expected_status(cell, outcome)
    got = f"{answer.status} {answer.location} {answer.body[:160]!r}"
    if answer.status != want:
        return f"{cell.describe()} expected {want} ({outcome}), got {got}"
    to_login = answer.location.startswith("/login")
    if answer.status == 303 and to_login != (outcome == policy.UNAUTH):
        return f"{cell.describe()} expected {outcome}, got {got}"
    if route.lists and cell.method == "GET" and answer.status == 200:
        text = authz_world.listing_text(route.lists, answer.body)
        package = world.packages[cell.visibility or "public"]
        shown = policy.may_read_listed(
            cell.actor, cell.visibility or "public", files=route.lists_files
        )
        if (package in text) != shown:
            return f"{cell.describe()} the listing {'lacks' if shown else 'shows'} {package}"
    return None


def run_all(world: World, chosen: list[Cell]) -> list[str]:
    """Reads first (in parallel), then writes: one route's cells in order, routes in
    parallel (set-ups of one route share objects, e.g. the collaborator to remove)."""
    local = threading.local()

    def session() -> authz_world.requests.Session:
        if not hasattr(local, "http"):
            local.http = authz_world.client_session()
        return local.http

    def run_group(group: list[Cell]) -> list[str]:
        found = []
        for cell in group:
            try:
                problem = run_cell(world, session(), cell)
            except Exception as error:  # a broken cell is a finding, not a crash of the run
                problem = f"{cell.describe()} raised {type(error).__name__}: {error}"
            if problem:
                found.append(problem)
        return found

    reads = [cell for cell in chosen if cell.method in ("GET", "HEAD")]
    writes: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    creations: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for cell in chosen:
        if cell.method not in ("GET", "HEAD"):
            # Uploads come last: a label-limited token's upload puts a file on its label,
            # which the other write cells expect no package of the world to have.
            phase = creations if cell.route.creates else writes
            phase[(cell.route.method, cell.route.path)].append(cell)
    problems: list[str] = []
    with ThreadPoolExecutor(THREADS) as pool:
        batches: list[list[Cell]] = [reads[start::THREADS] for start in range(THREADS)]
        for found in pool.map(run_group, batches):
            problems.extend(found)
        for phase in (writes, creations):
            for found in pool.map(run_group, list(phase.values())):
                problems.extend(found)
    return sorted(problems)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterable[World]:
    root = tmp_path_factory.mktemp("matrix")
    with running_server(root / "server") as server:
        yield authz_world.build(server, uuid.uuid4().hex[:6], root / "files")


def test_authorization_matrix(
    world: World, capsys: pytest.CaptureFixture[str], artifacts_dir: Path
) -> None:
    routes = application_routes(world.server)
    problems = coverage_problems(world, routes)
    chosen = cells()
    problems += run_all(world, chosen)
    summary = (
        f"authorization matrix: {len(routes)} routes, {len(chosen)} cells checked, "
        f"{len(problems)} problems"
    )
    (artifacts_dir / "authz-matrix.txt").write_text(summary + "\n" + "\n".join(problems))
    with capsys.disabled():
        print("\n" + summary)
    assert not problems, "\n" + "\n".join(problems)


def test_a_route_without_a_policy_entry_fails(world: World) -> None:
    """A new route (or a new method of a route) that the policy does not list is reported."""

    class NewHandler(RequestHandler):
        async def get(self) -> None: ...

        async def delete(self) -> None: ...

    routes = application_routes(world.server)
    assert coverage_problems(world, routes) == []
    added = [*routes[:-1], AppRoute(len(routes), r"/api/brand-new$", NewHandler), routes[-1]]
    problems = coverage_problems(world, added)
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "route without a matrix entry"
    ] * 2
    assert "DELETE /api/brand-new$" in problems[0] and "GET /api/brand-new$" in problems[1]
    without_scopes = [entry for entry in policy.ROUTES if entry.path != "/api/scopes"]
    assert coverage_problems(world, routes, without_scopes) == [
        f"route without a matrix entry: GET {route_for('/api/scopes', routes)}"
    ]
