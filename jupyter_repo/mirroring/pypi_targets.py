"""Which Python files a site needs: the Python versions and platforms it installs on.

A mirror with ``python_versions`` and ``platforms`` keeps only the wheels that an installer
on one of those would take (their tags, by ``packaging.tags``), sdists always, and files
whose ``Requires-Python`` admits one of the versions. The same targets evaluate the
environment markers of ``Requires-Dist`` when a mirror follows dependencies: a dependency
counts when its marker holds for one of them. Without targets every file fits, and markers
are evaluated for a few common CPython versions and platforms (``DEFAULT_*``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

from packaging import tags
from packaging.markers import Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

#: Marker environments when the mirror names no Python versions or platforms.
DEFAULT_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
DEFAULT_PLATFORMS = ("manylinux_2_28_x86_64", "macosx_14_0_arm64", "win_amd64")
_LINUX = re.compile(
    r"^(?:(?P<kind>many|musl)linux_(?P<major>\d+)_(?P<minor>\d+)|linux)_(?P<arch>.+)$"
)
_LEGACY_MANYLINUX = {"manylinux1": "manylinux_2_5", "manylinux2010": "manylinux_2_12",
                     "manylinux2014": "manylinux_2_17"}  # fmt: skip
_MACOS = re.compile(r"^macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)$")


def _version_tuple(version: str) -> tuple[int, int]:
    parts = version.split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


@functools.cache
def _interpreter_abis(version: str) -> frozenset[tuple[str, str]]:
    """The (interpreter, abi) pairs a CPython of ``version`` installs, from packaging.tags."""
    python = _version_tuple(version)
    placeholder = ["placeholder"]
    found = chain(
        tags.cpython_tags(python, platforms=placeholder),
        tags.compatible_tags(
            python, interpreter=f"cp{python[0]}{python[1]}", platforms=placeholder
        ),
    )
    return frozenset((tag.interpreter, tag.abi) for tag in found)


def _linux(platform: str) -> tuple[str, tuple[int, int], str] | None:
    for legacy, modern in _LEGACY_MANYLINUX.items():
        if platform.startswith(legacy + "_"):
            platform = modern + platform[len(legacy) :]
    match = _LINUX.match(platform)
    if match is None:
        return None
    kind = (match["kind"] or "") + "linux"
    glibc = (int(match["major"]), int(match["minor"])) if match["major"] else (0, 0)
    return kind, glibc, match["arch"]


def platform_fits(wheel_platform: str, wanted: str) -> bool:
    """Does a wheel built for ``wheel_platform`` install on ``wanted``?

    ``linux_<arch>`` stands for any glibc Linux (manylinux wheels of that arch);
    ``manylinux_X_Y_<arch>`` and ``musllinux_X_Y_<arch>`` take wheels of that libc up to
    X.Y; ``macosx_X_Y_<arch>`` takes what ``packaging.tags.mac_platforms`` lists.
    """
    if wheel_platform in ("any", wanted):
        return True
    target, built = _linux(wanted), _linux(wheel_platform)
    if target is not None and built is not None:
        if target[2] != built[2]:
            return False
        if target[0] == "linux":
            return built[0] in ("linux", "manylinux")
        return built[0] == target[0] and built[1] <= target[1]
    mac = _MACOS.match(wanted)
    if mac is not None and wheel_platform.startswith("macosx_"):
        version = (int(mac["major"]), int(mac["minor"]))
        return wheel_platform in set(tags.mac_platforms(version, mac["arch"]))
    return False


def _marker_environment(python: str, platform: str) -> dict[str, str]:
    full = python if python.count(".") >= 2 else python + ".0"
    if platform.startswith("win"):
        machine = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}.get(platform, "")
        system = ("win32", "Windows", "nt", machine)
    elif platform.startswith("macosx"):
        arch = platform.rsplit("_", 1)[-1]
        system = ("darwin", "Darwin", "posix", "arm64" if arch == "universal2" else arch)
    else:
        linux = _linux(platform)
        system = ("linux", "Linux", "posix", linux[2] if linux else "x86_64")
    sys_platform, platform_system, os_name, machine = system
    return {
        "python_version": ".".join(full.split(".")[:2]),
        "python_full_version": full,
        "implementation_name": "cpython",
        "implementation_version": full,
        "platform_python_implementation": "CPython",
        "sys_platform": sys_platform,
        "platform_system": platform_system,
        "os_name": os_name,
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
    }


@dataclass(frozen=True)
class Targets:
    """The Python versions (``3.12``) and platform tags (``manylinux_2_28_x86_64``,
    ``win_amd64``, ``macosx_14_0_arm64``) a mirror serves; empty means any."""

    python_versions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()

    def wheel_fits(self, filename: str) -> bool:
        try:
            _name, _version, _build, wheel_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return False
        return any(self._tag_fits(tag) for tag in wheel_tags)

    def _tag_fits(self, tag: tags.Tag) -> bool:
        if self.python_versions and not any(
            (tag.interpreter, tag.abi) in _interpreter_abis(version)
            for version in self.python_versions
        ):
            return False
        return not self.platforms or any(
            platform_fits(tag.platform, wanted) for wanted in self.platforms
        )

    def requires_python_fits(self, requires_python: str | None) -> bool:
        if not requires_python or not self.python_versions:
            return True
        try:
            specifier = SpecifierSet(requires_python)
        except InvalidSpecifier:
            return True  # an installer ignores what it cannot read; so does the mirror
        return any(
            specifier.contains(version, prereleases=True) for version in self.python_versions
        )

    def environments(self) -> list[dict[str, str]]:
        pythons = self.python_versions or DEFAULT_PYTHONS
        platforms = self.platforms or DEFAULT_PLATFORMS
        return [
            _marker_environment(python, platform) for python in pythons for platform in platforms
        ]

    def marker_holds(self, marker: Marker | None, extras: Iterable[str]) -> bool:
        """Does ``marker`` hold on one of the targets, for no extra or one of ``extras``?"""
        if marker is None:
            return True
        wanted = ["", *extras]
        return any(
            marker.evaluate({**environment, "extra": extra})
            for environment in self.environments()
            for extra in wanted
        )
