"""Behaviour that only exists when several server processes share one database and store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth
from tests.support.server import RepoServer


@pytest.fixture
def scaled(server: RepoServer, tier: str) -> RepoServer:
    if tier != "scaleout":
        pytest.skip("needs the scaled-out tier (--tier=scaleout)")
    return server


def test_upload_through_one_process_is_read_through_the_other(
        scaled: RepoServer, user: str, samples: Path) -> None:
    first, second = scaled.processes  # type: ignore[attr-defined]
    token = scaled.token(user)
    wheel = builders.wheel(samples, "crossing", "1.0")
    response = requests.put(f"{first.api}/upload/{user}/crossing/1.0/{wheel.name}",
                            data=wheel.read_bytes(), headers=auth(token))
    assert response.status_code == 201, response.text
    for base in (second.api, scaled.api):
        found = requests.get(f"{base}/search", params={"name": "crossing"}).json()
        assert f"{user}/crossing" in [p["full_name"] for p in found]
        download = requests.get(f"{base}/download/{user}/crossing/1.0/{wheel.name}")
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(
            wheel.read_bytes()).hexdigest()
