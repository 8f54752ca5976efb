"""A shared environment spec never publishes credentials (issue 17's two-Lab test found the
publisher's token in a public ``environment.yml``: py-rattler records the token channel an
environment was linked from). The client strips them when it captures; the server refuses
any spec that still carries one -- from any tool -- with a 400 that does not repeat the
secret, and stores nothing."""

from __future__ import annotations

import pytest
import requests

from tests.support.http import auth, upload
from tests.support.server import RepoServer

TOKEN = "jr-" + "A1b2C3d4" * 5 + "xyz"
ANACONDA_STYLE = "ab-12345678-90ab-cdef-1234-567890abcdef"


def explicit(url: str) -> bytes:
    return f"# platform: linux-64\n@EXPLICIT\n{url}\n".encode()


def environment_yml(channel: str) -> bytes:
    return f"name: tides\nchannels:\n  - {channel}\ndependencies:\n  - numpy\n".encode()


LEAKS = [
    pytest.param(
        "explicit.txt",
        explicit(f"http://repo.example/conda/t/{TOKEN}/alice/linux-64/numpy-1.0-0.conda"),
        TOKEN,
        id="lock-token-after-conda",
    ),
    pytest.param(
        "explicit.txt",
        explicit(f"https://repo.example/t/{TOKEN}/conda/alice/noarch/tidy-1.0-0.tar.bz2#abc"),
        TOKEN,
        id="lock-token-at-root",
    ),
    pytest.param(
        "explicit.txt",
        explicit(f"https://conda.anaconda.org/t/{ANACONDA_STYLE}/corp/linux-64/a-1-0.conda"),
        ANACONDA_STYLE,
        id="lock-anaconda-org-token",
    ),
    pytest.param(
        "explicit.txt",
        explicit("https://alice:s3cret-pass@repo.example/conda/alice/linux-64/a-1-0.conda"),
        "s3cret-pass",
        id="lock-user-password",
    ),
    pytest.param(
        "explicit.txt",
        explicit(
            "https://bucket.s3.example/a-1-0.conda?X-Amz-Signature=deadbeefcafe&X-Amz-Expires=60"
        ),
        "deadbeefcafe",
        id="lock-signed-query",
    ),
    pytest.param(
        "environment.yml",
        environment_yml(f"http://repo.example/conda/t/{TOKEN}/alice"),
        TOKEN,
        id="yml-channel-token",
    ),
    pytest.param(
        "environment.yml",
        environment_yml("https://alice:s3cret-pass@repo.example/conda/alice"),
        "s3cret-pass",
        id="yml-channel-password",
    ),
]


@pytest.mark.parametrize(("basename", "content", "secret"), LEAKS)
def test_a_spec_carrying_credentials_is_refused_without_repeating_them(
    server: RepoServer, user: str, unique: str, basename: str, content: bytes, secret: str
) -> None:
    token = server.token(user)
    name = f"leaky-{unique}"
    answer = upload(server.api, token, user, name, "1", basename, content, type="env")
    assert answer.status_code == 400, answer.text
    assert "carries" in answer.text and "credentials" in answer.text
    assert secret not in answer.text
    # Nothing was stored: the package does not exist.
    shown = requests.get(f"{server.api}/package/{user}/{name}", headers=auth(token), timeout=30)
    assert shown.status_code == 404


@pytest.mark.parametrize(
    ("basename", "content"),
    [
        pytest.param(
            "explicit.txt",
            explicit("http://repo.example/conda/t/linux-64/a-1.0-0.conda#0123abcd"),
            id="owner-named-t",
        ),
        pytest.param(
            "environment.yml", environment_yml("http://repo.example/conda/alice"), id="plain-url"
        ),
        pytest.param("environment.yml", environment_yml("conda-forge"), id="channel-name"),
    ],
)
def test_a_spec_without_credentials_is_accepted(
    server: RepoServer, user: str, unique: str, basename: str, content: bytes
) -> None:
    """The check is not a false alarm on ordinary channels (a namespace may be called ``t``)."""
    answer = upload(
        server.api, server.token(user), user, f"clean-{unique}", "1", basename, content, type="env"
    )
    assert answer.status_code in (200, 201), answer.text
