"""The conda mirror's filters on repodata records: names and match specs, licences, dates,
the newest N versions in conda's order (the domain functions, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_repo.mirroring.conda_filters import Record, records, select
from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.services.mirrors import MirrorConfig

DAY_MS = 86_400_000
JAN_2024_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def _record(name: str, version: str, **data: Any) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "build": data.pop("build", "0"),
        "build_number": data.pop("build_number", 0),
        "depends": [],
        "license": data.pop("license", "MIT"),
        "timestamp": data.pop("timestamp", JAN_2024_MS),
        "subdir": "noarch",
        **data,
    }


REPODATA = {
    "info": {"subdir": "noarch"},
    "packages": {
        "numpy-1.9-0.tar.bz2": _record("numpy", "1.9", timestamp=JAN_2024_MS - 30 * DAY_MS),
        "numpy-1.10a1-0.tar.bz2": _record("numpy", "1.10a1"),
        "gpl-tool-1.0-0.tar.bz2": _record("gpl-tool", "1.0", license="GPL-3.0-only"),
    },
    "packages.conda": {
        "numpy-1.10-0.conda": _record("numpy", "1.10", timestamp=JAN_2024_MS + 30 * DAY_MS),
        "numpy-1.10-1.conda": _record("numpy", "1.10", build="1", build_number=1),
        "Scipy-2.0-py_0.conda": _record("Scipy", "2.0", build="py_0", license="bsd-3-clause"),
        "nodate-1.0-0.conda": _record("nodate", "1.0", timestamp=None),
    },
}


def _kept(config: MirrorConfig) -> set[str]:
    return {record.filename for record in select(records("noarch", REPODATA), config).kept}


ALL = {
    "numpy-1.9-0.tar.bz2",
    "numpy-1.10a1-0.tar.bz2",
    "gpl-tool-1.0-0.tar.bz2",
    "numpy-1.10-0.conda",
    "numpy-1.10-1.conda",
    "Scipy-2.0-py_0.conda",
    "nodate-1.0-0.conda",
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (MirrorConfig(), ALL),
        (MirrorConfig(include=("scipy",)), {"Scipy-2.0-py_0.conda"}),
        (MirrorConfig(include=("numpy >=1.10",)), {"numpy-1.10-0.conda", "numpy-1.10-1.conda"}),
        (MirrorConfig(include=("numpy 1.10 1",)), {"numpy-1.10-1.conda"}),
        (MirrorConfig(include=("numpy[build_number=0]",)),
         {"numpy-1.9-0.tar.bz2", "numpy-1.10a1-0.tar.bz2", "numpy-1.10-0.conda"}),
        (MirrorConfig(exclude=("numpy", "nodate")), {"gpl-tool-1.0-0.tar.bz2",
                                                      "Scipy-2.0-py_0.conda"}),
        (MirrorConfig(include=("numpy",), exclude=("numpy <1.10",)),
         {"numpy-1.10-0.conda", "numpy-1.10-1.conda"}),
        (MirrorConfig(licenses_allow=("BSD-3-Clause",)), {"Scipy-2.0-py_0.conda"}),
        (MirrorConfig(licenses_deny=("gpl-3.0-ONLY",)), ALL - {"gpl-tool-1.0-0.tar.bz2"}),
        (MirrorConfig(newer_than="2024-01-15"), {"numpy-1.10-0.conda"}),
        (MirrorConfig(older_than="2023-12-15"), {"numpy-1.9-0.tar.bz2"}),
        (MirrorConfig(newer_than="2023-12-15", older_than="2024-01-15"),
         ALL - {"numpy-1.9-0.tar.bz2", "numpy-1.10-0.conda", "nodate-1.0-0.conda"}),
        (MirrorConfig(include=("numpy",), latest=1), {"numpy-1.10-0.conda", "numpy-1.10-1.conda"}),
        (MirrorConfig(include=("numpy",), latest=2),
         {"numpy-1.10-0.conda", "numpy-1.10-1.conda", "numpy-1.10a1-0.tar.bz2"}),
        (MirrorConfig(include=("numpy <1.10",), latest=1), {"numpy-1.10a1-0.tar.bz2"}),
    ],
    ids=[
        "no-filter", "name-any-case", "spec-version", "spec-build", "spec-bracket", "exclude",
        "include-then-exclude", "licence-allow-any-case", "licence-deny-any-case",
        "newer-than", "older-than", "between-dates-undated-left-out", "latest-1-conda-order",
        "latest-2-prerelease-below-release", "latest-after-spec",
    ],
)  # fmt: skip
def test_filters_keep_what_conda_would_call_a_match(
    config: MirrorConfig, expected: set[str]
) -> None:
    selection = select(records("noarch", REPODATA), config)
    assert {record.filename for record in selection.kept} == expected
    assert selection.filtered_out == len(ALL) - len(expected)


def test_a_filter_that_is_no_spec_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="not a package name or match spec"):
        _kept(MirrorConfig(include=("numpy >=>=1",)))


@pytest.mark.parametrize(
    ("stamp", "year"), [(1_704_067_200_000, 2024), (1_704_067_200, 2024), (None, None)],
    ids=["milliseconds", "seconds", "missing"],
)  # fmt: skip
def test_timestamps_in_seconds_or_milliseconds(stamp: int | None, year: int | None) -> None:
    record = Record("noarch", "x-1-0.conda", {"timestamp": stamp})
    when = record.timestamp()
    assert (when.year if when else None) == year
