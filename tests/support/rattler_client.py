"""Solve and install with py-rattler, as a separate process (``python -m ...``).

py-rattler can crash at interpreter exit after finishing its work, so tests run it here in
a subprocess and judge by the JSON line it prints (and by the files it installed), not by the
exit code. Input: one JSON object on the command line with a list of ``cases``; each case
has ``channels``, ``specs``, ``prefix`` and optionally ``sharded`` and ``zstd`` (default
true; without both, rattler reads ``repodata.json`` itself).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rattler import Channel, Gateway, SourceConfig, install, solve

from tests.support import processes
from tests.support.paths import ROOT

PLATFORMS = ["linux-64", "noarch"]


def run_rattler(cases: list[dict[str, Any]], cache: Path) -> list[dict[str, Any]]:
    """Run ``cases`` in a py-rattler process of their own; answer its JSON result."""
    job = json.dumps({"cases": cases, "cache": str(cache)})
    process = processes.run(
        [sys.executable, "-m", "tests.support.rattler_client", job],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            result: list[dict[str, Any]] = json.loads(line[len("RESULT ") :])
            return result
    raise AssertionError(f"py-rattler printed no result:\n{process.stdout}\n{process.stderr}")


async def run_case(case: dict[str, Any], cache: str) -> dict[str, Any]:
    config = SourceConfig(
        sharded_enabled=case.get("sharded", True), zstd_enabled=case.get("zstd", True)
    )
    gateway = Gateway(
        cache_dir=f"{cache}/repodata-{case['prefix'].split('/')[-1]}", default_config=config
    )
    try:
        records = await solve(
            sources=[Channel(url) for url in case["channels"]],
            specs=case["specs"],
            gateway=gateway,
            platforms=PLATFORMS,
        )
        await install(
            records, target_prefix=case["prefix"], cache_dir=f"{cache}/pkgs", show_progress=False
        )
    except Exception as error:  # reported to the test, which decides
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return {
        "ok": True,
        "installed": {str(record.name.normalized): str(record.version) for record in records},
        "urls": sorted(str(record.url) for record in records),
    }


async def main(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [await run_case(case, job["cache"]) for case in job["cases"]]


if __name__ == "__main__":
    results = asyncio.run(main(json.loads(sys.argv[1])))
    print("RESULT " + json.dumps(results), flush=True)
