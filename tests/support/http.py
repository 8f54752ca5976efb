"""Small helpers over requests for the repository's REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


def upload(
    api: str,
    token: str | None,
    owner: str,
    package: str,
    version: str,
    basename: str,
    path_or_bytes: Path | bytes,
    **params: Any,
) -> requests.Response:
    """The one-request upload: ``PUT /api/upload/<owner>/<package>/<version>/<basename>``."""
    headers = {"Authorization": f"token {token}"} if token else {}
    body = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return requests.put(
        f"{api}/upload/{owner}/{package}/{version}/{basename}",
        data=body,
        headers=headers,
        params=params,
        timeout=120,
    )


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}
