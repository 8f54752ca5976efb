"""``jupyter repo mirror add|list|remove``: the records, their checks and their messages."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.static_channel import repo_cli


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return repo_cli(args, tmp_path / "repo", tmp_path, timeout=120)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    created = _run(["admin", "create-user", "alice", "--password=first-password"], tmp_path)
    assert created.returncode == 0, created.stderr
    return tmp_path


def test_added_mirrors_are_listed_with_credentials_masked(site: Path) -> None:
    added = _run(
        [
            "mirror", "add", "alice", "forge", "--kind=conda",
            "--upstream=https://user:secret@example.org/t/jr-abcdefabcdefabcdef/conda/forge",
            "--subdir=noarch", "--subdir=linux-64", "--include=numpy", "--latest=2",
            "--every=3600",
        ],
        site,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "secret" not in added.stdout and "jr-abcdef" not in added.stdout
    proxy = _run(
        ["mirror", "add", "alice", "pypi", "--kind=pypi", "--proxy",
         "--upstream=https://pypi.example.org/simple"],
        site,
    )  # fmt: skip
    assert proxy.returncode == 0, proxy.stderr

    listed = _run(["mirror", "list", "alice", "--json"], site)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["forge"]["upstream"] == "https://***@example.org/t/***/conda/forge/"
    assert rows["forge"]["config"]["subdirs"] == ["noarch", "linux-64"]
    assert rows["forge"]["config"]["latest"] == 2
    assert rows["forge"]["schedule_seconds"] == 3600
    assert rows["pypi"]["mode"] == "proxy"
    assert "secret" not in listed.stdout

    removed = _run(["mirror", "remove", "alice", "forge"], site)
    assert removed.returncode == 0, removed.stderr
    assert [row["name"] for row in json.loads(_run(["mirror", "list", "--json"], site).stdout)] == [
        "pypi"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind=conda", "--upstream=ftp://example.org/c", "--subdir=noarch"], "http"),
        (["--kind=conda", "--upstream=https://example.org/c"], "at least one subdir"),
        (["--kind=npm", "--upstream=https://example.org/c"], "conda or pypi"),
        (["--kind=pypi", "--upstream=https://e.org/s", "--every=5"], "at least 60 seconds"),
        (["--kind=pypi", "--upstream=https://e.org/s", "--newer-than=yesterday"], "date"),
        (["--kind=pypi", "--upstream=https://e.org/s", "--label=../x"], "label"),
    ],
    ids=["scheme", "no-subdir", "kind", "schedule", "date", "label"],
)
def test_a_bad_mirror_is_refused_with_a_message(site: Path, args: list[str], message: str) -> None:
    result = _run(["mirror", "add", "alice", "bad", *args], site)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(_run(["mirror", "list", "alice", "--json"], site).stdout) == []


def test_an_unknown_namespace_or_mirror_is_a_clear_error(site: Path) -> None:
    missing = _run(["mirror", "sync", "alice", "nothing"], site)
    assert missing.returncode == 1
    assert "alice has no mirror named nothing" in missing.stderr
    nobody = _run(
        ["mirror", "add", "nobody", "m", "--kind=pypi", "--upstream=https://e.org/s"], site
    )
    assert nobody.returncode == 1 and "nobody does not exist" in nobody.stderr
