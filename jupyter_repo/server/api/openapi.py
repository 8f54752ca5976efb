"""``GET /api/openapi.json``: the OpenAPI description of the REST API (``openapi.yaml``)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from jupyter_repo.server.base import BaseHandler


@cache
def load_openapi() -> dict[str, Any]:
    text = files("jupyter_repo.server.api").joinpath("openapi.yaml").read_text()
    document: dict[str, Any] = yaml.safe_load(text)
    return document


class OpenAPIHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json(await self.run_blocking(load_openapi))
