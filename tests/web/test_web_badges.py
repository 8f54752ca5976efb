"""Badges at anaconda.org's URLs: the latest version, downloads and platforms as SVG with
escaped text, under a policy that allows nothing, cacheable when public; a private
package's badge is 'not found' to whoever cannot read it."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from jupyter_repo.repository.services import packages
from jupyter_repo.server.web.badges import badge_svg
from tests.support.server import RepoServer
from tests.support.web import upload

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return [element.text or "" for element in root.iter(SVG + "text")]


def _inert(svg: bytes) -> None:
    """Nothing in the badge runs, links or loads."""
    root = ET.fromstring(svg)
    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        assert tag in {"svg", "title", "rect", "g", "text"}, tag
        for name in element.attrib:
            assert not name.lower().startswith("on"), name
            assert "href" not in name.lower(), name


@pytest.fixture(scope="module")
def badged(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("badges")
    owner = server.create_user(f"badge{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    for version, subdir, label in [
        ("1.0", "noarch", "main"),
        ("1.1", "linux-64", "main"),
        ("2.0", "linux-64", "dev"),  # newer, but not on main
    ]:
        path = builders.conda_package(root / version, "badged", version, subdir=subdir)
        upload(
            server,
            token,
            owner,
            "badged",
            version,
            path,
            basename=f"{subdir}/{path.name}",
            label=label,
        )
    return owner


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param("version", ["version", "1.1"], id="version-latest-on-main"),
        pytest.param("downloads", ["downloads", "0"], id="downloads"),
        pytest.param("platforms", ["platforms", "linux-64 | noarch"], id="platforms"),
    ],
)
def test_badges_say_what_the_package_holds(
    server: RepoServer, badged: str, kind: str, expected: list[str]
) -> None:
    response = requests.get(f"{server.url}/{badged}/badged/badges/{kind}.svg", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers.get("ETag")
    _inert(response.content)
    assert _texts(response.content) == expected
    again = requests.get(
        response.url, headers={"If-None-Match": response.headers["ETag"]}, timeout=30
    )
    assert again.status_code == 304


def test_a_wheel_only_package_names_its_type_as_platform(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"badgepy{uuid.uuid4().hex[:8]}")
    wheel = builders.wheel(tmp_path, "wheelbadge", "3.2.1")
    upload(server, server.token(owner), owner, "wheelbadge", "3.2.1", wheel)
    base = f"{server.url}/{owner}/wheelbadge/badges"
    assert _texts(requests.get(f"{base}/platforms.svg", timeout=30).content)[1] == "pypi"
    assert _texts(requests.get(f"{base}/version.svg", timeout=30).content)[1] == "3.2.1"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '"><image href="https://evil.example/x.png"/>',
        "a&b<![CDATA[x]]>",
        "]]><foreignObject><iframe src=javascript:alert(1)></iframe>",
    ],
)
def test_badge_text_is_escaped(hostile: str) -> None:
    svg = badge_svg(hostile, hostile)
    _inert(svg)
    root = ET.fromstring(svg)
    assert _texts(svg)[0] == hostile
    assert hostile in root.attrib["aria-label"]


def test_a_private_package_badge_is_not_found_to_outsiders(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"badgepriv{uuid.uuid4().hex[:8]}")
    stranger = server.create_user(f"badgestr{uuid.uuid4().hex[:8]}")
    wheel = builders.wheel(tmp_path, "secretbadge", "1.0")
    upload(server, server.token(owner), owner, "secretbadge", "1.0", wheel)
    server.call(packages.set_visibility, server.actor(owner), owner, "secretbadge", False)
    for kind in ("version", "downloads", "platforms"):
        private = f"{server.url}/{owner}/secretbadge/badges/{kind}.svg"
        missing = f"{server.url}/{owner}/no-such-badge/badges/{kind}.svg"
        for headers in ({}, {"Authorization": f"token {server.token(stranger)}"}):
            hidden = requests.get(private, headers=headers, timeout=30)
            absent = requests.get(missing, headers=headers, timeout=30)
            assert hidden.status_code == absent.status_code == 404
            assert "secretbadge" not in hidden.text
            assert hidden.headers["Content-Type"] == absent.headers["Content-Type"]
        mine = requests.get(
            private, headers={"Authorization": f"token {server.token(owner)}"}, timeout=30
        )
        assert mine.status_code == 200
        assert mine.headers["Cache-Control"] == "private, no-cache"
