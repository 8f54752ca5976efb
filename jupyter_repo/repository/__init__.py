"""The repository's domain: models, permissions, package inspection, storage and services.

Nothing in this package knows about HTTP or Tornado; the server layer translates requests
into calls on :mod:`jupyter_repo.repository.services` and their results back into responses.
"""
