"""The conda index builder in-process: snapshots, views, shards and records from real rows.

Every test creates its rows through the services (real ``.conda`` files through
``uploads.ingest_local_file``), builds the channel as the handlers do (``lookup`` for the
revision and the caller's private rights, :class:`ChannelIndexes` for the documents) and
asserts on the produced bytes. The end-to-end suite (``tests/indexes/test_conda_channels.py``)
checks the same through HTTP and real clients; these check the builder's own promises —
a catch-up reads only the changed names yet gives the bytes of a full build — directly.
"""

from __future__ import annotations

import hashlib
import json

import msgpack
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jupyter_repo.repository.errors import NotFound
from jupyter_repo.repository.indexes import rows, shards
from jupyter_repo.repository.indexes.channels import ChannelIndexes
from jupyter_repo.repository.indexes.snapshots import ChannelView
from jupyter_repo.repository.models import CondaRecord, CondaShard, File
from jupyter_repo.repository.services import labels, packages
from tests.repository.conftest import World

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef]


def _files(view: ChannelView) -> set[str]:
    document = json.loads(view.document)
    return set(document["packages"]) | set(document["packages.conda"])


def _shard_names(view: ChannelView) -> set[str]:
    return set(msgpack.unpackb(zstd.decompress(view.shard_index.get()))["shards"])


def _same_bytes(warm: ChannelView, cold: ChannelView) -> None:
    assert warm.document == cold.document
    assert warm.etag == cold.etag
    assert warm.shard_index.get() == cold.shard_index.get()
    assert zstd.decompress(b"".join(warm.zst.get())) == cold.document


def test_incremental_catch_up_gives_the_bytes_of_a_full_build(world: World) -> None:
    """After every kind of change, the catch-up (which reads only the changed names) gives
    byte for byte the documents, ETag and shard index of a cold process's full build."""
    alice = world.user("alice")
    for name in ("a-lib", "b-lib", "c-lib"):
        world.conda(alice, name, "1.0")
    world.conda(alice, "a-lib", "1.0", "linux-64")  # another subdir: another index
    first = world.channel_view("alice", "noarch")
    assert _files(first) == {"a-lib-1.0-0.conda", "b-lib-1.0-0.conda", "c-lib-1.0-0.conda"}
    key = world.key("alice", "noarch")

    def change_then_compare(expected_touched: set[str], expected_files: set[str]) -> None:
        before = world.indexes.snapshot_if_current(key, 0)  # held, not caught up
        assert before is not None
        read = world.repo.call(rows.read, key, before)
        assert read is not None and read.touched == expected_touched
        assert {row.package_key for row in read.rows} <= expected_touched
        warm = world.channel_view("alice", "noarch")
        cold_indexes = ChannelIndexes(repository=world.repo, build_threads=1)
        try:
            cold = world.channel_view("alice", "noarch", indexes=cold_indexes)
            _same_bytes(warm, cold)
            world.settle(cold_indexes)
        finally:
            cold_indexes.close()
        assert _files(warm) == expected_files

    world.conda(alice, "a-lib", "1.1")
    change_then_compare(
        {"a-lib"},
        {"a-lib-1.0-0.conda", "a-lib-1.1-0.conda", "b-lib-1.0-0.conda", "c-lib-1.0-0.conda"},
    )
    world.conda(alice, "d-lib", "1.0", fmt=".tar.bz2")
    change_then_compare(
        {"d-lib"},
        {
            "a-lib-1.0-0.conda",
            "a-lib-1.1-0.conda",
            "b-lib-1.0-0.conda",
            "c-lib-1.0-0.conda",
            "d-lib-1.0-0.tar.bz2",
        },
    )
    world.repo.call(
        packages.delete_file,
        world.repo.store,
        alice,
        "alice",
        "b-lib",
        "1.0",
        "noarch/b-lib-1.0-0.conda",
        write=True,
    )
    change_then_compare(
        {"b-lib"},
        {"a-lib-1.0-0.conda", "a-lib-1.1-0.conda", "c-lib-1.0-0.conda", "d-lib-1.0-0.tar.bz2"},
    )
    world.repo.call(packages.set_visibility, alice, "alice", "c-lib", False, write=True)
    change_then_compare(
        {"c-lib"}, {"a-lib-1.0-0.conda", "a-lib-1.1-0.conda", "d-lib-1.0-0.tar.bz2"}
    )
    world.repo.call(
        labels.remove_files,
        alice,
        "alice",
        "main",
        labels.FileSelection("a-lib", "1.0", "noarch/a-lib-1.0-0.conda"),
        write=True,
    )
    change_then_compare({"a-lib"}, {"a-lib-1.1-0.conda", "d-lib-1.0-0.tar.bz2"})
    assert _files(world.channel_view("alice", "linux-64")) == {"a-lib-1.0-0.conda"}


def test_a_full_build_read_in_batches_gives_the_bytes_of_one_batch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full build reads the index a few package names at a time (so that a million rows
    are never in memory at once); names split over batches and a private package give
    the documents of a build that read everything in one batch."""
    alice = world.user("alice")
    for name in ("a-lib", "b-lib", "c-lib", "d-lib", "e-lib"):
        world.conda(alice, name, "1.0")
        world.conda(alice, name, "1.1")
    world.conda(alice, "secret", "1.0", public=False)
    key = world.key("alice", "noarch")
    whole = ChannelIndexes(repository=world.repo, build_threads=1)
    try:
        one_batch = world.channel_view("alice", "noarch", indexes=whole)
        world.settle(whole)
    finally:
        whole.close()
    monkeypatch.setattr(rows, "NAMES_PER_BATCH", 2)
    batches = world.repo.call(
        lambda session: [len(b) for b in rows.read(session, key, None).batches]
    )
    assert batches == [4, 4, 3]  # two names a batch, two files each but the private one
    batched = ChannelIndexes(repository=world.repo, build_threads=1)
    try:
        view = world.channel_view("alice", "noarch", indexes=batched)
        _same_bytes(one_batch, view)
        assert len(_files(view)) == 10
        world.settle(batched)
    finally:
        batched.close()


def test_a_current_snapshot_is_reused_without_reading_rows(world: World) -> None:
    alice = world.user("alice")
    world.conda(alice, "one", "1.0")
    key = world.key("alice", "noarch")
    snapshot = world.indexes.current(key)
    assert world.repo.call(rows.read, key, snapshot) is None
    assert world.indexes.current(key) is snapshot
    assert world.indexes.current(key, snapshot.revision) is snapshot


def test_private_packages_only_in_the_views_of_readers(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    world.conda(alice, "open-lib", "1.0")
    world.conda(alice, "secret-lib", "1.0", public=False)
    public = world.channel_view("alice", "noarch")
    assert _files(public) == {"open-lib-1.0-0.conda"}
    assert _shard_names(public) == {"open-lib"}
    own = world.channel_view("alice", "noarch", actor=alice)
    assert _files(own) == {"open-lib-1.0-0.conda", "secret-lib-1.0-0.conda"}
    assert _shard_names(own) == {"open-lib", "secret-lib"}
    assert own.etag != public.etag
    # Without read access: the very public view, not a copy of it.
    assert world.channel_view("alice", "noarch", actor=bob) is public
    # A token limited to another label reads no private file on main.
    dev_token = world.token_actor("alice", label="dev")
    assert world.channel_view("alice", "noarch", actor=dev_token) is public
    # The private view is kept: a second request gets the same object.
    assert world.channel_view("alice", "noarch", actor=alice) is own
    # Granting bob read access (a collaborator) gives him the private view's bytes.
    world.repo.call(packages.add_collaborator, alice, "alice", "secret-lib", "bob", write=True)
    assert world.channel_view("alice", "noarch", actor=bob).document == own.document


def test_each_label_is_its_own_index(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    world.conda(alice, "x-lib", "1.0")
    world.conda(alice, "x-lib", "2.0", labels=("dev",))
    world.conda(alice, "y-lib", "1.0", labels=("dev", "main"))
    world.conda(alice, "z-lib", "1.0", labels=("hidden",), public=False)
    assert _files(world.channel_view("alice", "noarch")) == {
        "x-lib-1.0-0.conda",
        "y-lib-1.0-0.conda",
    }
    assert _files(world.channel_view("alice", "noarch", label="dev")) == {
        "x-lib-2.0-0.conda",
        "y-lib-1.0-0.conda",
    }
    # Moving a file onto main changes main's index and leaves dev's alone.
    dev_before = world.channel_view("alice", "noarch", label="dev")
    world.repo.call(
        labels.add_files, alice, "alice", "main", labels.FileSelection("x-lib", "2.0"), write=True
    )
    assert _files(world.channel_view("alice", "noarch")) == {
        "x-lib-1.0-0.conda",
        "x-lib-2.0-0.conda",
        "y-lib-1.0-0.conda",
    }
    assert world.channel_view("alice", "noarch", label="dev") is dev_before
    # A label only a private package uses is "not found" to those who cannot read it.
    with pytest.raises(NotFound):
        world.channel_view("alice", "noarch", label="hidden", actor=bob)
    with pytest.raises(NotFound):
        world.channel_view("alice", "noarch", label="hidden")
    assert _files(world.channel_view("alice", "noarch", label="hidden", actor=alice)) == {
        "z-lib-1.0-0.conda"
    }
    with pytest.raises(NotFound):
        world.channel_view("alice", "noarch", label="nowhere", actor=alice)


def test_records_are_the_files_index_json_with_size_and_hashes(world: World) -> None:
    alice = world.user("alice")
    world.conda(alice, "dep-lib", "1.0", "linux-64", depends=("python >=3.8",))
    world.conda(alice, "dep-lib", "1.0", "linux-64", build="1", fmt=".tar.bz2")
    document = json.loads(world.channel_view("alice", "linux-64").document)
    assert document["info"] == {"subdir": "linux-64"}
    assert document["repodata_version"] == 1 and document["removed"] == []
    record = document["packages.conda"]["dep-lib-1.0-0.conda"]
    data = world.files.conda("dep-lib", "1.0", "linux-64", depends=("python >=3.8",)).read_bytes()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data).hexdigest()
    assert record["size"] == len(data)
    assert record["depends"] == ["python >=3.8"]
    assert (record["name"], record["version"], record["build"]) == ("dep-lib", "1.0", "0")
    assert record["subdir"] == "linux-64" and record["timestamp"] == 1_700_000_000_000
    assert "run_exports" not in record
    assert set(document["packages"]) == {"dep-lib-1.0-1.tar.bz2"}
    assert document["packages"]["dep-lib-1.0-1.tar.bz2"]["depends"] == []


def test_shards_and_records_are_stored_then_reused_and_retired(world: World) -> None:
    """A build's shards reach the shard table (for every process) and its serialised records
    the record cache; a cold build reuses those records and gives the same bytes; a
    replaced shard is retired, not deleted."""
    alice = world.user("alice")
    world.conda(alice, "keep", "1.0")
    world.conda(alice, "other", "1.0")
    key = world.key("alice", "noarch")
    snapshot = world.indexes.current(key)
    world.settle()
    old = snapshot.segments["keep"]

    def stored(digest: str) -> tuple[bytes, str] | None:
        return world.repo.call(shards.find, snapshot.index_id, digest)

    assert stored(old.shard_sha256) == (old.shard, "keep")
    records = world.repo.call(lambda s: s.scalars(select(CondaRecord.name)).all())
    assert sorted(records) == ["keep", "other"]

    cold = ChannelIndexes(repository=world.repo, build_threads=1)
    try:
        read = world.repo.call(lambda session: rows.read(session, key, None).rows)
        assert read and all(row.stored is not None for row in read)
        assert cold.current(key).public.document == snapshot.public.document
    finally:
        cold.close()

    world.conda(alice, "keep", "1.1")
    new = world.indexes.current(key).segments["keep"]
    world.settle()
    assert new.shard_sha256 != old.shard_sha256
    assert stored(new.shard_sha256) == (new.shard, "keep")
    assert stored(old.shard_sha256) == (old.shard, "keep")  # kept for older shard indexes
    retired = dict(
        world.repo.call(
            lambda s: s.execute(select(CondaShard.sha256, CondaShard.retired_at_ms)).all()
        )
    )
    assert retired[old.shard_sha256] is not None and retired[new.shard_sha256] is None
    shard = msgpack.unpackb(zstd.decompress(new.shard))
    assert set(shard["packages.conda"]) == {"keep-1.0-0.conda", "keep-1.1-0.conda"}
    assert shard["packages"] == {} and shard["removed"] == []


def test_channeldata_lists_what_the_caller_may_read(world: World) -> None:
    alice = world.user("alice")
    world.conda(alice, "open-lib", "1.0")
    world.conda(alice, "open-lib", "1.0", "linux-64")
    world.conda(alice, "secret-lib", "2.0", public=False)
    owner_id = world.owner_id("alice")

    def document(readable: frozenset[int]) -> dict:
        data, etag, _changed = world.repo.call(
            world.indexes.channeldata, owner_id, "main", readable
        )
        assert etag == hashlib.blake2b(data, digest_size=16).hexdigest()
        return json.loads(data)

    public = document(frozenset())
    assert set(public["packages"]) == {"open-lib"}
    assert public["packages"]["open-lib"]["subdirs"] == ["linux-64", "noarch"]
    assert public["subdirs"] == ["linux-64", "noarch"]
    secret_id = world.repo.call(lambda s: packages.get_package(s, alice, "alice", "secret-lib").id)
    full = document(frozenset({secret_id}))
    assert full["packages"]["secret-lib"]["version"] == "2.0"
    assert document(frozenset()) == public  # cached per view: the private one did not leak
    world.conda(alice, "late-lib", "1.0")
    assert set(document(frozenset())["packages"]) == {"open-lib", "late-lib"}


def test_channeldata_of_files_stored_before_their_fields_were_kept(world: World) -> None:
    """A conda file uploaded before migration 0006 has no ``conda_channel``: its entry comes
    from its ``info/index.json`` and its package's columns, flags false, until re-uploaded."""
    alice = world.user("alice")
    world.conda(alice, "old-lib", "1.0")
    world.conda(alice, "old-lib", "1.1", "linux-64")
    owner_id = world.owner_id("alice")

    def forget_fields(session: Session) -> None:
        session.execute(update(File).values(conda_channel=None))

    world.repo.call(forget_fields, write=True)
    cold = ChannelIndexes(repository=world.repo, build_threads=1)
    try:
        data, _etag, _changed = world.repo.call(cold.channeldata, owner_id, "main", frozenset())
    finally:
        cold.close()
    entry = json.loads(data)["packages"]["old-lib"]
    assert entry == {
        "activate.d": False,
        "binary_prefix": False,
        "deactivate.d": False,
        "home": "https://example.org/old-lib",
        "license": "BSD-3-Clause",
        "post_link": False,
        "pre_link": False,
        "pre_unlink": False,
        "run_exports": {},
        "subdirs": ["linux-64", "noarch"],
        "summary": "The old-lib sample package",
        "text_prefix": False,
        "timestamp": 1_700_000_000,
        "version": "1.1",
    }
