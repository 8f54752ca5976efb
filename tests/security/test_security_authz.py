"""Regression tests of the security review's access findings (issue 15: 1, 2, 8, 9, 10, 14).

Each test performs the attack as the review did -- over real HTTP against the session's
server, with alice (organization owner), bob (in the organization's write group ``writers``)
and mallory (an outsider) -- and checks that it is refused and that nothing stored changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth, upload
from tests.support.server import RepoServer


@dataclass
class Team:
    server: RepoServer
    org: str
    alice: str
    bob: str
    mallory: str
    tokens: dict[str, str]
    files: Path

    def get(self, who: str | None, path: str, **kwargs: Any) -> requests.Response:
        token = self.tokens[who] if who else None
        return requests.get(self.server.url + path, headers=auth(token), timeout=60, **kwargs)

    def send(
        self, method: str, who: str | None, path: str, body: Any = None, token: str | None = None
    ) -> requests.Response:
        secret = token or (self.tokens[who] if who else None)
        data = json.dumps(body) if body is not None else None
        return requests.request(
            method,
            self.server.url + path,
            data=data,
            timeout=60,
            headers={**auth(secret), "Content-Type": "application/json"},
        )

    def upload(
        self,
        who: str | None,
        owner: str,
        package: str,
        version: str,
        basename: str,
        path: Path | bytes,
        token: str | None = None,
        **params: Any,
    ) -> requests.Response:
        secret = token or (self.tokens[who] if who else None)
        return upload(self.server.api, secret, owner, package, version, basename, path, **params)


@pytest.fixture
def team(server: RepoServer, unique: str, tmp_path: Path) -> Team:
    alice = server.create_user(f"alice{unique}")
    bob = server.create_user(f"bob{unique}")
    mallory = server.create_user(f"mallory{unique}")
    org = server.create_org(f"science{unique}", alice)
    server.add_to_group(org, "writers", bob, "write")
    tokens = {login: server.token(login) for login in (alice, bob, mallory)}
    return Team(server, org, alice, bob, mallory, tokens, tmp_path)


def simple_page(team: Team, project: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Accept": "application/vnd.pypi.simple.v1+json"}
    user = ("__token__", token) if token else None
    response = requests.get(
        f"{team.server.url}/pypi/{team.org}/simple/{project}/",
        headers=headers,
        auth=user,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


# -- finding 1: one PEP 503 project name, one package ------------------------------------------


SPELLINGS = ["sci_tools", "Sci.Tools", "SCI-TOOLS", "sci__tools", "sci-_.tools"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_finding_1_takeover_through_name_normalisation_is_refused(
    team: Team, spelling: str
) -> None:
    org, alice, bob = team.org, team.alice, team.bob
    original = builders.wheel(team.files / "a", "sci-tools", "1.0")
    assert team.upload(alice, org, "sci-tools", "1.0", original.name, original).status_code == 201
    before = simple_page(team, "sci-tools")
    evil = builders.wheel(team.files / "evil", spelling, "99.0")
    response = team.upload(bob, org, spelling, "99.0", evil.name, evil)
    assert response.status_code == 403, response.text
    # The anaconda CLI creates the package first: that is refused too (it exists).
    created = team.send("POST", bob, f"/api/package/{org}/{spelling}", {"public": True})
    assert created.status_code == 409, created.text
    staged = team.send(
        "POST", bob, f"/api/stage/{org}/{spelling}/99.0/{evil.name}", {"distribution_type": "pypi"}
    )
    assert staged.status_code == 403, staged.text
    assert simple_page(team, "sci-tools") == before
    assert [f["filename"] for f in before["files"]] == [original.name]
    listed = team.get(None, f"/api/packages/{org}").json()
    assert [item["name"] for item in listed] == ["sci-tools"]
    found = team.get(None, "/api/search", params={"name": "sci", "owner": org}).json()
    assert [item["full_name"] for item in found] == [f"{org}/sci-tools"]
    metadata = requests.get(
        f"{team.server.url}/pypi/{org}/simple/sci-tools/sci_tools-99.0-py3-none-any.whl.metadata",
        timeout=60,
    )
    assert metadata.status_code == 404


def test_finding_1_other_spellings_reach_the_one_package(team: Team) -> None:
    """The owner's own upload under another spelling joins the package that owns the name."""
    org, alice = team.org, team.alice
    first = builders.wheel(team.files / "a", "sci-tools", "1.0")
    assert team.upload(alice, org, "sci-tools", "1.0", first.name, first).status_code == 201
    second = builders.wheel(team.files / "b", "Sci.Tools", "2.0")
    response = team.upload(alice, org, "Sci.Tools", "2.0", second.name, second)
    assert response.status_code == 201, response.text
    assert response.json()["package"]["full_name"] == f"{org}/sci-tools"
    versions = {f["filename"]: f for f in simple_page(team, "sci-tools")["files"]}
    assert set(versions) == {first.name, second.name}
    assert [item["name"] for item in team.get(None, f"/api/packages/{org}").json()] == ["sci-tools"]


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("sci-tools", "1.0"),  # the same file name again, other bytes
        ("sci-tools", "1"),  # the same version spelled otherwise
        ("sci-tools", "1.0.0"),
        ("Sci.Tools", "1.0"),  # the same project, version and tags, spelled otherwise
        ("SCI_TOOLS", "1.00"),
    ],
)
def test_finding_1_the_same_distribution_twice_is_refused(
    team: Team, name: str, version: str
) -> None:
    org, alice = team.org, team.alice
    first = builders.wheel(team.files / "a", "sci-tools", "1.0")
    assert team.upload(alice, org, "sci-tools", "1.0", first.name, first).status_code == 201
    before = simple_page(team, "sci-tools")
    other = builders.wheel(team.files / "b", name, version, summary="other bytes")
    response = team.upload(alice, org, name, version, other.name, other)
    assert response.status_code == 409, response.text
    assert simple_page(team, "sci-tools") == before


def test_finding_1_a_conda_file_under_another_spelling_is_refused(team: Team) -> None:
    org, alice = team.org, team.alice
    wheel = builders.wheel(team.files / "a", "sci-tools", "1.0")
    assert team.upload(alice, org, "sci-tools", "1.0", wheel.name, wheel).status_code == 201
    conda = builders.conda_package(team.files / "c", "sci_tools", "1.0")
    response = team.upload(alice, org, "sci_tools", "1.0", f"noarch/{conda.name}", conda)
    assert response.status_code == 409, response.text
    assert "sci-tools" in response.json()["error"]
    repodata = team.get(None, f"/conda/{org}/noarch/repodata.json").json()
    assert repodata["packages.conda"] == {}


def test_finding_1_conda_file_names_differing_in_case_are_one_file(team: Team) -> None:
    org, alice = team.org, team.alice
    conda = builders.conda_package(team.files / "c", "tool", "1.0")
    assert team.upload(alice, org, "tool", "1.0", f"noarch/{conda.name}", conda).status_code == 201
    upper = team.files / "Tool-1.0-0.conda"
    upper.write_bytes(conda.read_bytes())
    response = team.upload(alice, org, "Tool", "1.0", f"noarch/{upper.name}", upper)
    assert response.status_code in (400, 409), response.text
    repodata = team.get(None, f"/conda/{org}/noarch/repodata.json").json()
    assert list(repodata["packages.conda"]) == [conda.name]


# -- finding 2: a token never mints a wider one ------------------------------------------------


def _mint(team: Team, token: str, **body: Any) -> requests.Response:
    return team.send(
        "POST",
        None,
        "/api/authentications",
        {"note": f"minted-{len(body)}-{id(body)}", **body},
        token=token,
    )


def _token_names(team: Team, login: str) -> list[str]:
    listed = team.get(login, "/api/authentications")
    assert listed.status_code == 200, listed.text
    return sorted(item["name"] for item in listed.json())


@pytest.fixture
def alice_packages(team: Team) -> dict[str, str]:
    alice, org = team.alice, team.org
    made = {}
    for name, owner, private in (
        ("xssnb", alice, False),
        ("privlab", alice, True),
        ("orgsecret", org, True),
    ):
        data = builders.csv_file(team.files / name, f"{name}.csv")
        response = team.upload(
            alice, owner, name, "1", data.name, data, **({"private": "1"} if private else {})
        )
        assert response.status_code == 201, response.text
        made[name] = f"{owner}/{name}"
    return made


@pytest.mark.parametrize("limit", ["package", "label", "org"])
def test_finding_2_a_limited_token_cannot_mint_an_unlimited_one(
    team: Team, alice_packages: dict[str, str], limit: str
) -> None:
    server, alice, org = team.server, team.alice, team.org
    options = {
        "package": {"package": alice_packages["xssnb"]},
        "label": {"label": "dev"},
        "org": {"org": org},
    }[limit]
    limited = server.token(alice, ["all"], **options)
    privlab = f"/api/package/{alice}/privlab"
    minted = _mint(team, limited, scopes=["all"])
    assert minted.status_code == 200, minted.text
    new = minted.json()["token"]
    # The new token is exactly as limited as the one that made it.
    shown = minted.json()
    if limit == "package":
        assert shown["package"] is not None
        assert requests.get(server.url + privlab, headers=auth(new), timeout=30).status_code == 404
    if limit == "org":
        assert shown["org"] == org
        assert requests.get(server.url + privlab, headers=auth(new), timeout=30).status_code == 404
    if limit == "label":
        assert shown["label"] == "dev"
        listing = requests.get(server.url + privlab, headers=auth(new), timeout=30).json()
        assert listing["files"] == []  # privlab's file is on main, not on dev
    data = builders.csv_file(team.files / "evil", "evil.csv")
    response = team.upload(None, alice, "brand-new", "1", data.name, data, token=new, label="main")
    assert response.status_code == 403, response.text
    assert team.get(alice, f"/api/package/{alice}/brand-new").status_code == 404


@pytest.mark.parametrize(
    "wider", ["another-package", "the-organization", "an-organization-package"]
)
def test_finding_2_asking_for_wider_limits_is_refused(
    team: Team, alice_packages: dict[str, str], wider: str
) -> None:
    server, alice, org = team.server, team.alice, team.org
    limited = server.token(alice, ["all"], package=alice_packages["xssnb"])
    body = {
        "another-package": {"package": alice_packages["privlab"]},
        "the-organization": {"org": org},
        "an-organization-package": {"package": alice_packages["orgsecret"]},
    }[wider]
    tokens_before = _token_names(team, alice)
    response = _mint(team, limited, **body)
    assert response.status_code in (403, 404), response.text
    assert _token_names(team, alice) == tokens_before


def test_finding_2_minted_tokens_live_no_longer_and_read_tokens_mint_none(team: Team) -> None:
    server, alice, org = team.server, team.alice, team.org
    short = server.token(alice, ["all"], org=org, max_age=600)
    response = _mint(team, short, **{"max-age": 30 * 24 * 3600})
    assert response.status_code == 200, response.text
    from datetime import datetime, timedelta, timezone

    expires = datetime.fromisoformat(response.json()["expires"])
    assert expires <= datetime.now(timezone.utc) + timedelta(seconds=610)
    read_only = server.token(alice, ["read"])
    assert _mint(team, read_only, scopes=["read"]).status_code == 403


def test_finding_2_a_limited_token_sees_and_revokes_only_tokens_within_its_reach(
    team: Team, alice_packages: dict[str, str]
) -> None:
    server, alice = team.server, team.alice
    wide_name = "wide-token"
    wide = server.token(alice, ["all"], name=wide_name)
    limited = server.token(alice, ["all"], package=alice_packages["xssnb"])
    listed = requests.get(
        server.url + "/api/authentications", headers=auth(limited), timeout=30
    ).json()
    assert wide_name not in {item["name"] for item in listed}
    response = team.send("DELETE", None, f"/api/authentications/name/{wide_name}", token=limited)
    assert response.status_code == 404
    assert requests.get(server.url + "/api/user", headers=auth(wide), timeout=30).status_code == 200


# -- finding 8: a private object and a missing one answer alike ---------------------------------


def _shape(response: requests.Response, *names: str) -> tuple[int, str]:
    text = response.text
    for name in names:
        text = text.replace(name, "NAME")
    return response.status_code, text


@pytest.fixture
def bobs_secret(team: Team) -> str:
    data = builders.csv_file(team.files / "secret", "secret.csv")
    response = team.upload(
        team.bob, team.bob, "secretproj", "1", data.name, data, private="1", label="hush"
    )
    assert response.status_code == 201, response.text
    wheel = builders.wheel(team.files / "secret-wheel", "secretwheel", "1.0")
    response = team.upload(
        team.bob, team.bob, "secretwheel", "1.0", wheel.name, wheel, private="1", label="hush"
    )
    assert response.status_code == 201, response.text
    conda = builders.conda_package(team.files / "secret-conda", "secretconda", "1.0")
    response = team.upload(
        team.bob,
        team.bob,
        "secretconda",
        "1.0",
        f"noarch/{conda.name}",
        conda,
        private="1",
        label="hush",
    )
    assert response.status_code == 201, response.text
    return "secretproj"


@pytest.mark.parametrize("who", ["mallory", None], ids=["outsider", "anonymous"])
def test_finding_8_uploads_answer_alike_for_private_and_missing_packages(
    team: Team, bobs_secret: str, who: str | None
) -> None:
    bob = team.bob
    actor = team.mallory if who else None
    data = builders.csv_file(team.files / "probe", "probe.csv")
    answers = {
        name: _shape(team.upload(actor, bob, name, "2", data.name, data), name)
        for name in (bobs_secret, "nosuchproj")
    }
    assert answers[bobs_secret] == answers["nosuchproj"], answers
    assert answers["nosuchproj"][0] == (403 if who else 401)
    staged = {
        name: _shape(
            team.send(
                "POST", actor, f"/api/stage/{bob}/{name}/2/x.csv", {"distribution_type": "file"}
            ),
            name,
        )
        for name in (bobs_secret, "nosuchproj")
    }
    assert staged[bobs_secret] == staged["nosuchproj"], staged
    listed = team.get(bob, f"/api/package/{bob}/{bobs_secret}").json()
    assert [f["basename"] for f in listed["files"]] == ["secret.csv"]


def test_finding_8_tokens_for_invisible_packages_are_refused_like_missing_ones(
    team: Team, bobs_secret: str
) -> None:
    answers = {
        name: _shape(_mint(team, team.tokens[team.mallory], package=f"{team.bob}/{name}"), name)
        for name in (bobs_secret, "nosuchproj")
    }
    assert answers[bobs_secret] == answers["nosuchproj"], answers
    assert answers["nosuchproj"][0] == 404


LABEL_ROUTES = [
    pytest.param("/api/channels/{bob}/{label}", id="label-api"),
    pytest.param("/conda/{bob}/label/{label}/noarch/repodata.json", id="repodata"),
    pytest.param("/conda/{bob}/label/{label}/noarch/repodata.json.zst", id="repodata-zst"),
    pytest.param("/conda/{bob}/label/{label}/noarch/repodata_shards.msgpack.zst", id="shard-index"),
    pytest.param("/conda/{bob}/label/{label}/noarch/run_exports.json", id="run-exports"),
    pytest.param("/conda/{bob}/label/{label}/channeldata.json", id="channeldata"),
    pytest.param("/pypi/{bob}/label/{label}/simple/", id="pypi-index"),
    pytest.param("/pypi/{bob}/label/{label}/simple/secretwheel/", id="pypi-project"),
]


@pytest.mark.parametrize("route", LABEL_ROUTES)
@pytest.mark.parametrize("who", ["mallory", None], ids=["outsider", "anonymous"])
def test_finding_8_labels_only_private_packages_use_are_unknown(
    team: Team, bobs_secret: str, who: str | None, route: str
) -> None:
    bob = team.bob
    actor = team.mallory if who else None
    assert "hush" in team.get(bob, f"/api/channels/{bob}").json()
    assert "hush" not in team.get(actor, f"/api/channels/{bob}").json()
    answers = {
        label: _shape(team.get(actor, route.format(bob=bob, label=label)), label)
        for label in ("hush", "nosuchlabel")
    }
    assert answers["hush"] == answers["nosuchlabel"], answers
    assert answers["hush"][0] == 404
    token = team.tokens[bob]
    own = requests.get(
        f"{team.server.url}/t/{token}" + route.format(bob=bob, label="hush"), timeout=30
    )
    assert own.status_code == 200, own.text


@pytest.mark.parametrize("who", ["mallory", None], ids=["outsider", "anonymous"])
def test_finding_8_a_label_becomes_known_with_its_first_public_package(
    team: Team, bobs_secret: str, who: str | None
) -> None:
    bob = team.bob
    actor = team.mallory if who else None
    assert team.get(actor, f"/conda/{bob}/label/hush/noarch/repodata.json").status_code == 404
    assert (
        team.send("PATCH", bob, f"/api/package/{bob}/secretconda", {"public": True}).status_code
        == 200
    )
    assert team.get(actor, f"/conda/{bob}/label/hush/noarch/repodata.json").status_code == 200
    assert "hush" in team.get(actor, f"/api/channels/{bob}").json()


# -- finding 9: what a locked label holds does not change --------------------------------------


@pytest.fixture
def locked(team: Team) -> dict[str, str]:
    org, alice, server = team.org, team.alice, team.server
    conda = builders.conda_package(team.files / "locked", "lockedpkg", "1.0")
    basename = f"noarch/{conda.name}"
    response = team.upload(alice, org, "lockedpkg", "1.0", basename, conda, label="stable")
    assert response.status_code == 201, response.text
    server.grant(org, "writers", "lockedpkg")
    lock = team.send("POST", alice, f"/api/channels/{org}/stable/lock")
    assert lock.status_code == 201, lock.text
    return {"basename": basename, "filename": conda.name, "sha256": response.json()["sha256"]}


def _stable(team: Team) -> dict[str, Any]:
    response = team.get(None, f"/conda/{team.org}/label/stable/noarch/repodata.json")
    assert response.status_code == 200
    return response.json()["packages.conda"]


REMOVALS = {
    "file": ("/api/dist/{org}/lockedpkg/1.0/{basename}", None),
    "release": ("/api/release/{org}/lockedpkg/1.0", None),
    "package": ("/api/package/{org}/lockedpkg", None),
    "package-from-label": ("/api/channels/{org}/stable", {"package": "lockedpkg"}),
    "label": ("/api/channels/{org}/stable", None),
}


@pytest.mark.parametrize("removal", list(REMOVALS))
@pytest.mark.parametrize("who", ["writer", "owner"])  # not even the owner, while it is locked
def test_finding_9_locked_labels_survive_every_removal_route(
    team: Team, locked: dict[str, str], who: str, removal: str
) -> None:
    before = _stable(team)
    assert list(before) == [locked["filename"]]
    path, body = REMOVALS[removal]
    actor = {"writer": team.bob, "owner": team.alice}[who]
    response = team.send(
        "DELETE", actor, path.format(org=team.org, basename=locked["basename"]), body
    )
    assert response.status_code == 403, response.text
    assert _stable(team) == before


def test_finding_9_a_locked_label_is_not_replaced_by_a_copy_or_upload(
    team: Team, locked: dict[str, str]
) -> None:
    org, bob = team.org, team.bob
    before = _stable(team)
    # Replacing it through a copy from elsewhere is refused.
    other = builders.conda_package(team.files / "other", "lockedpkg", "1.0", summary="other bytes")
    assert (
        team.upload(bob, bob, "lockedpkg", "1.0", f"noarch/{other.name}", other).status_code == 201
    )
    replaced = team.send(
        "PUT",
        bob,
        f"/api/copy/package/{bob}/lockedpkg/1.0",
        {"to_owner": org, "to_channel": "main"},
    )
    assert replaced.status_code == 403, replaced.text
    again = team.upload(bob, org, "lockedpkg", "1.0", locked["basename"], other, label="stable")
    assert again.status_code in (403, 409), again.text
    assert _stable(team) == before
    assert before[locked["filename"]]["sha256"] == locked["sha256"]


# -- finding 10: a label limit holds on every route ---------------------------------------------


@pytest.fixture
def labelled(team: Team) -> dict[str, str]:
    alice = team.alice
    made = {}
    for rows, label in ((20, "dev"), (21, "secret")):
        data = builders.csv_file(team.files / label, f"{label}-file.csv", rows=rows)
        response = team.upload(
            alice,
            alice,
            "labelled",
            label.replace("secret", "2").replace("dev", "1"),
            data.name,
            data,
            private="1",
            label=label,
        )
        assert response.status_code == 201, response.text
        made[label] = response.json()["sha256"]
    return made


def test_finding_10_a_label_limited_read_token_reads_only_its_label(
    team: Team, labelled: dict[str, str]
) -> None:
    server, alice = team.server, team.alice
    dev = server.token(alice, ["read"], label="dev")
    shown = requests.get(
        f"{server.url}/api/package/{alice}/labelled", headers=auth(dev), timeout=30
    )
    assert shown.status_code == 200
    text = shown.text
    assert "dev-file.csv" in text and "secret-file.csv" not in text
    assert labelled["secret"] not in text and "secret" not in shown.json()["labels"]
    assert shown.json()["versions"] == ["1"]
    labels = requests.get(
        f"{server.url}/api/channels/{alice}", headers=auth(dev), timeout=30
    ).json()
    assert "secret" not in labels
    found = requests.get(
        f"{server.url}/api/search",
        headers=auth(dev),
        timeout=30,
        params={"name": "labelled", "label": "secret"},
    ).json()
    assert found == []
    assert (
        requests.get(
            f"{server.url}/api/dist/{alice}/labelled/1/dev-file.csv", headers=auth(dev), timeout=30
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/dist/{alice}/labelled/2/secret-file.csv", id="file"),
        pytest.param("/api/release/{alice}/labelled/2", id="release"),
        pytest.param("/api/download/{alice}/labelled/2/secret-file.csv", id="download"),
        pytest.param("/api/channels/{alice}/secret", id="label"),
    ],
)
def test_finding_10_a_label_limited_read_token_finds_nothing_on_other_labels(
    team: Team, labelled: dict[str, str], path: str
) -> None:
    server, alice = team.server, team.alice
    dev = server.token(alice, ["read"], label="dev")
    response = requests.get(server.url + path.format(alice=alice), headers=auth(dev), timeout=30)
    assert response.status_code == 404, response.text
    assert labelled["secret"] not in response.text


LABEL_MOVES = {
    "move-onto-its-label": (
        "POST",
        "/api/channels/{alice}/dev",
        {"package": "labelled", "version": "2"},
    ),
    "copy-onto-its-label": (
        "POST",
        "/api/copy/package/{alice}/labelled/2",
        {"from_channel": "secret", "to_channel": "dev"},
    ),
    "copy-the-other-label": ("POST", "/api/channels/{alice}/secret/copy/dev", None),
    "remove-a-file": ("DELETE", "/api/dist/{alice}/labelled/2/secret-file.csv", None),
    "remove-from-the-other-label": (
        "DELETE",
        "/api/channels/{alice}/secret",
        {"package": "labelled"},
    ),
}


@pytest.mark.parametrize("move", list(LABEL_MOVES))
def test_finding_10_a_label_limited_upload_token_moves_nothing_off_other_labels(
    team: Team, labelled: dict[str, str], move: str
) -> None:
    server, alice = team.server, team.alice
    dev = server.token(alice, ["upload"], label="dev")
    method, path, body = LABEL_MOVES[move]
    response = team.send(method, None, path.format(alice=alice), body, token=dev)
    assert response.status_code in (403, 404), response.text
    owner_view = team.get(alice, f"/api/package/{alice}/labelled").json()
    assert {f["basename"]: f["labels"] for f in owner_view["files"]} == {
        "dev-file.csv": ["dev"],
        "secret-file.csv": ["secret"],
    }
    assert (
        requests.get(
            f"{server.url}/api/download/{alice}/labelled/2/secret-file.csv",
            headers=auth(dev),
            timeout=30,
        ).status_code
        == 404
    )


def test_finding_10_a_label_limited_upload_token_writes_only_its_label(
    team: Team, labelled: dict[str, str]
) -> None:
    alice = team.alice
    dev = team.server.token(alice, ["upload"], label="dev")
    data = builders.csv_file(team.files / "new", "new.csv")
    onto_other = team.upload(
        None, alice, "labelled", "3", data.name, data, token=dev, label="secret"
    )
    assert onto_other.status_code == 403, onto_other.text
    own = team.upload(None, alice, "labelled", "3", data.name, data, token=dev)
    assert own.status_code == 201, own.text
    assert own.json()["labels"] == ["dev"]


# -- finding 14: memberships and visibility -----------------------------------------------------


@pytest.mark.parametrize(
    ("who", "shown"),
    [("anonymous", False), ("outsider", False), ("member", True), ("owner", True)],
    ids=["anonymous", "outsider", "member", "owner"],
)
def test_finding_14_organization_membership_is_shown_to_members_only(
    team: Team, who: str, shown: bool
) -> None:
    org, bob = team.org, team.bob
    assert team.get(None, f"/orgs/{org}").status_code == 404
    actor = {"anonymous": None, "outsider": team.mallory, "member": bob, "owner": team.alice}[who]
    listed = team.get(actor, f"/api/users/{bob}/orgs")
    assert listed.status_code == 200
    assert (org in {item["login"] for item in listed.json()}) is shown


def test_finding_14_a_writer_cannot_change_visibility(team: Team) -> None:
    org, alice, bob = team.org, team.alice, team.bob
    data = builders.csv_file(team.files / "vis", "vis.csv")
    assert team.upload(alice, org, "privvis", "1", data.name, data, private="1").status_code == 201
    team.server.grant(org, "writers", "privvis")
    response = team.send("PATCH", bob, f"/api/package/{org}/privvis", {"public": True})
    assert response.status_code == 403, response.text
    assert team.get(None, f"/api/package/{org}/privvis").status_code == 404
    # Contents remain the writer's business; the audience the administrator's.
    summary = team.send("PATCH", bob, f"/api/package/{org}/privvis", {"summary": "new"})
    assert summary.status_code == 200, summary.text
    made_public = team.send("PATCH", alice, f"/api/package/{org}/privvis", {"public": True})
    assert made_public.status_code == 200
    assert team.get(None, f"/api/package/{org}/privvis").status_code == 200
