"""Private packages are invisible (404, never 403) to everyone who may not read them."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth, upload
from tests.support.server import RepoServer


@pytest.fixture
def private_setup(server: RepoServer, unique: str, samples: Path) -> dict[str, str]:
    owner = server.create_user(f"own{unique}")
    org = server.create_org(f"org{unique}", owner)
    wheel = builders.wheel(samples, "hidden-lib", "1.0")
    response = upload(
        server.api, server.token(owner), org, "hidden-lib", "1.0", wheel.name, wheel, private="1"
    )
    assert response.status_code == 201, response.text
    return {"owner": owner, "org": org, "basename": wheel.name}


def _reads(server: RepoServer, org: str, basename: str, token: str | None) -> dict[str, int]:
    headers = auth(token)
    base = server.api
    return {
        "show": requests.get(f"{base}/package/{org}/hidden-lib", headers=headers).status_code,
        "release": requests.get(
            f"{base}/release/{org}/hidden-lib/1.0", headers=headers
        ).status_code,
        "file": requests.get(
            f"{base}/dist/{org}/hidden-lib/1.0/{basename}", headers=headers
        ).status_code,
        "download": requests.get(
            f"{base}/download/{org}/hidden-lib/1.0/{basename}", headers=headers
        ).status_code,
        "search": len(
            [
                p
                for p in requests.get(
                    f"{base}/search", params={"name": "hidden-lib"}, headers=headers
                ).json()
                if p["full_name"] == f"{org}/hidden-lib"
            ]
        ),
        "listing": len(requests.get(f"{base}/packages/{org}", headers=headers).json()),
    }


HIDDEN = {"show": 404, "release": 404, "file": 404, "download": 404, "search": 0, "listing": 0}
VISIBLE = {"show": 200, "release": 200, "file": 200, "download": 200, "search": 1, "listing": 1}


def test_anonymous_and_other_users_get_404(
    server: RepoServer, private_setup: dict[str, str], unique: str
) -> None:
    org, basename = private_setup["org"], private_setup["basename"]
    assert _reads(server, org, basename, None) == HIDDEN
    stranger = server.create_user(f"str{unique}")
    assert _reads(server, org, basename, server.token(stranger)) == HIDDEN
    # Writing to something you cannot see is also "not found", not "forbidden".
    response = requests.delete(
        f"{server.api}/package/{org}/hidden-lib", headers=auth(server.token(stranger))
    )
    assert response.status_code == 404


def test_owner_and_granted_group_members_see_it(
    server: RepoServer, private_setup: dict[str, str], unique: str
) -> None:
    org, basename = private_setup["org"], private_setup["basename"]
    assert _reads(server, org, basename, server.token(private_setup["owner"])) == VISIBLE

    member = server.create_user(f"mem{unique}")
    server.add_to_group(org, "readers", member, "read")
    # A member of a group that has not been granted the package sees nothing.
    assert _reads(server, org, basename, server.token(member)) == HIDDEN
    server.grant(org, "readers", "hidden-lib")
    assert _reads(server, org, basename, server.token(member)) == VISIBLE


def test_read_scoped_token_reads_but_cannot_upload(
    server: RepoServer, private_setup: dict[str, str], samples: Path
) -> None:
    org, owner, basename = (private_setup["org"], private_setup["owner"], private_setup["basename"])
    reader = server.token(owner, ["conda:download"])
    assert _reads(server, org, basename, reader) == VISIBLE
    wheel = builders.wheel(samples, "hidden-lib", "2.0")
    response = upload(server.api, reader, org, "hidden-lib", "2.0", wheel.name, wheel)
    assert response.status_code == 403
    assert "scope" in response.json()["error"]
    assert (
        requests.get(f"{server.api}/release/{org}/hidden-lib/2.0", headers=auth(reader)).status_code
        == 404
    )


def test_token_limited_to_another_package_sees_nothing_private(
    server: RepoServer, private_setup: dict[str, str], samples: Path
) -> None:
    org, owner, basename = (private_setup["org"], private_setup["owner"], private_setup["basename"])
    other = builders.wheel(samples, "other-lib", "1.0")
    assert (
        upload(
            server.api, server.token(owner), org, "other-lib", "1.0", other.name, other, private="1"
        ).status_code
        == 201
    )
    limited = server.token(owner, ["read"], package=f"{org}/other-lib")
    assert _reads(server, org, basename, limited) == {**HIDDEN, "listing": 1}
    assert (
        requests.get(f"{server.api}/package/{org}/other-lib", headers=auth(limited)).status_code
        == 200
    )


def test_expired_and_revoked_tokens_are_401(
    server: RepoServer, private_setup: dict[str, str]
) -> None:
    from jupyter_repo.repository.services import tokens

    owner = private_setup["owner"]
    secret = server.token(owner, ["read"], name="short", max_age=1)
    assert requests.get(f"{server.api}/user", headers=auth(secret)).status_code == 200
    import time

    time.sleep(1.2)
    expired = requests.get(f"{server.api}/user", headers=auth(secret))
    assert expired.status_code == 401
    assert "invalid, expired or revoked" in expired.json()["error"]

    revoked = server.token(owner, ["read"], name="to-revoke")
    server.call(tokens.revoke_by_name, server.actor(owner), "to-revoke")
    assert requests.get(f"{server.api}/user", headers=auth(revoked)).status_code == 401
    assert (
        requests.get(f"{server.api}/user", headers=auth("jr-not-a-real-token")).status_code == 401
    )


def test_tokens_are_stored_hashed(server: RepoServer, user: str) -> None:
    from sqlalchemy import select

    from jupyter_repo.repository.models import Token

    secret = server.token(user, ["read"], name="hashed")
    stored = server.call(
        lambda s: [row.token_hash for row in s.scalars(select(Token))], write=False
    )
    assert secret not in stored
    assert all(secret not in value for value in stored)
