"""What installing a shared environment would change in a target interpreter.

A published environment carries an exact pip lock (``requirements.txt``, ``name==version``
pins; see :mod:`~jupyter_repo.client.environment`). Its plan against an interpreter lists,
for each pin whose version differs from what the interpreter has, one change: ``add`` (not
installed), ``upgrade``, ``downgrade``, or ``change`` (the versions cannot be ordered, e.g.
``===`` pins). Packages already at the pinned version are counted as unchanged; packages
the interpreter has and the lock does not are kept (installing a lock never removes).

The conda part (exact ``name-version-build`` pins from the ``@EXPLICIT`` lock, else the
``name=version=build`` dependencies of ``environment.yml``) is planned against the target
prefix's ``conda-meta/*.json`` records when it is a conda environment: ``add``, ``upgrade``,
``downgrade`` (conda's version order) or ``change`` (the same version, another build).
When the target is not a conda environment, the conda part is not compared and the plan
says why (:attr:`Plan.conda_note`).

No line of the spec is dropped without a word: a line that is neither a change nor
unchanged (a conda requirement without an exact version and build such as ``python=3.11``
or ``numpy>=1.26``, a conda pin where the target is no conda environment, a pin whose
marker excludes this interpreter) is in :attr:`Plan.not_compared` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from jupyter_repo.client import errors
from jupyter_repo.client.environment import NOT_LOCKED, CapturedEnvironment
from jupyter_repo.client.refs import EnvironmentRef

ACTIONS = ("add", "upgrade", "downgrade", "change")


@dataclass(frozen=True)
class Pin:
    """One exact pin of a lock: ``line`` is what pip is given to install it."""

    name: str
    version: str
    line: str

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


@dataclass(frozen=True)
class CondaPin:
    """One exact conda pin: ``spec`` (``name ==version build``, the match spec form rattler
    parses; it reads ``name==version=build`` as a version with "=" in it) is solved for."""

    name: str
    version: str
    build: str
    #: The spec's own line (an environment.yml dependency or a lock's file name).
    line: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def shown(self) -> str:
        return self.line or f"{self.name}={self.version}={self.build}"

    @property
    def spec(self) -> str:
        return f"{self.name} =={self.version} {self.build}"


@dataclass(frozen=True)
class EnvironmentLock:
    """The pip lock (and the exact conda pins) of one published environment version."""

    owner: str
    name: str
    version: str
    basename: str
    pins: list[Pin]
    #: Requirements that are not exact pins (ranges, URLs): installed as written, not planned.
    unpinned: list[str] = field(default_factory=list)
    #: Exact conda pins (empty: the environment has no conda part).
    conda: list[CondaPin] = field(default_factory=list)
    #: Channels the lock and environment.yml name (URLs or names), besides the owner's.
    channels: list[str] = field(default_factory=list)
    #: conda dependencies without an exact version and build (``python=3.12``): not planned.
    conda_unpinned: list[str] = field(default_factory=list)

    @property
    def has_pip(self) -> bool:
        return bool(self.pins or self.unpinned)

    @property
    def ref(self) -> EnvironmentRef:
        return EnvironmentRef(self.owner, self.name, self.version)


@dataclass(frozen=True)
class Change:
    """One package the plan changes; ``line`` is what pip (``kind`` "pip") or rattler
    (``kind`` "conda", where ``current`` and ``wanted`` read ``version (build b)``) gets."""

    name: str
    current: str | None
    wanted: str
    action: str
    line: str
    kind: str = "pip"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "current": self.current,
            "wanted": self.wanted,
            "action": self.action,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class NotCompared:
    """One line of the environment's spec that the plan neither changes nor finds
    unchanged, and why (``kind``: "conda" or "pip")."""

    line: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.line} ({self.kind}): not compared: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return {"line": self.line, "kind": self.kind, "reason": self.reason}


@dataclass
class Plan:
    """The changes installing ``lock`` would make to the interpreter at ``prefix``."""

    lock: EnvironmentLock
    prefix: str
    changes: list[Change]
    unchanged: int
    #: Installed packages the lock does not mention; they are kept.
    kept: int = 0
    #: Lock lines skipped because their environment markers exclude this interpreter.
    not_for_here: list[str] = field(default_factory=list)
    #: The pins that apply to this interpreter.
    pins: list[Pin] = field(default_factory=list)
    #: Why the environment's conda packages were not compared (None: they were, or none).
    conda_note: str | None = None
    #: The spec's lines already at the wanted version (``name==version``), in its order.
    unchanged_lines: list[str] = field(default_factory=list)
    #: The spec's lines that are not compared, each with its reason.
    not_compared: list[NotCompared] = field(default_factory=list)

    @property
    def pip_changes(self) -> list[Change]:
        return [change for change in self.changes if change.kind == "pip"]

    @property
    def conda_changes(self) -> list[Change]:
        return [change for change in self.changes if change.kind == "conda"]

    def counts(self) -> dict[str, int]:
        result = {action: 0 for action in ACTIONS}
        for change in self.changes:
            result[change.action] += 1
        result["unchanged"] = self.unchanged
        return result

    def requirements(self) -> list[str]:
        """What pip is asked to install: the changed pins (and any unpinned lines)."""
        return [change.line for change in self.pip_changes] + list(self.lock.unpinned)

    def conda_specs(self) -> list[str]:
        """What rattler is asked to install: the changed conda pins, exactly."""
        return [change.line for change in self.conda_changes]

    def pending(self) -> int:
        """How many installs Apply would make (conda and pip)."""
        return len(self.conda_specs()) + len(self.requirements())

    def constraints(self) -> list[str]:
        """Every pin of the lock, so that dependencies pip pulls in stay at the lock's
        versions (without extras, which constraints cannot have)."""
        return [
            f"{pin.name}=={pin.version}"
            if _orderable(pin.version)
            else f"{pin.name}==={pin.version}"
            for pin in self.pins
        ]

    def summary(self) -> str:
        counts = self.counts()
        parts = [
            f"{counts[action]} to {'change' if action == 'change' else action}"
            for action in ACTIONS
            if counts[action]
        ]
        parts.append(f"{self.unchanged} unchanged")
        head = f"{self.lock.ref}: " + ", ".join(parts)
        if self.lock.unpinned:
            head += f"; {len(self.lock.unpinned)} unpinned requirements installed as written"
        for kind, noun in (("conda", "conda package"), ("pip", "pip pin")):
            count = len([item for item in self.not_compared if item.kind == kind])
            if count:
                head += f"; {count} {noun}{'s' if count != 1 else ''} not compared"
        return head

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.lock.owner,
            "name": self.lock.name,
            "version": self.lock.version,
            "prefix": self.prefix,
            "changes": [change.to_json() for change in self.changes],
            "counts": self.counts(),
            "kept": self.kept,
            "unpinned": list(self.lock.unpinned),
            "not_for_here": list(self.not_for_here),
            "conda_note": self.conda_note,
            "unchanged_lines": list(self.unchanged_lines),
            "not_compared": [item.to_json() for item in self.not_compared],
        }


def _orderable(version: str) -> bool:
    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def parse_pins(requirements: list[str]) -> tuple[list[Pin], list[str]]:
    """Split requirement lines into exact pins and other requirements."""
    pins: list[Pin] = []
    others: list[str] = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            others.append(line)  # a bare URL: pip reads it, we cannot plan it
            continue
        specifiers = list(requirement.specifier)
        if (
            requirement.url
            or len(specifiers) != 1
            or specifiers[0].operator not in ("==", "===")
            or specifiers[0].version.endswith(".*")
        ):
            others.append(line)
            continue
        pins.append(Pin(requirement.name, specifiers[0].version, line))
    return pins, others


CONDA_EXTENSIONS = (".conda", ".tar.bz2")
CONDA_PIN_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_][A-Za-z0-9_.+-]*)\s*(?:==|=|\s)\s*(?P<version>[^=\s<>!,|*]+)"
    r"\s*(?:=|\s)\s*(?P<build>[^=\s<>!,|*]+)$"
)


def _add_channel(channels: list[str], channel: str) -> None:
    channel = channel.strip().rstrip("/")
    if channel and channel not in channels:
        channels.append(channel)


def parse_conda_pins(spec: dict[str, Any]) -> tuple[list[CondaPin], list[str], list[str]]:
    """``(exact pins, other conda dependencies, channels)`` of a parsed spec file (see
    :func:`jupyter_repo.repository.inspect.envspec.parse_spec`): an ``@EXPLICIT`` lock's
    URLs (``<channel>/<subdir>/<name>-<version>-<build>.conda``) or ``environment.yml``'s
    ``[channel::]name=version=build`` dependencies."""
    pins: list[CondaPin] = []
    others: list[str] = []
    channels: list[str] = []
    if spec.get("format") == "explicit":
        for url in spec.get("urls", []):
            address = str(url).split("#", 1)[0]
            filename = address.rsplit("/", 1)[-1]
            stem = next(
                (filename[: -len(ext)] for ext in CONDA_EXTENSIONS if filename.endswith(ext)), None
            )
            parts = stem.rsplit("-", 2) if stem else []
            if len(parts) != 3 or not all(parts):
                others.append(filename)
                continue
            pins.append(CondaPin(parts[0], parts[1], parts[2], line=filename))
            _add_channel(channels, address.rsplit("/", 2)[0])
        return pins, others, channels
    for channel in spec.get("channels", []):
        _add_channel(channels, str(channel))
    for item in spec.get("conda", []):
        text = str(item).strip()
        if "::" in text:
            channel, text = text.split("::", 1)
            _add_channel(channels, channel)
        match = CONDA_PIN_RE.match(text)
        if match is None:
            others.append(str(item))
            continue
        pins.append(CondaPin(match["name"], match["version"], match["build"], str(item)))
    return pins, others, channels


def _marker_environment(captured: CapturedEnvironment) -> dict[str, str]:
    values: dict[str, str] = {}
    if captured.python_version:
        values["python_full_version"] = captured.python_version
        values["python_version"] = ".".join(captured.python_version.split(".")[:2])
    if captured.platform:
        values["sys_platform"] = captured.platform
    return values


def _applies(line: str, environment: dict[str, str]) -> bool:
    if ";" not in line:
        return True
    try:
        return Marker(line.split(";", 1)[1].strip()).evaluate(environment)
    except (InvalidMarker, UndefinedEnvironmentName):
        return True  # let pip decide


def installed_versions(captured: CapturedEnvironment) -> dict[str, tuple[str, str]]:
    """``{canonical name: (name, version)}`` of the interpreter's pip packages."""
    return {
        canonicalize_name(item["name"]): (str(item["name"]), str(item["version"]))
        for item in captured.pip
        if item.get("name") and item.get("version")
    }


def compare(current: str | None, wanted: str) -> str | None:
    """The action taking ``current`` to ``wanted``; None when they are the same version."""
    if current is None:
        return "add"
    if current == wanted:
        return None
    try:
        before, after = Version(current), Version(wanted)
    except InvalidVersion:
        return "change"
    if after > before:
        return "upgrade"
    if after < before:
        return "downgrade"
    return None  # 1.0 and 1.0.0 are the same version


def compare_conda(current: tuple[str, str] | None, wanted: CondaPin) -> str | None:
    """The action taking the installed ``(version, build)`` to ``wanted`` (conda's version
    order, with rattler when it is there); None when they are the same."""
    if current is None:
        return "add"
    version, build = current
    if version != wanted.version:
        try:
            from rattler import Version as CondaVersion

            before, after = CondaVersion(version), CondaVersion(wanted.version)
        except ImportError:  # py-rattler is optional for planning: PEP 440's order
            return compare(version, wanted.version)
        except Exception:  # rattler cannot parse one of them
            return "change"
        if after > before:
            return "upgrade"
        if after < before:
            return "downgrade"
    return None if build == wanted.build else "change"


def _conda_shown(version: str, build: str) -> str:
    return f"{version} (build {build})" if build else version


def conda_changes(
    lock: EnvironmentLock, records: list[dict[str, Any]]
) -> tuple[list[Change], list[str]]:
    """The changes ``lock``'s conda pins make to a prefix with these ``conda-meta``
    records, in the lock's order, and the pins already there (as the spec writes them)."""
    installed = conda_installed(records)
    changes: list[Change] = []
    unchanged: list[str] = []
    seen: set[str] = set()
    for pin in lock.conda:
        if pin.key in seen:
            raise errors.InstallError(f"{lock.ref} pins the conda package {pin.name} twice.")
        seen.add(pin.key)
        current = installed.get(pin.key)
        action = compare_conda(current, pin)
        if action is None:
            unchanged.append(pin.shown)
            continue
        changes.append(
            Change(
                pin.name,
                _conda_shown(*current) if current else None,
                _conda_shown(pin.version, pin.build),
                action,
                pin.spec,
                "conda",
            )
        )
    return changes, unchanged


def conda_installed(records: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """``{lower-case name: (version, build)}`` of a prefix's ``conda-meta`` records."""
    return {
        str(record["name"]).lower(): (str(record["version"]), str(record.get("build") or ""))
        for record in records
    }


def not_a_conda_prefix(lock: EnvironmentLock, prefix: str) -> str:
    count = len(lock.conda)
    return (
        f"The environment's {count} conda package{'s' if count != 1 else ''} "
        f"{'were' if count != 1 else 'was'} not compared: {prefix} is not a conda "
        "environment (it has no conda-meta folder), so only its pip packages are planned."
    )


CONDA_NAME_RE = re.compile(r"^(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_][A-Za-z0-9_.+-]*)")


def _conda_name(line: str) -> str:
    match = CONDA_NAME_RE.match(line.strip())
    return match["name"].lower() if match else ""


def _python_reason(captured: CapturedEnvironment | None) -> str:
    version = captured.python_version if captured is not None else None
    running = f"this kernel runs Python {version}; " if version else ""
    return (
        f"{running}installing into a kernel never changes its Python (create a new kernel "
        "from the environment for another one)"
    )


def not_compared(
    lock: EnvironmentLock,
    where: str,
    captured: CapturedEnvironment | None,
    conda: list[dict[str, Any]] | None,
) -> list[NotCompared]:
    """Why each conda line of the spec that yields no change and is not unchanged was not
    compared: every line of the spec is accounted for in the plan."""
    result: list[NotCompared] = []
    if conda is None:
        not_conda = f"{where} is not a conda environment (it has no conda-meta folder)"
        result.extend(NotCompared(pin.shown, "conda", not_conda) for pin in lock.conda)
    installed = conda_installed(conda or [])
    for line in lock.conda_unpinned:
        name = _conda_name(line)
        if line.endswith(CONDA_EXTENSIONS):
            reason = "not a conda package file name (name-version-build.conda)"
        elif name == "python":
            reason = _python_reason(captured)
        elif name == "pip":
            reason = "the pip part is installed with the kernel's own pip"
        elif conda is None:
            reason = f"{where} is not a conda environment (it has no conda-meta folder)"
        else:
            has = installed.get(name)
            there = f"{where} has {_conda_shown(*has)}" if has else f"not installed in {where}"
            reason = (
                f"no exact version and build ({there}); only exact conda pins are "
                "installed into a kernel (publish an @EXPLICIT lock to plan them)"
            )
        result.append(NotCompared(line, "conda", reason))
    return result


def compute_plan(
    lock: EnvironmentLock,
    captured: CapturedEnvironment | None,
    conda: list[dict[str, Any]] | None = None,
    *,
    prefix: str | None = None,
) -> Plan:
    """The changes ``lock`` makes to the target, in the lock's order (conda first).

    ``captured``: the target interpreter's packages (None: the lock has no pip part);
    ``conda``: the target's ``conda-meta`` records (None: it is not a conda environment).
    """
    planned_conda: list[Change] = []
    conda_unchanged: list[str] = []
    note = None
    where = prefix or (captured.prefix if captured is not None else "")
    if lock.conda:
        if conda is None:
            note = not_a_conda_prefix(lock, where)
        else:
            planned_conda, conda_unchanged = conda_changes(lock, conda)
    skipped = not_compared(lock, where, captured, conda)
    if captured is None:
        return Plan(
            lock,
            where,
            planned_conda,
            len(conda_unchanged),
            conda_note=note,
            unchanged_lines=conda_unchanged,
            not_compared=skipped,
        )
    plan = _pip_plan(lock, captured)
    plan.prefix = where
    plan.changes = planned_conda + plan.changes
    plan.unchanged += len(conda_unchanged)
    plan.unchanged_lines = conda_unchanged + plan.unchanged_lines
    plan.conda_note = note
    plan.not_compared = skipped + plan.not_compared
    return plan


def _excluded(captured: CapturedEnvironment) -> str:
    python = ".".join((captured.python_version or "").split(".")[:2])
    here = ", ".join(
        part for part in (f"Python {python}" if python else "", captured.platform) if part
    )
    return f"its environment marker excludes this interpreter ({here or 'unknown'})"


def _pip_plan(lock: EnvironmentLock, captured: CapturedEnvironment) -> Plan:
    installed = installed_versions(captured)
    environment = _marker_environment(captured)
    changes: list[Change] = []
    unchanged: list[str] = []
    skipped: list[str] = []
    locked: set[str] = set()
    applicable: list[Pin] = []
    for pin in lock.pins:
        if not _applies(pin.line, environment):
            skipped.append(pin.line)
            continue
        if pin.key in locked:
            raise errors.InstallError(
                f"{lock.ref} {lock.basename} pins {pin.name} twice for this interpreter."
            )
        locked.add(pin.key)
        applicable.append(pin)
        current = installed.get(pin.key, (pin.name, None))[1]
        action = compare(current, pin.version)
        if action is None:
            unchanged.append(f"{pin.name}=={pin.version}")
        else:
            changes.append(Change(pin.name, current, pin.version, action, pin.line))
    kept = len([key for key in installed if key not in locked and key not in NOT_LOCKED])
    excluded = _excluded(captured)
    return Plan(
        lock,
        captured.prefix,
        changes,
        len(unchanged),
        kept,
        skipped,
        applicable,
        unchanged_lines=unchanged,
        not_compared=[NotCompared(line, "pip", excluded) for line in skipped],
    )
