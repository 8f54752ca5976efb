"""The suite works for a person at a terminal, not only in CI (issue 16).

CI has no terminal, so a child that prompts on ``/dev/tty`` passes there and hangs for a
person running ``./scripts/test``. These tests run the suite's ``anaconda`` helper inside a
pseudo-terminal (the test run "has a terminal") and check that nothing in the suite starts a
process other than through ``tests/support/processes.py``.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sys
import time
from pathlib import Path

import pytest

from tests.support.anaconda import AnacondaCLI
from tests.support.paths import ROOT
from tests.support.server import RepoServer

CHILD = """
import os, sys, time
from pathlib import Path
from tests.support.anaconda import AnacondaCLI
try:
    os.close(os.open("/dev/tty", os.O_RDWR))
    print("TERMINAL", os.isatty(0), flush=True)
except OSError:
    print("TERMINAL none", flush=True)
cli = AnacondaCLI(Path(sys.argv[1]), sys.argv[2])
start = time.monotonic()
result = cli("login", "--username", sys.argv[3], "--password", "not-the-password", timeout=60)
print("RESULT", result.returncode, round(time.monotonic() - start, 1), flush=True)
"""


def run_in_terminal(args: list[str], timeout: float) -> tuple[int | None, str]:
    """Run ``args`` as the leader of a session whose controlling terminal is a new
    pseudo-terminal; returns its exit status (None: still running at ``timeout``, killed)
    and everything it wrote."""
    pid, master = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the terminal
        os.chdir(ROOT)
        os.execv(args[0], args)
    output = b""
    deadline = time.monotonic() + timeout
    status: int | None = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the child is gone
                    chunk = b""
                output += chunk
            finished, code = os.waitpid(pid, os.WNOHANG)
            if finished:
                status = os.waitstatus_to_exitcode(code)
                break
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    finally:
        os.close(master)
    return status, output.decode("utf-8", "replace")


def test_the_anaconda_helper_never_waits_on_the_terminal(
    server: RepoServer, user: str, tmp_path: Path
) -> None:
    """After a refused password the CLI prompts again; the helper must not let it wait."""
    status, output = run_in_terminal(
        [sys.executable, "-c", CHILD, str(tmp_path / "cli"), server.api, user], timeout=90
    )
    assert "TERMINAL True" in output, output  # the test run really had a terminal
    assert status == 0, output
    match = re.search(r"RESULT (-?\d+) ([\d.]+)", output)
    assert match, output
    assert int(match[1]) != 0 and float(match[2]) < 30, output


@pytest.mark.slow
def test_without_the_helper_the_cli_would_wait_on_the_terminal(
    server: RepoServer, user: str, tmp_path: Path
) -> None:
    """The control: the same login, run the plain way inside the terminal, hangs on the
    prompt -- so the test above can fail."""
    cli = AnacondaCLI(tmp_path / "cli", server.api)
    plain = (
        "import json, os, subprocess, sys; os.environ.update(json.loads(sys.argv[1])); "
        "subprocess.run(sys.argv[2:])"
    )
    status, output = run_in_terminal(
        [
            sys.executable,
            "-c",
            plain,
            json.dumps(cli.env()),
            cli.executable,
            "login",
            "--username",
            user,
            "--password",
            "not-the-password",
        ],
        timeout=15,
    )
    assert status is None, f"the plain run did not wait on the terminal: {output}"


FORBIDDEN = re.compile(
    r"subprocess\.(run|Popen|call|check_call|check_output)\(|os\.system\(|os\.popen\("
    r"|create_subprocess_(exec|shell)\("
)


def test_every_process_of_the_suite_starts_detached() -> None:
    """Tests and benchmarks start processes only through ``tests/support/processes.py``."""
    allowed = {ROOT / "tests" / "support" / "processes.py", Path(__file__).resolve()}
    offenders = []
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in allowed or "fuzz_corpus" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if FORBIDDEN.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "start processes with tests.support.processes:\n" + "\n".join(offenders)
