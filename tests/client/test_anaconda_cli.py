"""The real anaconda CLI (anaconda-client 1.16) against a real server: what a user sees."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.anaconda import AnacondaCLI
from tests.support.server import PASSWORD, RepoServer


def test_login_and_whoami(server: RepoServer, anaconda: AnacondaCLI, user: str) -> None:
    before = anaconda("org", "whoami")
    assert "Anonymous User" in before.output

    result = anaconda.login(user, PASSWORD)
    assert "login successful" in result.output

    whoami = anaconda.ok("org", "whoami")
    assert f"Username: {user}" in whoami.output
    assert "Member since:" in whoami.output


def test_login_with_wrong_password_is_refused(anaconda: AnacondaCLI, user: str) -> None:
    result = anaconda("login", "--username", user, "--password", "wrong-password")
    assert result.returncode != 0
    assert "Invalid Username password combination" in result.output


@pytest.mark.slow
def test_upload_every_kind_show_search_download(
    server: RepoServer, anaconda: AnacondaCLI, user: str, samples: Path, tmp_path: Path
) -> None:
    org = server.create_org(f"o{user}", user)
    anaconda.login(user, PASSWORD)
    conda_v2 = builders.conda_package(samples, "clipkg", "1.0", subdir="linux-64", build="h1_0")
    conda_v1 = builders.conda_package(samples, "clipkg", "1.1", fmt=".tar.bz2")
    wheel = builders.wheel(samples, "cli-wheel", "0.1")
    sdist = builders.sdist(samples, "cli-wheel", "0.1")
    csv = builders.csv_file(samples)

    out = anaconda.ok("upload", str(conda_v2)).output
    assert f"{server.url}/{user}/clipkg" in out  # "conda located at: <url>"
    anaconda.ok("upload", "-l", "dev", str(conda_v1))
    anaconda.ok("upload", "-u", org, "--private", str(wheel))
    anaconda.ok("upload", str(sdist))
    anaconda.ok("upload", "-t", "file", "-p", "weather", "-v", "2024.1", "-s", "Weather", str(csv))

    shown = anaconda.ok("show", f"{user}/clipkg").output
    assert "Versions:" in shown and "+ 1.0" in shown and "+ 1.1" in shown
    assert "Access:  public" in shown

    listing = anaconda.ok("show", user).output
    for name in ("clipkg", "cli-wheel", "weather"):
        assert f"{user}/{name}" in listing

    private = anaconda.ok("show", f"{org}/cli-wheel").output
    assert "private" in private

    found = anaconda.ok("search", "-t", "conda", "-p", "linux-64", "clipkg").output
    assert f"{user}/clipkg" in found
    assert "Found 1 packages" in found
    none_found = anaconda.ok("search", "-t", "conda", "-p", "osx-64", "clipkg").output
    assert "Found 0 packages" in none_found

    download_dir = tmp_path / "downloads"
    download_dir.mkdir()
    anaconda.ok("download", f"{user}/weather", cwd=download_dir)
    assert (download_dir / csv.name).read_bytes() == csv.read_bytes()

    # The labels each file went to.
    package = requests.get(f"{server.api}/package/{user}/clipkg").json()
    labels = {f["basename"]: f["labels"] for f in package["files"]}
    assert labels["linux-64/clipkg-1.0-h1_0.conda"] == ["main"]
    assert labels["noarch/clipkg-1.1-0.tar.bz2"] == ["dev"]
    digest = {f["basename"]: f["sha256"] for f in package["files"]}
    assert (
        digest["linux-64/clipkg-1.0-h1_0.conda"]
        == hashlib.sha256(conda_v2.read_bytes()).hexdigest()
    )


@pytest.mark.slow
def test_uploading_the_same_file_twice_is_a_conflict(
    anaconda: AnacondaCLI, user: str, samples: Path
) -> None:
    anaconda.login(user, PASSWORD)
    package = builders.conda_package(samples, "twice", "1.0")
    anaconda.ok("upload", str(package))
    again = anaconda("upload", str(package))
    assert again.returncode != 0
    assert "already exists" in again.output
    skipped = anaconda.ok("upload", "--skip-existing", str(package))
    assert "Skipping" in skipped.output
    forced = anaconda.ok("upload", "--force", str(package))
    assert "Upload complete" in forced.output


@pytest.mark.slow
def test_labels_copy_move_lock_remove(
    server: RepoServer, anaconda: AnacondaCLI, user: str, samples: Path
) -> None:
    anaconda.login(user, PASSWORD)
    anaconda.ok("upload", "-l", "dev", str(builders.conda_package(samples, "lab", "1.0")))
    anaconda.ok("upload", str(builders.conda_package(samples, "lab", "2.0")))

    listed = anaconda.ok("label", "--list").output
    assert "+ dev" in listed and "+ main" in listed

    shown = anaconda.ok("label", "--show", "dev").output
    assert f"{user}/lab/1.0/noarch/lab-1.0-0.conda" in shown

    anaconda.ok("label", "--copy", "dev", "staging")
    assert f"{user}/lab/1.0/" in anaconda.ok("label", "--show", "staging").output

    anaconda.ok("label", "--lock", "staging")
    assert "staging[locked]" in anaconda.ok("label", "--list").output
    refused = anaconda("label", "--remove", "staging")
    assert refused.returncode != 0 and "locked" in refused.output
    anaconda.ok("label", "--unlock", "staging")
    anaconda.ok("label", "--remove", "staging")
    assert "staging" not in anaconda.ok("label", "--list").output

    anaconda.ok("move", f"{user}/lab/1.0", "--from-label", "dev", "--to-label", "test")
    assert "lab-1.0-0.conda" in anaconda.ok("label", "--show", "test").output
    assert "lab-1.0-0.conda" not in anaconda.ok("label", "--show", "dev").output

    copied = anaconda.ok(
        "copy", f"{user}/lab/2.0", "--from-label", "main", "--to-label", "beta"
    ).output
    assert "Copied 1 files" in copied
    files = requests.get(f"{server.api}/package/{user}/lab").json()["files"]
    assert {f["basename"]: f["labels"] for f in files}["noarch/lab-2.0-0.conda"] == ["beta", "main"]


@pytest.mark.slow
def test_copy_to_another_owner(
    server: RepoServer, anaconda: AnacondaCLI, user: str, samples: Path
) -> None:
    org = server.create_org(f"c{user}", user)
    anaconda.login(user, PASSWORD)
    anaconda.ok("upload", str(builders.conda_package(samples, "shared", "1.0")))
    anaconda.ok("copy", f"{user}/shared/1.0", "--to-owner", org)
    shown = anaconda.ok("show", f"{org}/shared").output
    assert "+ 1.0" in shown
    conflict = anaconda("copy", f"{user}/shared/1.0", "--to-owner", org)
    assert "conflict" in conflict.output.lower()


@pytest.mark.slow
def test_tokens_create_list_remove(server: RepoServer, anaconda: AnacondaCLI, user: str) -> None:
    anaconda.login(user, PASSWORD)
    created = anaconda.ok(
        "org",
        "auth",
        "--create",
        "--name",
        "ci",
        "--scopes",
        "conda:download api:read",
        input=PASSWORD + "\n",
    )
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("jr-") and all(c.isalnum() or c == "-" for c in token)

    listed = anaconda.ok("org", "auth", "--list").output
    assert "ci" in listed and "conda:download" in listed

    whoami = requests.get(f"{server.api}/user", headers={"Authorization": f"token {token}"})
    assert whoami.status_code == 200 and whoami.json()["login"] == user

    scopes = anaconda.ok("org", "auth", "--list-scopes").output
    assert "conda:download" in scopes and "upload" in scopes

    anaconda.ok("org", "auth", "--remove", "ci")
    assert " ci " not in anaconda.ok("org", "auth", "--list").output
    revoked = requests.get(f"{server.api}/user", headers={"Authorization": f"token {token}"})
    assert revoked.status_code == 401


@pytest.mark.slow
def test_groups(server: RepoServer, anaconda: AnacondaCLI, user: str, samples: Path) -> None:
    org = server.create_org(f"g{user}", user)
    member = server.create_user(f"m{user}")
    anaconda.login(user, PASSWORD)
    anaconda.ok("upload", "-u", org, "--private", str(builders.wheel(samples, "secret-lib", "1")))

    anaconda.ok("groups", "add", f"{org}/readers", "--perms", "read")
    anaconda.ok("groups", "add_member", f"{org}/readers/{member}")
    anaconda.ok("groups", "add_package", f"{org}/readers/secret-lib")
    shown = anaconda.ok("groups", "show", org).output
    assert "readers" in shown and "'permission': 'read'" in shown
    assert member in anaconda.ok("groups", "members", f"{org}/readers").output
    assert f"{org}/secret-lib" in anaconda.ok("groups", "packages", f"{org}/readers").output

    member_token = server.token(member, ["read"])
    seen = requests.get(
        f"{server.api}/package/{org}/secret-lib", headers={"Authorization": f"token {member_token}"}
    )
    assert seen.status_code == 200

    anaconda.ok("groups", "remove_member", f"{org}/readers/{member}")
    hidden = requests.get(
        f"{server.api}/package/{org}/secret-lib", headers={"Authorization": f"token {member_token}"}
    )
    assert hidden.status_code == 404


@pytest.mark.slow
def test_remove_file_release_and_package(
    server: RepoServer, anaconda: AnacondaCLI, user: str, samples: Path
) -> None:
    anaconda.login(user, PASSWORD)
    anaconda.ok("upload", str(builders.conda_package(samples, "gone", "1.0")))
    anaconda.ok("upload", str(builders.conda_package(samples, "gone", "2.0")))
    anaconda.ok("remove", "-f", f"{user}/gone/1.0/noarch/gone-1.0-0.conda")
    assert (
        requests.get(f"{server.api}/dist/{user}/gone/1.0/noarch/gone-1.0-0.conda").status_code
        == 404
    )
    anaconda.ok("remove", "-f", f"{user}/gone/2.0")
    assert requests.get(f"{server.api}/release/{user}/gone/2.0").status_code == 404
    anaconda.ok("remove", "-f", f"{user}/gone")
    missing = anaconda("show", f"{user}/gone")
    assert missing.returncode != 0 and "does not exist" in missing.output
