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
from typing import Any

from rattler import Channel, Gateway, SourceConfig, install, solve

PLATFORMS = ["linux-64", "noarch"]


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
