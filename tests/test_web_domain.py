"""The web UI's domain pieces in-process: sessions, the render cache, the schema migration."""

from __future__ import annotations

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
    user = repo.call(lambda s: accounts.create_user(s, "sessionuser", "long-password").id,
                     write=True)
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
    repo.call(renders.store, digest, "r1", renders.Rendering(b"<p>again</p>"),
              write=True)  # first one wins
    repo.call(renders.store, digest, "r1", renders.Rendering(b"late", failed=True),
              write=True)  # and a failure elsewhere does not replace it
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
