"""Evidence in an S3-compatible bucket (AWS, MinIO, Ceph...), for several centre processes or
more evidence than one disk holds."""

from __future__ import annotations

import tempfile
from typing import IO, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from api.evidence.store import (
    Digest,
    EvidenceMissing,
    Reader,
    StoredFile,
    check_expected,
    check_key,
    copy_measured,
    extension,
)
from api.settings import S3StoreConfig

#: Uploads larger than this go up in parts (boto3's managed transfer).
MULTIPART_THRESHOLD = 64 << 20


class S3Store:
    """Objects under ``config.prefix`` in one bucket. A put is measured into a local spool
    file first, so an object appears (S3 writes are all-or-nothing) only with checked bytes;
    its sha256 is kept in the object's metadata too.

    Example:
        >>> store = S3Store(S3StoreConfig(bucket="evidence",
        ...                               endpoint_url="http://minio:9000"))  # doctest: +SKIP
    """

    def __init__(self, config: S3StoreConfig, *, client: Any = None) -> None:
        self.bucket = config.bucket
        self.prefix = config.prefix
        self.client = client or boto3.client(
            "s3", endpoint_url=str(config.endpoint_url) if config.endpoint_url else None,
            region_name=config.region,
            aws_access_key_id=_secret(config.access_key_id),
            aws_secret_access_key=_secret(config.secret_access_key),
            config=Config(retries={"mode": "standard", "max_attempts": 5},
                          connect_timeout=5, read_timeout=60))

    def put(self, key: str, stream: IO[bytes], *, content_type: str,
            expected: Digest | None = None) -> StoredFile:
        extension(content_type)
        name = self._name(key)
        with tempfile.TemporaryFile(prefix="fishwatch-put-") as spool:
            found = copy_measured(stream, spool)
            check_expected(key, found, expected)
            spool.seek(0)
            self.client.upload_fileobj(
                spool, self.bucket, name,
                ExtraArgs={"ContentType": content_type, "Metadata": {"sha256": found.sha256}},
                Config=TransferConfig(multipart_threshold=MULTIPART_THRESHOLD))
        return StoredFile(key, found.size, found.sha256, content_type)

    def open(self, key: str, *, start: int = 0, length: int | None = None) -> Reader:
        request: dict[str, str] = {"Bucket": self.bucket, "Key": self._name(key)}
        if length == 0:
            return _Empty()
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            request["Range"] = f"bytes={start}-{end}"
        try:
            return self.client.get_object(**request)["Body"]
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise EvidenceMissing(f"no evidence file {key!r}") from None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return False
            raise
        return True

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)


class _Empty:
    """Zero bytes (S3 has no empty range)."""

    def read(self, size: int = -1, /) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def __enter__(self) -> _Empty:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
