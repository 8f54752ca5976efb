"""Planning a shared environment against an interpreter (add / upgrade / downgrade), then
installing exactly the pins that change: against a real repository and a real venv."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.envdiff import (
    EnvironmentLock,
    EnvironmentRef,
    compare,
    compute_plan,
    parse_pins,
)
from jupyter_repo.client.environment import CapturedEnvironment
from jupyter_repo.client.install import Installer, Target
from tests.support.environments import isolate_pip, shared_environment, versions_in
from tests.support.server import RepoServer


def test_environment_refs() -> None:
    assert EnvironmentRef.parse(" Alice/team-env/3 ") == EnvironmentRef("alice", "team-env", "3")
    assert EnvironmentRef.parse("alice/team-env") == EnvironmentRef("alice", "team-env")
    assert EnvironmentRef.parse("alice/team-env==2") == EnvironmentRef("alice", "team-env", "2")
    assert str(EnvironmentRef("alice", "team-env", "3")) == "alice/team-env/3"
    with pytest.raises(errors.BadRequest, match=r"^Enter an environment as OWNER/NAME"):
        EnvironmentRef.parse("  ")
    assert EnvironmentRef.parse("alice/team-env/") == EnvironmentRef("alice", "team-env")
    for bad in ("team-env", "alice/", "/x", "a/b/c/d", "alice/te am", "alice/x//3"):
        with pytest.raises(errors.BadRequest, match="is not an environment: write OWNER/NAME"):
            EnvironmentRef.parse(bad)


def test_versions_compare_as_pep_440() -> None:
    assert compare(None, "1.0") == "add"
    assert compare("1.0", "1.10") == "upgrade"  # not as strings
    assert compare("2.0", "2.0rc1") == "downgrade"
    assert compare("1.0", "1.0.0") is None
    assert compare("weird-1", "weird-2") == "change"


def test_plan_uses_canonical_names_markers_and_counts() -> None:
    pins, unpinned = parse_pins([
        "Foo_Bar==2.0", "baz==1.0", "same==3", "new[extra]==0.1",
        "old-only==1.0; python_version < '3.0'", "ranged>=1", "odd===x1",
    ])
    assert unpinned == ["ranged>=1"]
    lock = EnvironmentLock("alice", "env", "1", "requirements.txt", pins, unpinned)
    captured = CapturedEnvironment(
        python_version="3.12.1", executable="python", prefix="/env", platform="linux",
        pip=[{"name": "foo.bar", "version": "1.5"}, {"name": "Baz", "version": "1.2"},
             {"name": "same", "version": "3.0"}, {"name": "odd", "version": "x0"},
             {"name": "pip", "version": "24"}, {"name": "extra-thing", "version": "1"}])
    plan = compute_plan(lock, captured)
    assert [change.to_json() for change in plan.changes] == [
        {"name": "Foo_Bar", "current": "1.5", "wanted": "2.0", "action": "upgrade"},
        {"name": "baz", "current": "1.2", "wanted": "1.0", "action": "downgrade"},
        {"name": "new", "current": None, "wanted": "0.1", "action": "add"},
        {"name": "odd", "current": "x0", "wanted": "x1", "action": "change"},
    ]
    assert plan.counts() == {"add": 1, "upgrade": 1, "downgrade": 1, "change": 1,
                             "unchanged": 1}
    assert plan.not_for_here == ["old-only==1.0; python_version < '3.0'"]
    assert plan.kept == 1  # extra-thing stays; pip is not counted
    assert plan.requirements() == ["Foo_Bar==2.0", "baz==1.0", "new[extra]==0.1", "odd===x1",
                                   "ranged>=1"]
    assert plan.constraints() == ["Foo_Bar==2.0", "baz==1.0", "same==3", "new==0.1",
                                  "odd===x1"]
    assert plan.summary() == ("alice/env/1: 1 to add, 1 to upgrade, 1 to downgrade, "
                              "1 to change, 1 unchanged; 1 unpinned requirements installed "
                              "as written")


def test_plan_and_apply_a_private_environment(server: RepoServer, user: str, unique: str,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_pip(monkeypatch)
    shared = shared_environment(server, user, unique, tmp_path)
    names = shared.packages
    lines: list[str] = []
    installer = Installer(RepoClient(server.url, shared.token), Target.of_interpreter(
        shared.python), log=lines.append, pypi_fallback=False)

    lock = installer.environment_lock(user, shared.name)  # the latest version
    assert (lock.version, lock.basename) == ("1", "requirements.txt")
    assert [(pin.key, pin.version) for pin in lock.pins] == [
        (names[role], version) for role, version in
        (("a", "1.0"), ("b", "2.0"), ("c", "1.0"), ("d", "1.0"))]

    plan = installer.plan_environment(user, shared.name, "1")
    assert [(change.action, change.current, change.wanted) for change in plan.changes] == [
        ("add", None, "1.0"), ("upgrade", "1.0", "2.0"), ("downgrade", "2.0", "1.0")]
    assert plan.unchanged == 1 and plan.prefix == str(shared.venv)

    result = installer.apply_plan(plan)
    assert result["message"] == (f"Installed {user}/{shared.name}/1 into {shared.venv}: "
                                 "1 added, 1 upgraded, 1 downgraded; restart the kernel to "
                                 "use them.")
    assert versions_in(shared.python, list(names.values())) == {
        names["a"]: "1.0", names["b"]: "2.0", names["c"]: "1.0", names["d"]: "1.0"}
    assert not any(names["d"] in line and "Collecting" in line for line in lines)  # untouched
    assert all(shared.token not in line for line in lines)
    assert installer.plan_environment(user, shared.name).changes == []

    # Another user's token: the private environment does not exist for them.
    stranger = server.create_user(f"s{unique}")
    other = Installer(RepoClient(server.url, server.token(stranger)),
                      Target.of_interpreter(shared.python))
    with pytest.raises(errors.NotFound):
        other.plan_environment(user, shared.name)
    with pytest.raises(errors.NotFound, match="has no version 7"):
        installer.plan_environment(user, shared.name, "7")
