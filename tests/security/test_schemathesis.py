"""Schemathesis against the live server's own OpenAPI description: no 500s, ever.

Run through the schemathesis CLI (its pytest plugin does not support pytest 9 yet) with a
bounded number of examples per operation and a fixed seed, so CI is fast and repeatable.
Requests carry a token of a throw-away user, so generated writes only touch that user.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support import processes
from tests.support.server import RepoServer

MAX_EXAMPLES = 25


@pytest.mark.slow
def test_api_never_answers_500(
    server: RepoServer, tmp_path: Path, artifacts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    login = server.create_user("fuzzer")
    token = server.token(login)
    executable = Path(sys.executable).with_name("schemathesis")
    result = processes.run(
        [
            str(executable),
            "run",
            f"{server.api}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261123",
            "--generation-deterministic",
            "--header",
            f"Authorization: token {token}",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-with-security-parameters",
            "false",
            # Revoking the token of the run itself would turn every later request into a 401.
            "--exclude-name",
            "DELETE /authentications",
            "--report",
            "junit",
            "--report-junit-path",
            str(artifacts_dir / "schemathesis.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    report = ElementTree.parse(artifacts_dir / "schemathesis.xml").getroot()
    suite = report.find("testsuite")
    assert suite is not None
    tested = {case.get("name") for case in suite.iter("testcase")}
    # Every operation was exercised, except the excluded one and the schema document itself.
    expected = set(load_openapi_operations()) - {"DELETE /authentications", "GET /openapi.json"}
    assert tested == expected
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    lines = output.splitlines()
    cases = next(
        (
            f"{line.strip()} {lines[index + 1].strip()}"
            for index, line in enumerate(lines)
            if line.strip() == "Test cases:" and index + 1 < len(lines)
        ),
        "",
    )
    with capsys.disabled():
        print(f"\nschemathesis: {len(tested)} operations; {cases}")


def load_openapi_operations() -> list[str]:
    from jupyter_repo.server.api.openapi import load_openapi

    return [
        f"{method.upper()} {path}"
        for path, item in load_openapi()["paths"].items()
        for method in item
        if method != "parameters"
    ]
