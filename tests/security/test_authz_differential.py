"""A private object and a missing one answer alike, on every route, to every actor who may
not read the private one (issue 15: the differential test).

Each route of the authorization matrix that names a package, its files or an organization's
insides runs twice per actor without read access: once naming the world's private object,
once naming one that does not exist. The two answers must have the same status, the same
redirect and the same body once the two names are swapped. Labels that only private
packages use are checked the same way against labels that do not exist.

One exception, by design: an actor who may create packages in the namespace learns that a
name is taken when an upload would create it (the upload of a missing name succeeds);
the matrix checks what those uploads answer.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from jupyter_repo.repository.services import labels
from tests.support import authz_policy as policy
from tests.support import authz_world
from tests.support.authz_world import World
from tests.support.server import running_server

PRIVATE_ONLY_LABEL = "privonly"
XSRF_VALUE = re.compile(r'name="_xsrf" value="[^"]*"')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterable[World]:
    root = tmp_path_factory.mktemp("differential")
    with running_server(root / "server") as server:
        built = authz_world.build(server, uuid.uuid4().hex[:6], root / "files")
        server.call(
            labels.add_files,
            built.actor("admin"),
            built.org,
            PRIVATE_ONLY_LABEL,
            labels.FileSelection(built.packages["private"]),
        )
        yield built


def blind(actor: str, route: policy.Route, name: str) -> bool:
    """Has ``actor`` no right to read the private ``name`` object this route names?"""
    levels = policy.LEVELS[actor]
    if name == "org":
        return levels["namespace"] < policy.READ
    if route.creates and levels["namespace"] >= policy.WRITE:
        return False  # the documented exception: see the module's docstring
    needs = {need for need, _level in route.needs}
    if "files" in needs:
        return levels["private-files"] < policy.READ
    return levels["private"] < policy.READ


def package_routes() -> list[policy.Route]:
    return [
        route
        for route in policy.ROUTES
        if any(need in ("package", "files", "fresh") for need, _ in route.needs)
    ]


def org_routes() -> list[policy.Route]:
    return [
        route
        for route in policy.ROUTES
        if any(need in ("org", "org-tokens") for need, _ in route.needs)
    ]


def swapped(answer: authz_world.Answer, names: dict[str, str]) -> tuple[int, str, str]:
    text = answer.body.decode("utf-8", "replace")
    location = answer.location
    text = XSRF_VALUE.sub('name="_xsrf" value="XSRF"', text)  # masked anew on every page
    for real, placeholder in sorted(names.items(), key=lambda item: -len(item[0])):
        text, location = text.replace(real, placeholder), location.replace(real, placeholder)
    return answer.status, location, text


def assert_alike(first: tuple[int, str, str], second: tuple[int, str, str]) -> None:
    """Equal answers; otherwise a diff of the two bodies, which are often long pages."""
    if first != second:
        diff = difflib.unified_diff(
            first[2].splitlines(), second[2].splitlines(), "private", "missing", lineterm="", n=1
        )
        raise AssertionError(f"{first[:2]} vs {second[:2]}\n" + "\n".join(diff))


def run(
    world: World, route: policy.Route, actor: str, values: dict[str, Any], method: str
) -> authz_world.Answer:
    path = authz_world.fill(route.path, values)
    body = authz_world.fill(route.body, values)
    credential = (
        world.fresh_credential(actor, route.family)
        if route.fresh_credential
        else world.credential(actor, route.family)
    )
    return authz_world.send(
        world, authz_world.client_session(), route, method, path, body, credential
    )


#: Values naming the private package's files (a version, a file, a shard).
FILE_VALUES = (
    "version",
    "fresh_version",
    "conda",
    "conda_file",
    "wheel",
    "notebook",
    "fresh_file",
    "staged",
    "digest",
)


def missing_values(
    world: World, values: dict[str, Any], missing: str, *, files_only: bool
) -> dict[str, Any]:
    """The cell's values naming something missing instead of the private object: another
    package (``missing``), or -- for an actor who may know the package but not read its
    files -- other files of the same package."""
    result = dict(values)
    if files_only:
        for key in FILE_VALUES:
            if isinstance(result.get(key), str):
                result[key] = result[key].replace(world.unique, missing)
        result["digest"] = "0" * 64
        return result
    private = world.packages["private"]
    result = {
        key: (value.replace(private, missing) if isinstance(value, str) else value)
        for key, value in values.items()
    }
    result["env"] = missing + "env"
    result["digest"] = "0" * 64
    if "fresh_pkg" in result:
        result["fresh_pkg"] = missing + "fresh"
    return result


def _cells(kind: str) -> list[tuple[policy.Route, str]]:
    routes = package_routes() if kind == "package" else org_routes()
    return [
        (route, actor) for route in routes for actor in policy.ACTORS if blind(actor, route, kind)
    ]


def _ids(cells: list[tuple[policy.Route, str]]) -> list[str]:
    return [f"{route.method} {route.path} {actor}" for route, actor in cells]


PACKAGE_CELLS = _cells("package")
ORG_CELLS = _cells("org")


@pytest.mark.parametrize(("route", "actor"), PACKAGE_CELLS, ids=_ids(PACKAGE_CELLS))
def test_a_private_package_answers_like_a_missing_one(
    world: World, route: policy.Route, actor: str
) -> None:
    values = {**world.values("private"), "new": world.fresh()}
    values.update(authz_world.setup(world, route.setup, actor, "private"))
    missing = f"missing{uuid.uuid4().hex[:6]}"
    files_only = policy.LEVELS[actor]["private"] >= policy.READ
    absent = missing_values(world, values, missing, files_only=files_only)
    private = run(world, route, actor, values, route.method)
    gone = run(world, route, actor, absent, route.method)
    names = {
        values[key]: key.upper()
        for key in (*FILE_VALUES, "env", "fresh_pkg")
        if isinstance(values.get(key), str)
    }
    names.update(
        {
            absent[key]: key.upper()
            for key in (*FILE_VALUES, "env", "fresh_pkg")
            if isinstance(absent.get(key), str)
        }
    )
    names.update({world.packages["private"]: "PKG", missing: "PKG"})
    assert_alike(swapped(private, names), swapped(gone, names))
    assert private.status in (401, 403, 404, 303, 400), private


@pytest.mark.parametrize(("route", "actor"), ORG_CELLS, ids=_ids(ORG_CELLS))
def test_an_organization_answers_outsiders_like_a_missing_one(
    world: World, route: policy.Route, actor: str
) -> None:
    values = {**world.values(None), "new": world.fresh()}
    values.update(authz_world.setup(world, route.setup, actor, None))
    missing = f"missingorg{uuid.uuid4().hex[:6]}"
    absent = {
        key: (value.replace(world.org, missing) if isinstance(value, str) else value)
        for key, value in values.items()
    }
    private = run(world, route, actor, values, route.method)
    gone = run(world, route, actor, absent, route.method)
    names = {world.org: "ORG", missing: "ORG"}
    assert_alike(swapped(private, names), swapped(gone, names))


LABEL_ROUTES = (
    policy.Route("GET", "/api/channels/{org}/{label}"),
    policy.Route("GET", "/conda/{org}/label/{label}/noarch/repodata.json", family="conda"),
    policy.Route("GET", "/conda/{org}/label/{label}/noarch/repodata.json.zst", family="conda"),
    policy.Route(
        "GET", "/conda/{org}/label/{label}/noarch/repodata_shards.msgpack.zst", family="conda"
    ),
    policy.Route("GET", "/conda/{org}/label/{label}/noarch/run_exports.json", family="conda"),
    policy.Route("GET", "/conda/{org}/label/{label}/channeldata.json", family="conda"),
    policy.Route("GET", "/conda/{org}/label/{label}/noarch/{conda_file}", family="conda"),
    policy.Route("GET", "/pypi/{org}/label/{label}/simple/", family="pypi"),
    policy.Route("GET", "/pypi/{org}/label/{label}/simple/{pkg}/", family="pypi"),
    policy.Route("GET", "/pypi/{org}/label/{label}/simple", family="pypi"),
    policy.Route("GET", "/api/search?name={search}&label={label}"),
)


def sees_every_label(actor: str) -> bool:
    """Who may write to the namespace manages its labels, and so knows all of them."""
    levels = policy.LEVELS[actor]
    return levels["namespace"] >= policy.WRITE and levels["labels"] >= policy.ADMIN


LABEL_CELLS = [
    (route, actor)
    for route in LABEL_ROUTES
    for actor in policy.ACTORS
    if actor not in policy.INVALID
    and not sees_every_label(actor)
    and policy.LEVELS[actor]["private-files"] < policy.READ
]


@pytest.mark.parametrize(("route", "actor"), LABEL_CELLS, ids=_ids(LABEL_CELLS))
def test_a_label_only_private_packages_use_answers_like_a_missing_one(
    world: World, route: policy.Route, actor: str
) -> None:
    values = {**world.values("private")}
    answers = []
    for label in (PRIVATE_ONLY_LABEL, f"nolabel{uuid.uuid4().hex[:6]}x"):
        answer = run(world, route, actor, {**values, "label": label}, "GET")
        answers.append(swapped(answer, {label: "LABEL"}))
    assert_alike(answers[0], answers[1])


def test_the_differential_covers_every_kind_of_route(world: World, tmp_path: Path) -> None:
    """Each family of routes and every write route naming a package has cells here."""
    covered = {route.path for route, _actor in PACKAGE_CELLS}
    writes = {route.path for route in package_routes() if route.method != "GET"}
    assert writes <= covered, sorted(writes - covered)
    assert {route.family for route, _ in PACKAGE_CELLS} == {"api", "conda", "pypi", "web"}
    assert len(ORG_CELLS) > 20 and len(LABEL_CELLS) > 40
