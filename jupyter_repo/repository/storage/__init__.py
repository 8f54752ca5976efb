"""Blob storage behind a small interface, so callers never know where bytes live.

Uploads are spooled to a local temporary file first (hashing as they stream, inspected in
place), then handed to the store with :meth:`BlobStore.put_file`: a rename for the local
store, a multipart upload for S3. Reads are chunk iterators, so nothing is held whole.
"""

from jupyter_repo.repository.storage.base import BlobStore, Spool
from jupyter_repo.repository.storage.local import LocalStore

__all__ = ["BlobStore", "LocalStore", "Spool"]
