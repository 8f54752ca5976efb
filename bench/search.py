"""Search latency on SQLite and PostgreSQL at 10k and 100k packages (a command, not a test).

For each database and size, ``bulk_packages`` creates the packages (every tenth private,
summaries "Benchmark package number N", descriptions of ``--description-bytes``), a real
server process starts on that database (PostgreSQL: a throwaway cluster from
``tests/support/services.py``, with the migrations' trigram indexes), and
``GET /api/search?name=Q&per_page=20`` is timed for several shapes of query, each with a
fresh value every round, anonymously and as the owner (who also sees the private ones).
The table goes to the ``search`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

from bench.load import bulk_packages
from bench.results import write_section
from bench.run import Client, Server, machine, percentile
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.services import accounts, tokens
from tests.support.services import PostgreSQL

OWNER = "searcher"
PER_PAGE = 20

#: shape → (what it is, a query for N packages from a random source)
SHAPES: dict[str, tuple[str, Callable[[int, random.Random], str]]] = {
    "exact": ("an exact name, `pkg-04211`", lambda n, r: f"pkg-{r.randrange(n):05d}"),
    "prefix": (
        "a name prefix matching 100, `pkg-042`",
        lambda n, r: f"pkg-{r.randrange(n // 100):03d}",
    ),
    "substring": (
        "a substring of names and summaries, `4211`",
        lambda n, r: f"{r.randrange(1000, 10000)}",
    ),
    "summary": (
        "words of summaries, `number 77` (1,111 matches at 100k)",
        lambda n, r: f"number {r.randrange(10, 100)}",
    ),
    "none": ("no match, `nothing-123`", lambda n, r: f"nothing-{r.randrange(1000)}"),
    "every": ("every package matches, `pkg`", lambda n, r: "pkg"),
}


def fill(data: Path, db_url: str, count: int, description_bytes: int) -> str:
    """Migrate and seed one database; the owner's token."""
    repo = Repository(data_dir=str(data), **({"db_url": db_url} if db_url else {}))
    repo.migrate()
    try:
        actor = repo.call(
            lambda s: accounts.password_actor(accounts.create_user(s, OWNER, "bench-password")),
            write=True,
        )
        _row, token = repo.call(
            tokens.create_token, actor, name="bench", scopes=["all"], write=True
        )
        bulk_packages(repo, actor.user_id, count, description_bytes=description_bytes)
        if db_url:  # what PostgreSQL's autovacuum does soon after a bulk load
            repo.call(lambda s: s.execute(text("ANALYZE")), write=True)
    finally:
        repo.close()
    return token


#: (shape, who) → the client's milliseconds of each search
Walls = dict[tuple[str, str], list[float]]
#: (shape, who) → the server process's CPU milliseconds per search
Cpus = dict[tuple[str, str], float]


def measure(
    server: Server, token: str, count: int, rounds: int, rng: random.Random
) -> tuple[Walls, Cpus]:
    """Each shape and caller in turn, ``rounds`` searches after 3 of warm-up: the client's
    times and the server's CPU time per search (on a busy machine the wall time measures
    the machine as much as the search; the CPU time is what the search costs)."""
    clients = {
        "anonymous": ({}, Client(server.url)),
        "owner": ({"Authorization": f"token {token}"}, Client(server.url)),
    }
    walls: Walls = {}
    cpus: Cpus = {}
    for shape, (_text, make) in SHAPES.items():
        for who, (headers, client) in clients.items():
            cpu_start = 0.0
            for round_ in range(rounds + 3):
                if round_ == 3:
                    cpu_start = server.cpu_seconds()
                query = make(count, rng)
                started = time.perf_counter()
                status, _headers, body = client.request(
                    "GET", f"/api/search?name={quote(query)}&per_page={PER_PAGE}", headers=headers
                )
                elapsed = (time.perf_counter() - started) * 1000
                if status != 200:
                    raise RuntimeError(f"search {query!r} -> {status} {body[:200]!r}")
                if round_ >= 3:
                    walls.setdefault((shape, who), []).append(elapsed)
            cpus[(shape, who)] = (server.cpu_seconds() - cpu_start) * 1000 / rounds
    return walls, cpus


#: (database, packages) → times, CPU times, load average after the run
Results = dict[tuple[str, int], tuple[Walls, Cpus, float]]


def run(
    database: str, count: int, rounds: int, description_bytes: int, work: Path
) -> tuple[Walls, Cpus, float]:
    data = work / f"{database}-{count}"
    data.mkdir(parents=True)
    postgres = PostgreSQL().start() if database == "postgres" else None
    try:
        db_url = postgres.create_database("repo") if postgres else ""
        started = time.perf_counter()
        token = fill(data, db_url, count, description_bytes)
        print(
            f"  {database} {count:,}: loaded in {time.perf_counter() - started:.0f} s", flush=True
        )
        arguments = (f"--Repository.db_url={db_url}",) if db_url else ()
        server = Server(data, work / f"server-{database}-{count}.log", arguments).start()
        try:
            walls, cpus = measure(server, token, count, rounds, random.Random(count))
        finally:
            server.stop()
        return walls, cpus, os.getloadavg()[0]
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(data, ignore_errors=True)


def report(results: Results, rounds: int, description_bytes: int, started_load: float) -> str:
    columns = list(results)
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [
        "## Search: /api/search on SQLite and PostgreSQL, 10k and 100k packages",
        "",
        f"`./scripts/bench search`, {time.strftime('%Y-%m-%d %H:%M %Z')}: one server process "
        f"per database and size, packages from `bulk_packages` (one namespace, every tenth "
        f"private, descriptions of {description_bytes} bytes), `GET /api/search?name=Q&"
        f"per_page={PER_PAGE}` on a keep-alive connection, for each shape and caller "
        f"{rounds} searches after 3 of warm-up, a fresh value each time, anonymously and as "
        "the owner (who also sees the private packages). PostgreSQL 15 in a throwaway "
        "cluster, with migration 0010's trigram indexes (pg_trgm, GIN) on `name_key` and "
        "`lower(summary)`; SQLite with its covering index (0004). Cells: the client's p50 / "
        "p95 in ms, and in brackets the server process's CPU time per search in ms (on a "
        "busy machine the client's times measure the machine as much as the search).",
        "",
        f"Machine: {machine()}; load average {started_load:.1f} at the start, "
        + ", ".join(
            f"{load:.1f} after {names[db]} {count // 1000}k"
            for (db, count), (_w, _c, load) in results.items()
        )
        + " (the 2 cores are shared with other work).",
        "",
        "| query | who | "
        + " | ".join(f"{names[db]} {count // 1000}k" for db, count in columns)
        + " |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for shape, (description, _make) in SHAPES.items():
        for who in ("anonymous", "owner"):
            cells = []
            for column in columns:
                walls, cpus, _load = results[column]
                values = walls[(shape, who)]
                cells.append(
                    f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f} "
                    f"({cpus[(shape, who)]:.1f})"
                )
            lines.append(f"| {description} | {who} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--description-bytes", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    started_load = os.getloadavg()[0]
    results: Results = {}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as scratch:
        for database in args.databases.split(","):
            for count in (int(size) for size in args.sizes.split(",")):
                results[(database, count)] = run(
                    database, count, args.rounds, args.description_bytes, Path(scratch)
                )
                print(
                    report(
                        {(database, count): results[(database, count)]},
                        args.rounds,
                        args.description_bytes,
                        started_load,
                    ),
                    flush=True,
                )
    text_ = report(results, args.rounds, args.description_bytes, started_load)
    print(text_)
    if not args.no_write:
        write_section("search", text_)


if __name__ == "__main__":
    main()
