"""What installing a shared environment would change in a target interpreter.

A published environment carries an exact pip lock (``requirements.txt``, ``name==version``
pins; see :mod:`~jupyter_repo.client.environment`). Its plan against an interpreter lists,
for each pin whose version differs from what the interpreter has, one change: ``add`` (not
installed), ``upgrade``, ``downgrade``, or ``change`` (the versions cannot be ordered, e.g.
``===`` pins). Packages already at the pinned version are counted as unchanged; packages
the interpreter has and the lock does not are kept (installing a lock never removes).

Only the pip part is planned: the conda part of an environment (``environment.yml``
conda dependencies, the ``@EXPLICIT`` lock) is not compared.
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

ACTIONS = ("add", "upgrade", "downgrade", "change")

REF_RE = re.compile(
    r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<name>[A-Za-z0-9][A-Za-z0-9._+-]*)"
    r"(?:(?:/|==|=|@)(?P<version>[A-Za-z0-9][A-Za-z0-9._+!-]*))?$"
)


@dataclass(frozen=True)
class EnvironmentRef:
    """``owner/name[/version]``: a shared environment on the repository (latest version
    when none is given; ``owner/name==version`` is accepted too)."""

    owner: str
    name: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> EnvironmentRef:
        cleaned = (text or "").strip().rstrip("/")
        match = REF_RE.match(cleaned)
        if match is None:
            shown = cleaned[:80] or "an empty spec"
            raise errors.BadRequest(
                f"{shown!r} is not an environment: write OWNER/NAME or OWNER/NAME/VERSION."
                if cleaned else "Enter an environment as OWNER/NAME or OWNER/NAME/VERSION."
            )
        return cls(match["owner"].lower(), match["name"], match["version"])

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}" + (f"/{self.version}" if self.version else "")


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
class EnvironmentLock:
    """The pip lock of one published environment version."""

    owner: str
    name: str
    version: str
    basename: str
    pins: list[Pin]
    #: Requirements that are not exact pins (ranges, URLs): installed as written, not planned.
    unpinned: list[str] = field(default_factory=list)

    @property
    def ref(self) -> EnvironmentRef:
        return EnvironmentRef(self.owner, self.name, self.version)


@dataclass(frozen=True)
class Change:
    name: str
    current: str | None
    wanted: str
    action: str
    line: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "current": self.current, "wanted": self.wanted,
                "action": self.action}


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

    def counts(self) -> dict[str, int]:
        result = {action: 0 for action in ACTIONS}
        for change in self.changes:
            result[change.action] += 1
        result["unchanged"] = self.unchanged
        return result

    def requirements(self) -> list[str]:
        """What pip is asked to install: the changed pins (and any unpinned lines)."""
        return [change.line for change in self.changes] + list(self.lock.unpinned)

    def constraints(self) -> list[str]:
        """Every pin of the lock, so that dependencies pip pulls in stay at the lock's
        versions (without extras, which constraints cannot have)."""
        return [f"{pin.name}=={pin.version}" if _orderable(pin.version)
                else f"{pin.name}==={pin.version}" for pin in self.pins]

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[action]} to {'change' if action == 'change' else action}"
                 for action in ACTIONS if counts[action]]
        parts.append(f"{self.unchanged} unchanged")
        head = f"{self.lock.ref}: " + ", ".join(parts)
        if self.lock.unpinned:
            head += f"; {len(self.lock.unpinned)} unpinned requirements installed as written"
        return head

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.lock.owner, "name": self.lock.name, "version": self.lock.version,
                "prefix": self.prefix, "changes": [change.to_json() for change in self.changes],
                "counts": self.counts(), "kept": self.kept,
                "unpinned": list(self.lock.unpinned), "not_for_here": list(self.not_for_here)}


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
        if requirement.url or len(specifiers) != 1 or specifiers[0].operator not in ("==", "===") \
                or specifiers[0].version.endswith(".*"):
            others.append(line)
            continue
        pins.append(Pin(requirement.name, specifiers[0].version, line))
    return pins, others


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
    return {canonicalize_name(item["name"]): (str(item["name"]), str(item["version"]))
            for item in captured.pip if item.get("name") and item.get("version")}


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


def compute_plan(lock: EnvironmentLock, captured: CapturedEnvironment) -> Plan:
    """The changes ``lock`` makes to the captured interpreter, in the lock's order."""
    installed = installed_versions(captured)
    environment = _marker_environment(captured)
    changes: list[Change] = []
    unchanged = 0
    skipped: list[str] = []
    locked: set[str] = set()
    applicable: list[Pin] = []
    for pin in lock.pins:
        if not _applies(pin.line, environment):
            skipped.append(pin.line)
            continue
        if pin.key in locked:
            raise errors.InstallError(
                f"{lock.ref} {lock.basename} pins {pin.name} twice for this interpreter.")
        locked.add(pin.key)
        applicable.append(pin)
        current = installed.get(pin.key, (pin.name, None))[1]
        action = compare(current, pin.version)
        if action is None:
            unchanged += 1
        else:
            changes.append(Change(pin.name, current, pin.version, action, pin.line))
    kept = len([key for key in installed if key not in locked and key not in NOT_LOCKED])
    return Plan(lock, captured.prefix, changes, unchanged, kept, skipped, applicable)
