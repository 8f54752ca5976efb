"""Planning a shared environment against an interpreter (add / upgrade / downgrade), then
installing exactly the pins that change: against a real repository and a real venv."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.envdiff import (
    CondaPin,
    EnvironmentLock,
    compare,
    compare_conda,
    compute_plan,
    parse_conda_pins,
    parse_pins,
)
from jupyter_repo.client.environment import CapturedEnvironment
from jupyter_repo.client.install import Installer, Target
from jupyter_repo.client.publish import Destination, Publisher
from jupyter_repo.client.refs import EnvironmentRef, InstallSpec, Ref
from jupyter_repo.repository.inspect.envspec import parse_spec
from tests.support import publish
from tests.support.environments import (
    isolate_pip,
    make_venv,
    shared_environment,
    versions_in,
)
from tests.support.server import RepoServer


def test_environment_refs() -> None:
    assert EnvironmentRef.parse(" Alice/team-env/3 ") == EnvironmentRef("alice", "team-env", "3")
    assert EnvironmentRef.parse("alice/team-env") == EnvironmentRef("alice", "team-env")
    assert EnvironmentRef.parse("alice/team-env==2") == EnvironmentRef("alice", "team-env", "2")
    assert str(EnvironmentRef("alice", "team-env", "3")) == "alice/team-env/3"
    with pytest.raises(errors.BadRequest, match=r"^Enter an environment as OWNER/NAME"):
        EnvironmentRef.parse("  ")
    assert EnvironmentRef.parse("alice/team-env/") == EnvironmentRef("alice", "team-env")


@pytest.mark.parametrize(
    "bad", ["team-env", "alice/", "/x", "a/b/c/d", "alice/te am", "alice/x//3"]
)
def test_environment_refs_refuse(bad: str) -> None:
    with pytest.raises(errors.BadRequest, match="is not an environment: write OWNER/NAME"):
        EnvironmentRef.parse(bad)


@pytest.mark.parametrize(
    "text",
    ["Alice/x", "alice/x/1.0", "alice/x==1.0", "alice/x=1.0", "alice/x@1.0", " alice/x/1.0/ "],
)
def test_packages_and_environments_share_one_grammar(text: str) -> None:
    """``jupyter repo install``, the install task and both widgets read one grammar."""
    package, environment = InstallSpec.parse(text), EnvironmentRef.parse(text)
    assert (package.owner, package.name, package.version) == (
        environment.owner,
        environment.name,
        environment.version,
    )


def test_packages_and_environments_are_written_back_in_their_own_spelling() -> None:
    """pip's ``==`` for packages, the address for environments."""
    assert str(InstallSpec.parse("alice/x/1.0")) == "alice/x==1.0"
    assert str(EnvironmentRef.parse("alice/x==1.0")) == "alice/x/1.0"
    assert Ref.match("alice/x y") is None and Ref.match("") is None


def test_versions_compare_as_pep_440() -> None:
    assert compare(None, "1.0") == "add"
    assert compare("1.0", "1.10") == "upgrade"  # not as strings
    assert compare("2.0", "2.0rc1") == "downgrade"
    assert compare("1.0", "1.0.0") is None
    assert compare("weird-1", "weird-2") == "change"


def test_plan_uses_canonical_names_markers_and_counts() -> None:
    pins, unpinned = parse_pins(
        [
            "Foo_Bar==2.0",
            "baz==1.0",
            "same==3",
            "new[extra]==0.1",
            "old-only==1.0; python_version < '3.0'",
            "ranged>=1",
            "odd===x1",
        ]
    )
    assert unpinned == ["ranged>=1"]
    lock = EnvironmentLock("alice", "env", "1", "requirements.txt", pins, unpinned)
    captured = CapturedEnvironment(
        python_version="3.12.1",
        executable="python",
        prefix="/env",
        platform="linux",
        pip=[
            {"name": "foo.bar", "version": "1.5"},
            {"name": "Baz", "version": "1.2"},
            {"name": "same", "version": "3.0"},
            {"name": "odd", "version": "x0"},
            {"name": "pip", "version": "24"},
            {"name": "extra-thing", "version": "1"},
        ],
    )
    plan = compute_plan(lock, captured)
    assert [change.to_json() for change in plan.changes] == [
        {"name": "Foo_Bar", "current": "1.5", "wanted": "2.0", "action": "upgrade", "kind": "pip"},
        {"name": "baz", "current": "1.2", "wanted": "1.0", "action": "downgrade", "kind": "pip"},
        {"name": "new", "current": None, "wanted": "0.1", "action": "add", "kind": "pip"},
        {"name": "odd", "current": "x0", "wanted": "x1", "action": "change", "kind": "pip"},
    ]
    assert plan.counts() == {"add": 1, "upgrade": 1, "downgrade": 1, "change": 1, "unchanged": 1}
    assert plan.not_for_here == ["old-only==1.0; python_version < '3.0'"]
    assert plan.kept == 1  # extra-thing stays; pip is not counted
    assert plan.requirements() == [
        "Foo_Bar==2.0",
        "baz==1.0",
        "new[extra]==0.1",
        "odd===x1",
        "ranged>=1",
    ]
    assert plan.constraints() == ["Foo_Bar==2.0", "baz==1.0", "same==3", "new==0.1", "odd===x1"]
    assert plan.summary() == (
        "alice/env/1: 1 to add, 1 to upgrade, 1 to downgrade, "
        "1 to change, 1 unchanged; 1 unpinned requirements installed "
        "as written; 1 pip pin not compared"
    )
    assert [str(item) for item in plan.not_compared] == [
        "old-only==1.0; python_version < '3.0' (pip): not compared: its environment "
        "marker excludes this interpreter (Python 3.12, linux)"
    ]
    assert plan.unchanged_lines == ["same==3"]


YML_WITHOUT_PINS = (
    "name: analysis\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n"
    "  - numpy>=1.26\n  - pandas\n  - pip\n  - pip: [requests==2.0]\n"
)


def yml_lock(content: str) -> EnvironmentLock:
    """The lock :func:`~jupyter_repo.client.install.environments.read_lock` makes of an
    environment.yml published alone."""
    spec = parse_spec(content, "environment.yml")
    conda, conda_unpinned, _channels = parse_conda_pins(spec)
    pins, unpinned = parse_pins(spec["pip"])
    return EnvironmentLock(
        "alice", "env", "1", "environment.yml", pins, unpinned, conda, [], conda_unpinned
    )


@pytest.mark.parametrize("conda_prefix", [False, True], ids=["venv", "conda-prefix"])
def test_defect_3_every_conda_line_is_in_the_plan_with_its_reason(conda_prefix: bool) -> None:
    """Issue 17, defect 3: ``python=3.11``, ``numpy>=1.26`` and ``pandas`` were dropped
    without a word; each line of the spec is now planned, unchanged or not compared with
    its reason, in the plan the widget, the CLI and the extension read."""
    captured = CapturedEnvironment(
        python_version="3.12.1",
        executable="python",
        prefix="/env",
        platform="linux",
        pip=[{"name": "requests", "version": "2.0"}],
    )
    records = [{"name": "numpy", "version": "1.26.4", "build": "py312_0"}]
    plan = compute_plan(
        yml_lock(YML_WITHOUT_PINS), captured, records if conda_prefix else None, prefix="/env"
    )
    assert plan.changes == [] and plan.unchanged_lines == ["requests==2.0"]
    kernel_python = (
        "this kernel runs Python 3.12.1; installing into a kernel never changes its "
        "Python (create a new kernel from the environment for another one)"
    )
    if conda_prefix:
        numpy = (
            "no exact version and build (/env has 1.26.4 (build py312_0)); only exact "
            "conda pins are installed into a kernel (publish an @EXPLICIT lock to plan them)"
        )
        pandas = numpy.replace("/env has 1.26.4 (build py312_0)", "not installed in /env")
    else:
        numpy = pandas = "/env is not a conda environment (it has no conda-meta folder)"
    assert [item.to_json() for item in plan.not_compared] == [
        {"line": "python=3.11", "kind": "conda", "reason": kernel_python},
        {"line": "numpy>=1.26", "kind": "conda", "reason": numpy},
        {"line": "pandas", "kind": "conda", "reason": pandas},
        {
            "line": "pip",
            "kind": "conda",
            "reason": "the pip part is installed with the kernel's own pip",
        },
    ]
    assert plan.summary() == "alice/env/1: 1 unchanged; 4 conda packages not compared"
    assert plan.to_json()["not_compared"][1]["line"] == "numpy>=1.26"


def test_conda_pins_from_an_explicit_lock_and_an_environment_yml() -> None:
    explicit = parse_spec(
        "# platform: linux-64\n@EXPLICIT\n"
        "https://repo.example/conda/alice/noarch/tiny-data-1.0-py_0.conda#abc\n"
        "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.tar.bz2\n",
        "conda-explicit.txt",
    )
    assert parse_conda_pins(explicit) == (
        [CondaPin("tiny-data", "1.0", "py_0"), CondaPin("zlib", "1.3.1", "hb9d3cd8_2")],
        [],
        ["https://repo.example/conda/alice", "https://conda.anaconda.org/conda-forge"],
    )
    yml = parse_spec(
        "name: team\nchannels: [conda-forge]\ndependencies:\n  - python=3.12\n"
        "  - zlib=1.3.1=hb9d3cd8_2\n  - bioconda::tiny==2.0=0\n  - pip\n"
        "  - pip: [requests==2.32.3]\n",
        "environment.yml",
    )
    assert parse_conda_pins(yml) == (
        [CondaPin("zlib", "1.3.1", "hb9d3cd8_2"), CondaPin("tiny", "2.0", "0")],
        ["python=3.12", "pip"],
        ["conda-forge", "bioconda"],
    )
    assert CondaPin("tiny", "2.0", "0").spec == "tiny ==2.0 0"


def test_conda_versions_compare_in_conda_order_and_builds_count() -> None:
    pin = CondaPin("x", "1.10", "0")
    assert compare_conda(None, pin) == "add"
    assert compare_conda(("1.9", "0"), pin) == "upgrade"
    assert compare_conda(("1.10.1", "0"), pin) == "downgrade"
    assert compare_conda(("1.10", "1"), pin) == "change"  # same version, another build
    assert compare_conda(("1.10", "0"), pin) is None
    assert compare_conda(("1.10.0", "0"), pin) is None  # conda: 1.10 == 1.10.0


def test_plan_conda_part_against_conda_meta_or_say_why_not() -> None:
    pins, unpinned = parse_pins(["requests==2.0"])
    lock = EnvironmentLock(
        "alice",
        "env",
        "1",
        "requirements.txt",
        pins,
        unpinned,
        [
            CondaPin("new", "1.0", "0"),
            CondaPin("Old", "2.0", "0"),
            CondaPin("same", "1", "0"),
            CondaPin("rebuilt", "1", "1"),
        ],
    )
    captured = CapturedEnvironment(
        python_version="3.12.1",
        executable="python",
        prefix="/env",
        platform="linux",
        pip=[{"name": "requests", "version": "2.0"}],
    )
    records = [
        {"name": "old", "version": "1.5", "build": "0"},
        {"name": "same", "version": "1", "build": "0"},
        {"name": "rebuilt", "version": "1", "build": "0"},
        {"name": "other", "version": "9", "build": "0"},
    ]
    plan = compute_plan(lock, captured, records, prefix="/env")
    assert [change.to_json() for change in plan.changes] == [
        {
            "name": "new",
            "current": None,
            "wanted": "1.0 (build 0)",
            "action": "add",
            "kind": "conda",
        },
        {
            "name": "Old",
            "current": "1.5 (build 0)",
            "wanted": "2.0 (build 0)",
            "action": "upgrade",
            "kind": "conda",
        },
        {
            "name": "rebuilt",
            "current": "1 (build 0)",
            "wanted": "1 (build 1)",
            "action": "change",
            "kind": "conda",
        },
    ]
    assert plan.conda_specs() == ["new ==1.0 0", "Old ==2.0 0", "rebuilt ==1 1"]
    assert plan.requirements() == [] and plan.pending() == 3 and plan.conda_note is None
    assert plan.counts() == {"add": 1, "upgrade": 1, "downgrade": 0, "change": 1, "unchanged": 2}

    elsewhere = compute_plan(lock, captured, None, prefix="/venv")
    assert elsewhere.changes == [] and elsewhere.unchanged == 1
    assert elsewhere.conda_note == (
        "The environment's 4 conda packages were not compared: /venv is not a conda "
        "environment (it has no conda-meta folder), so only its pip packages are planned."
    )
    assert elsewhere.summary() == "alice/env/1: 1 unchanged; 4 conda packages not compared"
    assert [str(item) for item in elsewhere.not_compared][:1] == [
        "new=1.0=0 (conda): not compared: /venv is not a conda environment (it has no "
        "conda-meta folder)"
    ]
    assert len(elsewhere.not_compared) == 4


def test_conda_channels_owner_first_with_this_token() -> None:
    installer = Installer(RepoClient("http://repo.test", "tok-1"), Target("python", "/p"))
    lock = EnvironmentLock(
        "alice",
        "env",
        "1",
        "environment.yml",
        [],
        [],
        [CondaPin("x", "1", "0")],
        [
            "http://repo.test/conda/alice",
            "conda-forge",
            "http://repo.test/conda/t/old-token/bob/label/dev",
        ],
    )
    assert installer.conda_channels(lock) == [
        "http://repo.test/conda/t/tok-1/alice",
        "conda-forge",
        "http://repo.test/conda/t/tok-1/bob/label/dev",
    ]
    assert installer.conda_channels(lock, with_token=False) == [
        "http://repo.test/conda/alice",
        "conda-forge",
        "http://repo.test/conda/bob/label/dev",
    ]


def test_plan_and_apply_a_private_environment(
    server: RepoServer, user: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_pip(monkeypatch)
    shared = shared_environment(server, user, unique, tmp_path)
    names = shared.packages
    lines: list[str] = []
    installer = Installer(
        RepoClient(server.url, shared.token),
        Target.of_interpreter(shared.python),
        log=lines.append,
        pypi_fallback=False,
    )

    lock = installer.environment_lock(user, shared.name)  # the latest version
    assert (lock.version, lock.basename) == ("1", "requirements.txt")
    assert [(pin.key, pin.version) for pin in lock.pins] == [
        (names[role], version)
        for role, version in (("a", "1.0"), ("b", "2.0"), ("c", "1.0"), ("d", "1.0"))
    ]

    plan = installer.plan_environment(user, shared.name, "1")
    assert [(change.action, change.current, change.wanted) for change in plan.changes] == [
        ("add", None, "1.0"),
        ("upgrade", "1.0", "2.0"),
        ("downgrade", "2.0", "1.0"),
    ]
    assert plan.unchanged == 1 and plan.prefix == str(shared.venv)

    result = installer.apply_plan(plan)
    assert result["message"] == (
        f"Installed {user}/{shared.name}/1 into {shared.venv}: "
        "1 added, 1 upgraded, 1 downgraded; restart the kernel to "
        "use them."
    )
    assert versions_in(shared.python, list(names.values())) == {
        names["a"]: "1.0",
        names["b"]: "2.0",
        names["c"]: "1.0",
        names["d"]: "1.0",
    }
    assert not any(names["d"] in line and "Collecting" in line for line in lines)  # untouched
    assert all(shared.token not in line for line in lines)
    assert installer.plan_environment(user, shared.name).changes == []

    # Another user's token: the private environment does not exist for them.
    stranger = server.create_user(f"s{unique}")
    other = Installer(
        RepoClient(server.url, server.token(stranger)), Target.of_interpreter(shared.python)
    )
    with pytest.raises(errors.NotFound):
        other.plan_environment(user, shared.name)
    with pytest.raises(errors.NotFound, match="has no version 7"):
        installer.plan_environment(user, shared.name, "7")


def test_defect_3_installing_the_pip_lock_says_which_conda_lines_it_leaves_out(
    server: RepoServer, user: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17, defect 3, on the path ``jupyter repo install OWNER/ENV`` and the install
    task take: the pip part is installed and the conda lines are named, not dropped."""
    isolate_pip(monkeypatch)
    token = server.token(user, ["api:write"])
    wheel = f"jr3-{unique}"
    publish.wheel(server, token, user, tmp_path / "wheels", wheel, "1.0", private=True)
    client = RepoClient(server.url, token)
    yml = YML_WITHOUT_PINS.replace("requests==2.0", f"{wheel}==1.0")
    Publisher(client).publish_spec_files(
        {"environment.yml": yml},
        Destination(user, "analysis", "1", public=False),
        default_name="analysis",
    )
    venv = make_venv(tmp_path / "venv", [])
    lines: list[str] = []
    installer = Installer(
        client,
        Target.of_interpreter(str(venv / "bin" / "python")),
        log=lines.append,
        pypi_fallback=False,
    )
    installer.install(InstallSpec(user, "analysis"))
    assert versions_in(str(venv / "bin" / "python"), [wheel]) == {wheel: "1.0"}
    assert (
        f"Not installed: the 4 conda requirements of {user}/analysis 1 (python=3.11, "
        "numpy>=1.26, pandas, pip); pip installs only its pip part. Show what they would "
        "change with EnvironmentInstaller, or create a conda environment from it."
    ) in lines
