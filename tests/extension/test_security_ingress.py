"""Issue 15, finding 13 in the Jupyter extension: JSON bodies outside the bounds (deep
nesting, huge or non-finite numbers, lone surrogates) are a 400 with a readable message on
every endpoint that reads a body, never a 500 with a traceback in Jupyter's log."""

from __future__ import annotations

import logging

import pytest

from tests.extension.conftest import Fetch
from tests.security.test_security_ingress import BAD_BODIES

#: The endpoints that read a JSON body.
BODY_ROUTES = [
    ("login",),
    ("publish", "notebook"),
    ("publish", "environment"),
    ("publish", "project"),
    ("open",),
    ("install",),
    ("install-environment",),
    ("create-environment",),
]


async def test_finding_13_extension_bodies_out_of_bounds_are_400(
    jp_fetch: Fetch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, body in BAD_BODIES.items():
        for route in BODY_ROUTES:
            response = await jp_fetch(
                "jupyter-repo", *route, method="POST", body=body, raise_error=False
            )
            assert response.code == 400, (name, route, response.code, response.body[:200])
            assert b'"reason": "bad_request"' in response.body, response.body[:200]
            assert b"not valid JSON" in response.body, response.body[:200]
    failures = [
        record
        for record in caplog.records
        if record.exc_info
        or "Traceback" in record.getMessage()
        or "RecursionError" in record.getMessage()
    ]
    assert not failures, [record.getMessage()[:200] for record in failures]
