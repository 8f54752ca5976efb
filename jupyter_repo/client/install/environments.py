"""A published environment in a target: its spec files read as the repository reads them,
its pip lock installed as it is, or first planned against the target
(:mod:`~jupyter_repo.client.envdiff`: what would be added, upgraded or downgraded, for the
conda part too when the target is a conda environment) and then exactly the changed pins
installed: conda ones with py-rattler first (exact ``name ==version build`` specs against
the owner's channel, then the channels the environment names), then pip ones."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from jupyter_repo.client import capture_script, errors
from jupyter_repo.client.api import JSON
from jupyter_repo.client.envdiff import (
    EnvironmentLock,
    Plan,
    compute_plan,
    parse_conda_pins,
    parse_pins,
)
from jupyter_repo.client.environment import capture_interpreter
from jupyter_repo.client.install.conda import conda_install, repository_channels
from jupyter_repo.client.install.context import Context
from jupyter_repo.client.install.pip import write_requirements
from jupyter_repo.client.refs import EnvironmentRef

#: An environment spec file is text; refuse to download more than this.
MAX_SPEC_BYTES = 16 << 20

Specs = list[tuple[str, dict[str, Any]]]


# -- reading a published environment ---------------------------------------------------------


def resolve(
    context: Context, ref: EnvironmentRef, *, follow: bool = True
) -> tuple[EnvironmentRef, JSON]:
    """The environment ``ref`` names, at a definite version, and its package: ``ref``
    itself, or the environment a notebook (the same version of it) names as attached."""
    package = context.package(ref)
    version = ref.version or package.get("latest_version")
    if not version:
        raise errors.NotFound(f"{ref.owner}/{ref.name} has no versions.")
    of_version = [item for item in package.get("files", []) if item.get("version") == version]
    if any(item.get("type") == "env" for item in of_version):
        return EnvironmentRef(ref.owner, ref.name, str(version)), package
    attached = _attached(of_version) if follow else None
    if attached is None:
        raise errors.InstallError(f"{ref.owner}/{ref.name} {version} is not an environment.")
    context.log(
        f"{ref.owner}/{ref.name} {version} is a notebook; using its attached environment "
        f"{attached.owner}/{attached.name}" + (f" {attached.version}" if attached.version else "")
    )
    return resolve(context, attached, follow=False)  # an environment, not another notebook


def _attached(files: list[JSON]) -> EnvironmentRef | None:
    """The environment a notebook file records (``attrs.environment``), if well formed:
    checked with the one parser of names, as it is text the notebook's author wrote."""
    for item in files:
        recorded = (item.get("attrs") or {}).get("environment")
        if item.get("type") != "ipynb" or not isinstance(recorded, dict):
            continue
        owner, name = str(recorded.get("owner") or ""), str(recorded.get("name") or "")
        version = str(recorded.get("version") or "")
        found = EnvironmentRef.match(f"{owner}/{name}" + (f"/{version}" if version else ""))
        if found is not None:
            return found
    return None


def read_specs(context: Context, ref: EnvironmentRef) -> tuple[EnvironmentRef, Specs]:
    """``(the environment at its version, [(basename, parsed spec)])`` of a published
    environment (the latest version when none is given; a notebook's attached environment
    when ``ref`` names a notebook), its spec files in :func:`_spec_preference` order."""
    ref, package = resolve(context, ref)
    version = str(ref.version)
    files = [
        item
        for item in package.get("files", [])
        if item.get("version") == version and item.get("type") == "env"
    ]
    files.sort(key=lambda item: _spec_preference(item["basename"]))
    specs: Specs = []
    with tempfile.TemporaryDirectory(prefix="jupyter-repo-install-") as work:
        for index, item in enumerate(files):
            path = Path(work) / f"{index}-{Path(item['basename']).name}"
            context.client.download(
                ref.owner, ref.name, version, item["basename"], path, max_bytes=MAX_SPEC_BYTES
            )
            specs.append((str(item["basename"]), _read_spec(path, item["basename"])))
    return ref, specs


def read_lock(context: Context, ref: EnvironmentRef) -> EnvironmentLock:
    """The exact pip pins of a published environment (the latest version by default),
    and its exact conda pins: from its ``@EXPLICIT`` lock, else its environment.yml."""
    ref, specs = read_specs(context, ref)
    version = str(ref.version)
    basename, first = specs[0]
    requirements = _pip_of(first)
    explicit = [spec for _basename, spec in specs if spec["format"] == "explicit"]
    ymls = [spec for _basename, spec in specs if spec["format"] == "environment.yml"]
    conda, conda_unpinned, channels = parse_conda_pins((explicit or ymls or [{}])[0])
    for yml in ymls:  # the channels environment.yml names come after the lock's
        channels += [channel for channel in parse_conda_pins(yml)[2] if channel not in channels]
    if not conda:  # e.g. "python=3.12" and "pip" of a pip environment: nothing to solve
        channels = []  # (the plan still says why each conda line is not compared)
    if requirements is None and not conda:
        raise _no_pip_part(ref, version, basename)
    pins, unpinned = parse_pins(requirements or [])
    return EnvironmentLock(
        ref.owner, ref.name, version, basename, pins, unpinned, conda, channels, conda_unpinned
    )


# -- installing its pip lock as it is ---------------------------------------------------------


def install_pip_lock(context: Context, ref: EnvironmentRef) -> EnvironmentRef:
    """Install the pip lock of a published environment (a notebook's: its attached one);
    the environment and version installed."""
    ref, specs = read_specs(context, ref)
    version = str(ref.version)
    basename, spec = specs[0]  # the exact lock first
    requirements = _pip_of(spec)
    if requirements is None:
        raise _no_pip_part(ref, version, basename)
    conda = _conda_lines(specs)
    if conda:  # said, not dropped: pip installs only the pip part
        context.log(
            f"Not installed: the {len(conda)} conda requirements of {ref.owner}/{ref.name} "
            f"{version} ({', '.join(conda)}); pip installs only its pip part. Show what they "
            "would change with EnvironmentInstaller, or create a conda environment from it."
        )
    context.log(f"pip install {len(requirements)} packages from {ref.owner}/{ref.name} {version}")
    context.progress(None, f"Installing {len(requirements)} packages with pip")
    if requirements:
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-install-") as work:
            listing = Path(work) / "requirements.txt"
            write_requirements(listing, requirements, f"{ref.owner}/{ref.name} {version}")
            context.pip(["-r", str(listing)], **context.environment_indexes(ref.owner))
    return ref


# -- what would change, then exactly that ----------------------------------------------------


def compare(context: Context, lock: EnvironmentLock) -> Plan:
    """The lock against what the target has now (pip: read by its own interpreter; conda:
    its ``conda-meta`` records, when it is a conda environment)."""
    target = context.target
    conda = None
    if lock.conda and target.is_conda:
        conda = capture_script.conda_packages(target.prefix)
    if not lock.has_pip and conda is None:
        raise errors.InstallError(
            f"{lock.owner}/{lock.name} {lock.version} has only conda packages and "
            f"{target.prefix} is not a conda environment (it has no conda-meta "
            f"folder); create one from it with: conda env create --file {lock.basename}"
        )
    captured = capture_interpreter(target.python) if lock.has_pip else None
    return compute_plan(lock, captured, conda, prefix=target.prefix)


def plan(context: Context, ref: EnvironmentRef) -> Plan:
    """What installing the environment would add, upgrade or downgrade in the target."""
    context.progress(
        None, f"Reading {ref.owner}/{ref.name}" + (f" {ref.version}" if ref.version else "")
    )
    lock = read_lock(context, ref)
    context.progress(None, f"Reading the packages of {context.target.prefix}")
    found = compare(context, lock)
    context.log(found.summary())
    if found.conda_note:
        context.log(found.conda_note)
    for item in found.not_compared:
        context.log(str(item))
    return found


def channels(context: Context, lock: EnvironmentLock, *, with_token: bool = True) -> list[str]:
    """Where an environment's conda pins are solved (see :func:`repository_channels`)."""
    return repository_channels(context.client, lock.owner, lock.channels, with_token=with_token)


def apply(context: Context, plan: Plan) -> JSON:
    """Install exactly the pins ``plan`` changes: conda ones with py-rattler first, then
    pip ones (the rest of the pip lock as constraints); then check the target now matches
    the lock."""
    lock, prefix = plan.lock, context.target.prefix
    wanted = plan.requirements()
    conda_specs = plan.conda_specs()
    method = (
        "+".join(kind for kind, specs in (("conda", conda_specs), ("pip", wanted)) if specs)
        or "pip"
    )
    result: JSON = {
        "owner": lock.owner,
        "name": lock.name,
        "version": lock.version,
        "method": method,
        "prefix": prefix,
        "counts": plan.counts(),
    }
    if not wanted and not conda_specs:
        context.progress(1.0, f"{prefix} already matches {lock.ref}")
        return {**result, "message": f"Nothing to change: {prefix} already matches {lock.ref}."}
    if conda_specs:
        _apply_conda(context, lock, conda_specs)
    if wanted:
        _apply_pip(context, plan, wanted)
    context.progress(0.95, f"Checking {prefix}")
    after = compare(context, lock)
    if after.changes:
        first = after.changes[0]
        tool = "py-rattler" if first.kind == "conda" else "pip"
        hint = "" if first.kind == "conda" else " (is another copy first on its sys.path?)"
        raise errors.InstallError(
            f"{tool} finished but {first.name} is {first.current or 'not installed'} in "
            f"{prefix}, not {first.wanted}{hint}"
        )
    context.progress(1.0, f"Installed {lock.ref}")
    return {
        **result,
        "message": f"Installed {lock.ref} into {prefix}: {_counted(plan)}; "
        "restart the kernel to use them.",
    }


def _apply_conda(context: Context, lock: EnvironmentLock, specs: list[str]) -> None:
    context.check_stop()
    shown = ", ".join(channels(context, lock, with_token=False))
    context.log(f"conda install {' '.join(specs)} from {shown} into {context.target.prefix}")
    context.progress(None, f"Installing {len(specs)} conda packages with py-rattler")
    try:
        conda_install(Path(context.target.prefix), channels(context, lock), specs, log=context.log)
    except errors.InstallError as error:  # rattler's messages may quote channel URLs
        raise errors.InstallError(errors.mask(error.message, context.secrets)) from None


def _apply_pip(context: Context, plan: Plan, wanted: list[str]) -> None:
    lock = plan.lock
    context.check_stop()
    context.log(f"pip install {len(wanted)} packages from {lock.ref} into {context.target.prefix}")
    context.progress(0.0, f"Installing {len(wanted)} packages with pip")
    seen: set[str] = set()

    def log(line: str) -> None:
        context.log(line)
        if line.startswith(("Collecting ", "Processing ")):
            seen.add(line.split()[1])
            context.progress(
                min(len(seen) / len(wanted), 1.0) * 0.9, f"Downloading {len(seen)} of {len(wanted)}"
            )

    with tempfile.TemporaryDirectory(prefix="jupyter-repo-apply-") as work:
        changes = Path(work) / "requirements.txt"
        write_requirements(changes, wanted, str(lock.ref))
        constraints = Path(work) / "constraints.txt"
        write_requirements(constraints, plan.constraints(), str(lock.ref))
        context.pip(
            ["-r", str(changes), "-c", str(constraints)],
            log=log,
            **context.environment_indexes(lock.owner),
        )


# -- helpers ---------------------------------------------------------------------------------


def _conda_lines(specs: Specs) -> list[str]:
    """The conda lines of an environment's spec files (its ``@EXPLICIT`` lock first)."""
    for kind in ("explicit", "environment.yml"):
        for _basename, spec in specs:
            if spec["format"] == kind and spec["conda"]:
                return [str(line) for line in spec["conda"]]
    return []


def _no_pip_part(ref: EnvironmentRef, version: str, basename: str) -> errors.ClientError:
    return errors.InstallError(
        f"{ref.owner}/{ref.name} {version} has no pip packages to install; create a conda "
        f"environment from it with: conda env create --file {basename}"
    )


def _counted(plan: Plan) -> str:
    counts = plan.counts()
    words = {"add": "added", "upgrade": "upgraded", "downgrade": "downgraded", "change": "changed"}
    parts = [f"{counts[action]} {word}" for action, word in words.items() if counts[action]]
    if plan.lock.unpinned:
        parts.append(f"{len(plan.lock.unpinned)} unpinned")
    return ", ".join(parts) or "nothing changed"


def _spec_preference(basename: str) -> int:
    """Which spec file of an environment pip installs from: the exact lock first."""
    name = basename.rsplit("/", 1)[-1].lower()
    if name == "requirements.txt":
        return 0
    if name.endswith(".txt") and "explicit" not in name:
        return 1
    if name.endswith((".yml", ".yaml")):
        return 2
    return 3


def _read_spec(path: Path, basename: str) -> dict[str, Any]:
    """A downloaded spec file, parsed as the repository does."""
    from jupyter_repo.repository.errors import InvalidInput
    from jupyter_repo.repository.inspect.envspec import parse_spec

    shown = Path(basename).name
    try:
        return parse_spec(path.read_text(encoding="utf-8"), shown)
    except (InvalidInput, UnicodeDecodeError) as error:
        raise errors.InstallError(f"{shown} cannot be read: {error}") from None


def _pip_of(spec: dict[str, Any]) -> list[str] | None:
    """The pip requirements of a parsed spec file (None when it has no pip part at all)."""
    if spec["format"] == "explicit":
        return None
    if not spec["pip"] and spec["conda"]:
        return None
    return list(spec["pip"])
