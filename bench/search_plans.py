"""The database's side of search on PostgreSQL at 100k packages (a command, not a test).

``EXPLAIN (ANALYZE)`` of the statement ``services/search.py`` runs for a page of ids
(relevance order, 20 rows), for each query shape of ``bench/search.py``, anonymously and as
the owner: its execution time and whether the plan uses the trigram indexes of migration
0010. Prints table rows for ``bench/RESULTS.md``'s search section:
``python -m bench.search_plans [--packages N]``.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile

from sqlalchemy import case, text
from sqlalchemy.orm import Session

from bench.load import bulk_packages
from bench.search import PER_PAGE, SHAPES
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Package
from jupyter_repo.repository.permissions import ANONYMOUS, Actor
from jupyter_repo.repository.services import accounts, search
from tests.support.services import PostgreSQL


def explain(session: Session, query: str, actor: Actor) -> tuple[float, str]:
    """Execution time (ms) of the page-of-ids statement, and what its plan scans."""
    lowered = query.strip().lower()
    escaped = search._escape_like(lowered)
    rank = case(
        (Package.name_key == lowered, 0),
        (Package.name_key.like(f"{escaped}%", escape="\\"), 1),
        (Package.name_key.like(f"%{escaped}%", escape="\\"), 2),
        else_=3,
    )
    statement = (
        search.matching(session, actor, query)
        .order_by(rank, Package.name_key, Package.id)
        .limit(PER_PAGE)
    )
    sql = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = list(session.execute(text(f"EXPLAIN (ANALYZE) {sql}")).scalars())
    found = re.search(r"Execution Time: ([\d.]+)", plan[-1])
    assert found is not None, plan
    scans = "trgm" if any("trgm" in line for line in plan) else "seq"
    return float(found.group(1)), scans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=15, help="fresh queries per row")
    args = parser.parse_args()
    postgres = PostgreSQL().start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            repo = Repository(data_dir=scratch, db_url=postgres.create_database("plans"))
            repo.migrate()
            try:
                owner = repo.call(
                    lambda s: accounts.password_actor(
                        accounts.create_user(s, "owner1", "bench-password")
                    ),
                    write=True,
                )
                bulk_packages(repo, owner.user_id, args.packages, description_bytes=1000)
                repo.call(lambda s: s.execute(text("ANALYZE")), write=True)
                rng = random.Random(1)
                for description, make in SHAPES.values():
                    for who, actor in (("anonymous", ANONYMOUS), ("owner", owner)):
                        runs = [
                            repo.call(explain, make(args.packages, rng), actor)
                            for _ in range(args.queries)
                        ]
                        times = [ms for ms, _scans in runs]
                        scans = ", ".join(sorted({scans for _ms, scans in runs}))
                        print(
                            f"| {description} | {who} | {statistics.median(times):.1f} | "
                            f"{max(times):.1f} | {scans} |",
                            flush=True,
                        )
            finally:
                repo.close()
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
