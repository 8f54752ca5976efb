"""The upload benchmark: ``./scripts/bench upload`` (or ``python -m bench.upload``).

One big file (500 MB of random bytes by default) is uploaded to a real ``jupyter repo serve``
process on 127.0.0.1 by curl (a C client, so the client is not the bottleneck), three ways:

- ``PUT /api/upload/...`` with the file as the body (the jupyter-repo client, curl);
- anaconda-client's staged flow: stage, the multipart ``POST`` of the file, commit;
- PyPI's upload API (twine, uv): a multipart ``POST`` of a wheel holding the random bytes.

Each is timed from the first byte sent to the server's answer (the final fsync, inspection,
the move into the store and the database commit included), the median of ``--uploads`` runs;
the server's RSS is sampled every 20 ms. The bounds are measured on the same machine just
before: md5, sha256 and blake2b-256 over 1 MiB buffers on one core, a memory copy, and the
durable write rate of the data disk (256 MB + fsync). The machine's load average is recorded
at the start and end: the machine is shared, and a busy neighbour slows every line.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.load import load
from bench.results import write_section
from bench.run import Client, PeakRss, Server, disk_write_rate, machine
from tests.support import processes


def hash_rate(name: str, megabytes: int = 256) -> float:
    """MB/s of one hash over 1 MiB buffers on one core (fresh buffers, as from a socket)."""
    buffers = [os.urandom(1 << 20) for _ in range(16)]
    digest = hashlib.blake2b(digest_size=32) if name == "blake2b-256" else hashlib.new(name)
    started = time.perf_counter()
    for index in range(megabytes):
        digest.update(buffers[index % len(buffers)])
    return megabytes * 2**20 / (time.perf_counter() - started) / 1e6


def copy_rate(megabytes: int = 512) -> float:
    """MB/s of copying 1 MiB buffers in memory (what each extra copy of the body costs)."""
    source = os.urandom(1 << 20)
    target = bytearray(1 << 20)
    started = time.perf_counter()
    for _ in range(megabytes):
        target[:] = source
    return megabytes * 2**20 / (time.perf_counter() - started) / 1e6


@dataclass
class Run:
    mb_s: float
    base_mib: float
    peak_mib: float


def timed(server: Server, command: list[str]) -> tuple[float, float, float, str]:
    """Run ``command`` (a curl) while sampling the server's RSS: seconds, base, peak, stdout."""
    assert server.process is not None
    rss = PeakRss(server.process.pid)
    started = time.perf_counter()
    result = processes.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    peak = rss.stop()
    return elapsed, rss.base / 2**20, peak, result.stdout


def curl(*args: str) -> list[str]:
    return ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *args]


def put_upload(server: Server, owner: str, token: str, source: Path, index: int) -> Run:
    path = f"/api/upload/{owner}/big-put-{index}/1/{source.name}?type=file"
    elapsed, base, peak, status = timed(
        server,
        curl("-T", str(source), "-H", f"Authorization: token {token}", server.url + path),
    )
    if status != "201":
        raise AssertionError(f"PUT upload failed with {status}")
    return Run(source.stat().st_size / elapsed / 1e6, base, peak)


def staged_upload(server: Server, owner: str, token: str, source: Path, index: int) -> Run:
    """anaconda-client's flow; only the multipart POST of the bytes is timed."""
    import json

    client = Client(server.url)
    auth = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    name = f"big-staged-{index}"
    status, _headers, _body = client.request(
        "POST", f"/api/package/{owner}/{name}", body=json.dumps({"public": True}), headers=auth
    )
    assert status in (200, 201), status
    where = f"{owner}/{name}/1/{source.name}"
    status, _headers, body = client.request(
        "POST", f"/api/stage/{where}", body=json.dumps({"distribution_type": "file"}), headers=auth
    )
    assert status == 200, body
    staged = json.loads(body)
    form = [arg for key, value in staged["form_data"].items() for arg in ("-F", f"{key}={value}")]
    elapsed, base, peak, status_text = timed(
        server, curl(*form, "-F", f"file=@{source}", staged["post_url"])
    )
    if status_text != "201":
        raise AssertionError(f"staged POST failed with {status_text}")
    status, _headers, body = client.request(
        "POST",
        f"/api/commit/{where}",
        body=json.dumps({"dist_id": staged["dist_id"]}),
        headers=auth,
    )
    assert status == 200, body
    return Run(source.stat().st_size / elapsed / 1e6, base, peak)


def wheel_of(source: Path, target_dir: Path, version: int) -> Path:
    """A valid wheel whose payload is ``source`` stored uncompressed (random bytes)."""
    wheel = target_dir / f"big_wheel-{version}-py3-none-any.whl"
    info = f"big_wheel-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        with (
            open(source, "rb") as data,
            archive.open("big_wheel/data.bin", "w", force_zip64=True) as member,
        ):
            shutil.copyfileobj(data, member, 1 << 20)
        archive.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: big-wheel\nVersion: {version}\n",
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def pypi_upload(server: Server, owner: str, token: str, wheel: Path, version: int) -> Run:
    sha256 = hashlib.sha256()
    with open(wheel, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha256.update(chunk)
    elapsed, base, peak, status = timed(
        server,
        curl(
            "-u",
            f"__token__:{token}",
            "-F",
            ":action=file_upload",
            "-F",
            "protocol_version=1",
            "-F",
            "name=big-wheel",
            "-F",
            f"version={version}",
            "-F",
            "filetype=bdist_wheel",
            "-F",
            "pyversion=py3",
            "-F",
            f"sha256_digest={sha256.hexdigest()}",
            "-F",
            f"content=@{wheel}",
            f"{server.url}/pypi/{owner}/",
        ),
    )
    if status not in ("200", "201"):
        raise AssertionError(f"PyPI upload failed with {status}")
    return Run(wheel.stat().st_size / elapsed / 1e6, base, peak)


def summary(runs: list[Run]) -> str:
    rates = ", ".join(f"{run.mb_s:.0f}" for run in runs)
    return (
        f"{statistics.median(run.mb_s for run in runs):.0f} ({rates}) | "
        f"{runs[0].base_mib:.0f} → {max(run.peak_mib for run in runs):.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="size of the file (MB)")
    parser.add_argument("--uploads", type=int, default=3, help="uploads per kind (median)")
    parser.add_argument(
        "--kinds", default="put,staged,pypi", help="which uploads: put, staged, pypi"
    )
    parser.add_argument("--work", default="", help="scratch folder (default: a temp folder)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    work = Path(args.work or tempfile.mkdtemp(prefix="jupyter-repo-bench-upload-"))
    work.mkdir(parents=True, exist_ok=True)
    description = machine()
    print(description, flush=True)
    rates = {name: hash_rate(name) for name in ("md5", "sha256", "blake2b-256")}
    copy = copy_rate()
    disk = disk_write_rate(work)
    print(
        "md5 / sha256 / blake2b-256 / copy / disk (MB/s): "
        + " / ".join(f"{rate:.0f}" for rate in (*rates.values(), copy, disk)),
        flush=True,
    )
    source = work / "big-upload.bin"
    with open(source, "wb") as handle:
        for _ in range(args.mb):
            handle.write(os.urandom(1_000_000))
    data_dir = work / "data"
    loaded = load(data_dir, 12)
    server = Server(data_dir, work / "server.log").start()
    lines = []
    try:
        if "put" in kinds:
            runs = [
                put_upload(server, loaded.owner, loaded.token, source, i)
                for i in range(args.uploads)
            ]
            lines.append(
                f"| `PUT /api/upload` (one request, the body is the file) | {summary(runs)} |"
            )
            print(lines[-1], flush=True)
        if "staged" in kinds:
            runs = [
                staged_upload(server, loaded.owner, loaded.token, source, i)
                for i in range(args.uploads)
            ]
            lines.append(f"| anaconda-client's staged multipart `POST` | {summary(runs)} |")
            print(lines[-1], flush=True)
        if "pypi" in kinds:
            runs = []
            for version in range(1, args.uploads + 1):
                wheel = wheel_of(source, work, version)
                try:
                    runs.append(pypi_upload(server, loaded.owner, loaded.token, wheel, version))
                finally:
                    wheel.unlink()
            lines.append(f"| PyPI upload API, multipart `POST` of a wheel | {summary(runs)} |")
            print(lines[-1], flush=True)
    finally:
        server.stop()
        end_load = os.getloadavg()[0]
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    table = "\n".join(
        [
            f"| upload of a {args.mb} MB file with curl | MB/s, median of {args.uploads} "
            "(each run) | server RSS before → peak |",
            "| --- | --- | --- |",
            *lines,
        ]
    )
    print(table)
    print(f"load average at the end: {end_load:.1f}")
    if not args.no_write:
        write_section(
            "upload",
            "## Upload: one big file\n\n"
            f"Latest run of `./scripts/bench upload` ({time.strftime('%Y-%m-%d %H:%M %Z')}).\n\n"
            f"Machine: {description}; at the end {end_load:.1f}.\n\n"
            "Bounds measured on this machine just before, one core each, 1 MiB buffers: "
            f"md5 {rates['md5']:.0f} MB/s, sha256 {rates['sha256']:.0f} MB/s, blake2b-256 "
            f"{rates['blake2b-256']:.0f} MB/s, memory copy {copy:.0f} MB/s; durable write "
            f"rate of the data disk (256 MB + fsync) {disk:.0f} MB/s.\n\n"
            f"{table}\n\n"
            "One server process (SQLite, local blob store), curl on the same 2 cores. See "
            "`bench/README.md` for what bounds the rate.\n",
        )
        print("wrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
