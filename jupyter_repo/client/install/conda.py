"""conda runs: specs solved and linked with py-rattler into a prefix that is a conda
environment (it has ``conda-meta/``), against the repository's channels."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.install.pip import Log


def conda_install(prefix: Path, channels: list[str], specs: list[str], *, log: Log) -> list[str]:
    """Solve ``specs`` against ``channels`` keeping what is installed, and link into ``prefix``.

    Returns the names of the packages added or changed.
    """
    try:
        import rattler
    except ImportError:
        raise errors.InstallError(
            "Installing conda packages needs py-rattler: pip install py-rattler."
        ) from None
    meta = prefix / "conda-meta"
    installed = [rattler.PrefixRecord.from_path(path) for path in sorted(meta.glob("*.json"))]

    async def solve_and_link() -> list[str]:
        solved = await rattler.solve(
            sources=channels,
            specs=specs,
            locked_packages=installed,
            virtual_packages=rattler.VirtualPackage.detect(),
        )
        names = {record.name.normalized for record in solved}
        kept = [record for record in installed if record.name.normalized not in names]
        await rattler.install(
            [*solved, *kept],
            target_prefix=prefix,
            installed_packages=installed,
            show_progress=False,
        )
        before = {(r.name.normalized, str(r.version), r.build) for r in installed}
        return [
            f"{r.name.normalized}-{r.version}-{r.build}"
            for r in solved
            if (r.name.normalized, str(r.version), r.build) not in before
        ]

    try:
        changed = asyncio.run(solve_and_link())
    except errors.ClientError:
        raise
    except Exception as error:
        message = " ".join(str(error).split())[:500] or type(error).__name__
        raise errors.InstallError(f"conda install failed: {message}") from None
    for item in changed:
        log(f"linked {item}")
    return changed


def repository_channels(
    client: RepoClient, owner: str, named: list[str], *, with_token: bool = True
) -> list[str]:
    """Where an environment of ``owner`` is solved: the owner's channel first, then the
    channels the environment names (``named``); channels of this repository get this
    client's token instead of any token written in the environment."""
    result = [client.conda_channel(owner, with_token=with_token)]
    base = f"{client.url.rstrip('/')}/conda/"
    for channel in named:
        parts = channel[len(base) :].split("/") if channel.startswith(base) else []
        if len(parts) > 2 and parts[0] == "t":
            parts = parts[2:]
            channel = base + "/".join(parts)
        if len(parts) == 1 and parts[0]:
            channel = client.conda_channel(parts[0], with_token=with_token)
        elif len(parts) == 3 and parts[1] == "label" and parts[0]:
            channel = client.conda_channel(parts[0], parts[2], with_token=with_token)
        if channel not in result:
            result.append(channel)
    return result
