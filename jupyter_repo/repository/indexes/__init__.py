"""Conda channels and PyPI indexes generated from the database, per namespace and label.

A file is in the index ``(owner, label, subdir)`` when it carries the label, and a caller sees
it when it may read its package. The modules:

- ``journal``: the writing transaction bumps a revision per index it touched and logs which
  package names changed, so every process can check freshness with one indexed look-up and
  update its cache incrementally (see ``IndexState`` / ``IndexChange`` in ``models``).
- ``conda``: repodata records, pre-serialised per package name, and document assembly.
- ``shards``: CEP-16 sharded repodata (encoding, and the shard table that outlives indexes).
- ``rows``: the queries a channel index is built from (all names, or those changed).
- ``snapshots``: snapshots and views assembled from those rows (pure, deterministic).
- ``publishing``: storing the shards and serialised records the builds made.
- ``channels``: the per-process cache of channel snapshots and views, kept current.
- ``channeldata``: ``channeldata.json`` (CEP 38), built on demand.
- ``lookup``: the small per-request queries (which index, which revision, which private views).
- ``pypi``: PEP 503 / PEP 691 simple index data and rendering.

This package imports nothing from the HTTP layer.
"""
