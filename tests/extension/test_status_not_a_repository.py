"""Issue 17, defect 8: a configured URL that is not a repository is named so in the status
the Lab shows (sidebar, settings dialog), not as a bare "404 Not Found"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.extension.conftest import Fetch, call
from tests.support.net import not_a_repository


@pytest.fixture(params=[404, 200], ids=["404-everywhere", "html-everywhere"])
def plain_site(request: pytest.FixtureRequest) -> Iterator[str]:
    with not_a_repository(request.param) as url:
        yield url


@pytest.fixture
def repo_config(plain_site: str, tmp_path: Path) -> dict[str, Any]:
    """The administrator configured a URL (and a token) of a site that is no repository."""
    return {
        "url": plain_site,
        "token": "jr-some-token",
        "credentials_dir": str(tmp_path / "credentials"),
    }


async def test_defect_8_status_names_a_site_without_the_repository_api(
    jp_fetch: Fetch, plain_site: str
) -> None:
    status, answer = await call(jp_fetch, "status")
    assert status == 200 and answer["connected"] is False
    assert answer["error"].startswith(f"There is no jupyter-repo API at {plain_site}: check")
