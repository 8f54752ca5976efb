"""Copying from upstreams: conda channels and PyPI indexes, mirrored or proxied.

``upstream.py`` talks to an upstream (conditional GETs, streamed downloads, clear errors);
``ingest.py`` stores a fetched file through the ordinary upload services after checking it
against the upstream's sha256 and size; ``sync.py`` runs one sync of a mirror (claim,
dispatch by kind, record the outcome). The repository domain (``jupyter_repo.repository``)
keeps the records (``services/mirrors.py``) and knows nothing of fetching.
"""
