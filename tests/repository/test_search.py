"""Search semantics, on SQLite and on PostgreSQL: ranking, totals across pages, summaries
matched regardless of ASCII case, LIKE characters taken literally, private packages only
for who may read them, filters by label and owner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Account, Blob, File, FileLabel, Label, Package, Release
from jupyter_repo.repository.permissions import ANONYMOUS, Actor
from jupyter_repo.repository.services import accounts, search
from tests.support.services import PostgreSQL


@pytest.fixture
def repo(database_url: str) -> Iterator[Repository]:
    repository = Repository(db_url=database_url)
    repository.migrate()
    yield repository
    repository.close()


PACKAGES = {
    # owner: [(name, summary, public)]
    "alice": [
        *((f"tool-{index:02d}", f"A Tool number {index}", True) for index in range(25)),
        ("tool-secret", "SECRET tool", False),
        ("percent", "100% pure", True),
        ("under_score", "snake", True),
    ],
    "bob": [
        ("other", "Uses TOOL kit", True),
        ("toolkit", "kit", True),
        ("tool", "t", True),
        ("atool", "a", True),
    ],
}


def fill(repo: Repository) -> dict[str, Actor]:
    actors = {}
    for login in PACKAGES:
        actors[login] = repo.call(
            lambda s, login=login: accounts.password_actor(
                accounts.create_user(s, login, "password-123")
            ),
            write=True,
        )

    def rows(session):  # type: ignore[no-untyped-def]
        owners = dict(session.execute(select(Account.login, Account.id)).all())
        session.add(Blob(id="blob", key="bl/ob/blob", size=1, md5="0" * 32, sha256="0" * 64))
        for login, packages in PACKAGES.items():
            label = Label(owner_id=owners[login], name="main")
            session.add(label)
            session.flush()
            for name, summary, public in packages:
                package = Package(
                    owner_id=owners[login],
                    name=name,
                    name_key=name,
                    pypi_key=name,
                    summary=summary,
                    public=public,
                    package_types=["conda"],
                    description="x" * 3000,
                )
                session.add(package)
                session.flush()
                release = Release(package_id=package.id, version="1.0")
                session.add(release)
                session.flush()
                if name.endswith(("3", "7")):  # a few on the main label
                    file_id = session.execute(
                        insert(File).returning(File.id),
                        [
                            {
                                "package_id": package.id,
                                "release_id": release.id,
                                "basename": f"noarch/{name}-1.0-0.conda",
                                "filename": f"{name}-1.0-0.conda",
                                "subdir": "noarch",
                                "distribution_type": "conda",
                                "size": 1,
                                "md5": "0" * 32,
                                "sha256": "0" * 64,
                                "attrs": {},
                                "dependencies": {},
                                "blob_id": "blob",
                            }
                        ],
                    ).scalar_one()
                    session.execute(insert(FileLabel), [{"file_id": file_id, "label_id": label.id}])

    repo.call(rows, write=True)
    return actors


def names(repo: Repository, actor: Actor, query: str, **options: object) -> tuple[list[str], int]:
    page = repo.call(lambda s: search.search(s, actor, query, **options))  # type: ignore[arg-type]
    return [package.name for package in page.packages], page.total


def every_page(
    repo: Repository, actor: Actor, query: str, per_page: int
) -> tuple[list[str], set[int]]:
    found: list[str] = []
    totals = set()
    for page in range(1, 100):
        items, total = names(repo, actor, query, page=page, per_page=per_page)
        totals.add(total)
        if not items:
            break
        found += items
    return found, totals


def test_search_ranks_pages_and_hides_private_packages(repo: Repository) -> None:
    check_search(repo, fill(repo))


def test_search_through_the_trigram_indexes_finds_the_same(postgres: PostgreSQL) -> None:
    """Migration 0010's pg_trgm indexes: with sequential scans priced out, the planner
    answers search through them (a bitmap OR of both), and every result stays the same."""
    url = postgres.create_database(f"trgm_{uuid.uuid4().hex[:8]}")
    repo = Repository(db_url=f"{url}?options=-c%20enable_seqscan%3Doff")
    repo.migrate()
    try:
        actors = fill(repo)

        def plan(session: Session) -> str:
            statement = search.matching(session, ANONYMOUS, "tool")
            sql = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            return "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())

        explained = repo.call(plan)
        assert "ix_packages_name_key_trgm" in explained, explained
        assert "ix_packages_summary_trgm" in explained, explained
        check_search(repo, actors)
    finally:
        repo.close()


def check_search(repo: Repository, actors: dict[str, Actor]) -> None:
    tools = [f"tool-{index:02d}" for index in range(25)]
    # Exact name, then prefix, then substring of the name, then the summary only (any case).
    expected = ["tool", *tools, "toolkit", "atool", "other"]
    assert names(repo, ANONYMOUS, "Tool", per_page=100) == (expected, len(expected))
    for per_page in (1, 7, 10, 30, 31, 100):
        found, totals = every_page(repo, ANONYMOUS, "tool", per_page)
        assert found == expected and totals == {len(expected)}, per_page
    # A page past the end is empty but still says how many there are.
    assert names(repo, ANONYMOUS, "tool", page=9, per_page=10) == ([], len(expected))
    assert names(repo, ANONYMOUS, "nothing-like-it") == ([], 0)

    # The private package: its owner finds it (by the summary, any ASCII case), bob not.
    with_secret = ["tool", *tools, "tool-secret", "toolkit", "atool", "other"]
    assert names(repo, actors["alice"], "tool", per_page=100) == (with_secret, 30)
    assert names(repo, actors["alice"], "secret") == (["tool-secret"], 1)
    assert names(repo, actors["bob"], "secret") == ([], 0)
    assert names(repo, ANONYMOUS, "SECRET") == ([], 0)

    # LIKE's % and _ are literal characters in a query.
    assert names(repo, ANONYMOUS, "100%") == (["percent"], 1)
    assert names(repo, ANONYMOUS, "r_s") == (["under_score"], 1)
    assert names(repo, ANONYMOUS, "%") == (["percent"], 1)

    # Filters: owner, label; the empty query lists everything visible by name.
    assert names(repo, ANONYMOUS, "tool", owner="bob") == (["tool", "toolkit", "atool", "other"], 4)
    assert names(repo, ANONYMOUS, "tool", label="main") == (
        ["tool-03", "tool-07", "tool-13", "tool-17", "tool-23"],
        5,
    )
    everything, total = names(repo, ANONYMOUS, "", per_page=500)
    assert total == len(everything) == 31 and "tool-secret" not in everything
