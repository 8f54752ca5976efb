"""The web UI's domain pieces in-process: sessions, the render cache, the schema migration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import Unauthenticated
from jupyter_repo.repository.models import RenderCache, WebSession, utcnow
from jupyter_repo.repository.security import hash_token
from jupyter_repo.repository.services import accounts, renders, web_sessions


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    repository = Repository(data_dir=str(tmp_path / "data"))
    repository.migrate()
    yield repository
    repository.close()


def test_sessions_start_resolve_expire_and_end(repo: Repository) -> None:
    user = repo.call(
        lambda s: accounts.create_user(s, "sessionuser", "long-password").id, write=True
    )
    secret = repo.call(web_sessions.start, user, max_age=3600, write=True)
    actor = repo.call(web_sessions.resolve, secret)
    assert actor.login == "sessionuser" and actor.token_id is None
    # Only a hash is stored.
    stored = repo.call(lambda s: [row.secret_hash for row in s.query(WebSession)])
    assert stored == [hash_token(secret)]

    def expire(session):  # type: ignore[no-untyped-def]
        session.get(WebSession, hash_token(secret)).expires_at = utcnow() - timedelta(seconds=1)

    repo.call(expire, write=True)
    with pytest.raises(Unauthenticated):
        repo.call(web_sessions.resolve, secret)

    second = repo.call(web_sessions.start, user, max_age=3600, write=True)
    assert repo.call(lambda s: s.query(WebSession).count()) == 1  # the expired one is gone
    repo.call(web_sessions.end, second, write=True)
    for bad in (second, "", "x" * 500):
        with pytest.raises(Unauthenticated):
            repo.call(web_sessions.resolve, bad)


def test_render_cache_keeps_one_rendering_per_content(repo: Repository) -> None:
    digest = "a" * 64
    assert repo.call(renders.cached, digest, "r1") is None
    repo.call(renders.store, digest, "r1", renders.Rendering(b"<p>one</p>"), write=True)
    repo.call(
        renders.store, digest, "r1", renders.Rendering(b"<p>again</p>"), write=True
    )  # first one wins
    repo.call(
        renders.store, digest, "r1", renders.Rendering(b"late", failed=True), write=True
    )  # and a failure elsewhere does not replace it
    assert repo.call(renders.cached, digest, "r1") == renders.Rendering(b"<p>one</p>")
    repo.call(renders.store, digest, "r2", renders.Rendering(b"<p>two</p>"), write=True)
    assert repo.call(renders.cached, digest, "r1") is None  # older renderer dropped
    assert repo.call(renders.cached, digest, "r2") == renders.Rendering(b"<p>two</p>")


def test_render_cache_remembers_a_failure_for_a_while(repo: Repository) -> None:
    digest = "b" * 64
    failure = renders.Rendering(b"took too long", failed=True)
    repo.call(renders.store, digest, "r1", failure, write=True)
    assert repo.call(renders.cached, digest, "r1", 600) == failure
    assert repo.call(renders.cached, digest, "r1") == failure  # no ttl: kept

    def age(session):  # type: ignore[no-untyped-def]
        session.get(RenderCache, (digest, "r1")).created_at = utcnow() - timedelta(seconds=601)

    repo.call(age, write=True)
    assert repo.call(renders.cached, digest, "r1", 600) is None  # time to try again
    repo.call(renders.store, digest, "r1", renders.Rendering(b"<p>done</p>"), write=True)
    assert repo.call(renders.cached, digest, "r1", 600) == renders.Rendering(b"<p>done</p>")


@pytest.fixture
def any_repo(database_url: str, tmp_path: Path) -> Iterator[Repository]:
    """A repository on SQLite, then on PostgreSQL (the scaled-out tier's database)."""
    repository = Repository(data_dir=str(tmp_path / "data"), db_url=database_url)
    repository.migrate()
    yield repository
    repository.close()


def test_one_process_claims_a_rendering_the_others_wait(any_repo: Repository) -> None:
    repo = any_repo
    digest = "c" * 64
    assert repo.call(renders.claim, digest, "r1", 90, write=True)
    assert not repo.call(renders.claim, digest, "r1", 90, write=True)  # someone renders it
    assert repo.call(renders.cached, digest, "r1") is None  # a claim is no rendering

    def age(seconds: float):  # type: ignore[no-untyped-def]
        def change(session):  # type: ignore[no-untyped-def]
            row = session.get(RenderCache, (digest, "r1"))
            row.created_at = utcnow() - timedelta(seconds=seconds)

        return change

    repo.call(age(91), write=True)  # its process died: the claim lapses
    assert repo.call(renders.claim, digest, "r1", 90, write=True)
    repo.call(renders.release, digest, "r1", write=True)  # given up: anyone may claim it
    assert repo.call(renders.claim, digest, "r1", 90, write=True)
    failure = renders.Rendering(b"failed\nslow", failed=True)
    repo.call(renders.store, digest, "r1", failure, write=True)  # replaces the claim
    assert repo.call(renders.cached, digest, "r1", 600) == failure
    assert not repo.call(renders.claim, digest, "r1", 90, 600, write=True)  # still fresh
    repo.call(age(601), write=True)
    assert repo.call(renders.claim, digest, "r1", 90, 600, write=True)  # time to try again
    big = renders.Rendering(os.urandom(20_000).hex().encode())  # over the small-row size
    repo.call(renders.store, digest, "r1", big, write=True)
    assert repo.call(renders.cached, digest, "r1", 600) == big
    repo.call(age(10_000), write=True)
    assert not repo.call(renders.claim, digest, "r1", 90, 600, write=True)  # kept for good
    repo.call(renders.release, digest, "r1", write=True)  # only ever drops a claim
    assert repo.call(renders.cached, digest, "r1") == big
