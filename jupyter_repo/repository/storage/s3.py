"""An S3-compatible store (AWS S3, Swift's s3api, MinIO...) through boto3.

Only core S3 is used, so that every compatible server works: path-style addressing, SigV4,
multipart uploads from the spool file (bounded part buffers, so memory stays flat), ranged
GETs streamed in chunks, single-object deletes (Swift refuses DeleteObjects without
Content-MD5), and optionally presigned GET URLs so that clients download straight from the
store. Credentials come from the usual AWS variables or configuration.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from traitlets import Bool, Enum, Integer, Unicode

from jupyter_repo.repository.storage.base import BlobStore

if TYPE_CHECKING:  # boto3-stubs[s3], a test-only dependency
    from mypy_boto3_s3 import S3Client


class S3Store(BlobStore):
    """Blobs as objects in one bucket, under an optional key prefix."""

    endpoint_url = Unicode("", help="S3 endpoint, e.g. http://127.0.0.1:9000 (empty: AWS).").tag(
        config=True
    )
    public_endpoint_url = Unicode(
        "", help="Endpoint clients reach for presigned downloads (default: endpoint_url)."
    ).tag(config=True)
    bucket = Unicode("jupyter-repo", help="Bucket holding the blobs.").tag(config=True)
    prefix = Unicode("blobs/", help="Key prefix inside the bucket.").tag(config=True)
    region = Unicode("us-east-1", help="Region used for SigV4 signing.").tag(config=True)
    access_key_id = Unicode(
        "", help="Access key (default: AWS_ACCESS_KEY_ID / the usual boto3 sources)."
    ).tag(config=True)
    secret_access_key = Unicode("", help="Secret key (default: AWS_SECRET_ACCESS_KEY).").tag(
        config=True
    )
    create_bucket = Bool(True, help="Create the bucket at start-up when it is missing.").tag(
        config=True
    )
    download_mode = Enum(
        ["stream", "redirect"],
        "stream",
        help="'redirect' sends clients a presigned URL; 'stream' passes bytes through.",
    ).tag(config=True)
    presign_expiry = Integer(300, help="Seconds a presigned download URL stays valid.").tag(
        config=True
    )
    part_size = Integer(16 << 20, help="Multipart part size in bytes (≥ 5 MiB).").tag(config=True)
    max_concurrency = Integer(2, help="Parts uploaded in parallel (each buffers one part).").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: S3Client | None = None
        self._public_client: S3Client | None = None
        self._bucket_checked = False

    # -- clients ---------------------------------------------------------------------------

    def _make_client(self, endpoint: str) -> S3Client:
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "region_name": self.region,
            "config": Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=32,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }
        if endpoint:
            options["endpoint_url"] = endpoint
        if self.access_key_id:
            options["aws_access_key_id"] = self.access_key_id
            options["aws_secret_access_key"] = self.secret_access_key
        return boto3.session.Session().client("s3", **options)

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = self._make_client(self.endpoint_url)
        if not self._bucket_checked:
            self._ensure_bucket(self._client)
        return self._client

    def _ensure_bucket(self, client: S3Client) -> None:
        from botocore.exceptions import ClientError

        self._bucket_checked = True
        if not self.create_bucket:
            return
        try:
            client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                client.create_bucket(Bucket=self.bucket)
            except ClientError as error:  # created meanwhile by another process
                if error.response.get("Error", {}).get("Code") not in (
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                ):
                    raise

    def _key(self, key: str) -> str:
        if not key or ".." in key or key.startswith("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.prefix + key

    # -- BlobStore -------------------------------------------------------------------------

    def put_file(self, key: str, path: Path) -> None:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=self.max_concurrency,
            max_io_queue=4,
            io_chunksize=1 << 20,
        )
        self.client.upload_file(str(path), self.bucket, self._key(key), Config=config)
        Path(path).unlink(missing_ok=True)

    def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> Generator[bytes, None, None]:
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if start or end is not None:
            arguments["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        body = self.client.get_object(**arguments)["Body"]
        try:
            yield from body.iter_chunks(self.read_chunk_size)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def iter_keys(self) -> Iterator[tuple[str, float]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :], item["LastModified"].timestamp()

    def presigned_url(self, key: str, filename: str, expires: int | None = None) -> str | None:
        if self.download_mode != "redirect":
            return None
        if self._public_client is None:
            self._public_client = self._make_client(self.public_endpoint_url or self.endpoint_url)
        return self._public_client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
            ExpiresIn=expires or self.presign_expiry,
        )
