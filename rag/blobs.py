"""Where uploaded files' bytes are kept until (and while) they are ingested: a folder in the data directory on
the embedded default, an S3-compatible object store (AWS S3, MinIO, ...) when the service is scaled out; or,
with a shared catalog and no object store, the catalog's own rows (rag.catalog, `database`). Every worker
reads a file by its key, wherever it runs."""

import os
import tempfile
from pathlib import Path
from typing import Protocol

from rag.errors import BackendUnavailable


class Blobs(Protocol):
    where: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None:
        """None when nothing is kept under the key."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Nothing happens for a key not kept."""


class FolderBlobs:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.where = str(self.root)

    def _path(self, key: str) -> Path:
        if not key or "/" in key.replace("/", "", 1) or ".." in key or key.startswith("/"):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(data)
            os.replace(temp, path)  # whole or not at all
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # the document's folder, once empty
        except OSError:
            pass


class S3Blobs:
    """Any S3-compatible store, through boto3 (the `s3` extra)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, region: str = "us-east-1"):
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:
            raise BackendUnavailable("an S3 blob store needs boto3: pip install 'smallrag[s3]'") from e
        self.bucket = bucket
        self.where = f"s3://{bucket}" + (f" at {endpoint_url}" if endpoint_url else "")
        config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2})
        self.client = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=access_key,
                                   aws_secret_access_key=secret_key, region_name=region, config=config)

    def _call(self, method: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            if code == "NoSuchBucket" and method == "put_object":  # a new store: the bucket made at first use
                self.client.create_bucket(Bucket=self.bucket)
                return self._call(method, **kwargs)
            raise BackendUnavailable(f"the blob store {self.where} refused {method}: {e}") from e
        except BotoCoreError as e:
            raise BackendUnavailable(f"the blob store {self.where} cannot be reached: {e}") from e

    def put(self, key: str, data: bytes) -> None:
        self._call("put_object", Key=key, Body=data)

    def get(self, key: str) -> bytes | None:
        found = self._call("get_object", Key=key)
        return None if found is None else found["Body"].read()

    def exists(self, key: str) -> bool:
        return self._call("head_object", Key=key) is not None

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)


def open_blobs(settings) -> Blobs | None:
    """The blob store the settings name; None: in the catalog's own rows (`database`)."""
    kind = settings.blob_store
    if kind == "auto":
        kind = "s3" if settings.s3_bucket else "database" if settings.catalog_url else "folder"
    if kind == "folder":
        return FolderBlobs(settings.data_dir / "uploads")
    if kind == "s3":
        if not settings.s3_bucket:
            raise BackendUnavailable("RAG_BLOB_STORE=s3 needs RAG_S3_BUCKET")
        return S3Blobs(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_access_key, settings.s3_secret_key,
                       settings.s3_region)
    return None
