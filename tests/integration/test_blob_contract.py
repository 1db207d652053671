"""The blob seam (rag.blobs): a folder on the embedded default, an S3-compatible server (moto's server mode, a
real HTTP S3 API) when scaled out; and the catalog keeping uploads' bytes there: all or none, the bytes a
replacement or a delete leaves behind removed."""

import pytest

from rag.blobs import FolderBlobs, S3Blobs
from rag.catalog import NewUpload, open_catalog
from rag.errors import BackendUnavailable, QuotaExceeded
from rag.settings import Settings
from tests.helpers.servers import free_port, start_s3

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_url():
    port = free_port()
    process = start_s3(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def s3(url: str, bucket: str) -> S3Blobs:
    blobs = S3Blobs(bucket, url, "test", "test")
    blobs.client.create_bucket(Bucket=bucket)
    return blobs


@pytest.fixture(params=["folder", "s3"])
def blobs(request, tmp_path):
    if request.param == "folder":
        return FolderBlobs(tmp_path / "uploads")
    return s3(request.getfixturevalue("s3_url"), f"b{tmp_path.name[-20:].replace('_', '')}".lower()[:40])


def test_bytes_are_kept_read_and_removed_by_key(blobs):
    assert blobs.get("doc/aa") is None and not blobs.exists("doc/aa")
    blobs.put("doc/aa", b"\x00first")
    blobs.put("doc/bb", b"second" * 1000)
    assert blobs.get("doc/aa") == b"\x00first" and blobs.exists("doc/bb")
    blobs.put("doc/aa", b"again")
    assert blobs.get("doc/aa") == b"again"
    blobs.delete("doc/aa")
    blobs.delete("doc/aa")  # gone already: nothing happens
    assert blobs.get("doc/aa") is None and blobs.get("doc/bb") == b"second" * 1000


def test_an_unreachable_store_is_a_backend_unavailable():
    blobs = S3Blobs("nowhere", f"http://127.0.0.1:{free_port()}", "test", "test")
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        blobs.get("doc/aa")


def test_folder_keys_cannot_leave_the_folder(tmp_path):
    blobs = FolderBlobs(tmp_path / "uploads")
    for key in ("../escape", "/abs", "a/b/c", ""):
        with pytest.raises(ValueError):
            blobs.put(key, b"x")


def upload(doc_id: str, data: bytes, sha: str) -> NewUpload:
    return NewUpload(doc_id, "c", f"{doc_id}.txt", sha, len(data), lambda: data)


@pytest.mark.parametrize("store", ["folder", "s3"])
def test_the_catalog_keeps_uploads_in_the_blob_store(store, tmp_path, request):
    values = {"blob_store": store}
    if store == "s3":  # a bucket not made yet: made at the first upload
        bucket = f"cat{tmp_path.name[-20:].replace('_', '')}".lower()[:40]
        values |= {"s3_bucket": bucket, "s3_endpoint_url": request.getfixturevalue("s3_url"),
                   "s3_access_key": "test", "s3_secret_key": "test"}
    catalog = open_catalog(Settings(_env_file=None, data_dir=tmp_path, **values))
    blobs = catalog.blobs
    catalog.put_uploads([upload("d1", b"one", "s1"), upload("d2", b"two", "s2")], "default", lambda n, size: None)
    assert catalog.upload("d1") == b"one" and blobs.get("d1/s1") == b"one"

    def refuse(count, size):
        raise QuotaExceeded("over")

    with pytest.raises(QuotaExceeded):  # refused: nothing of it kept, the earlier upload untouched
        catalog.put_uploads([upload("d3", b"three", "s3"), upload("d1", b"one", "s1")], "default", refuse)
    assert blobs.get("d3/s3") is None and catalog.upload("d3") is None and blobs.get("d1/s1") == b"one"

    catalog.put_upload("d1", "c", "d1.txt", "d1.txt", "s1b", b"one, edited")  # replaced: the old bytes go
    assert catalog.upload("d1") == b"one, edited" and blobs.get("d1/s1") is None
    catalog.delete_document("d1")
    assert blobs.get("d1/s1b") is None and catalog.upload("d1") is None
    catalog.drop_collection("c")
    assert blobs.get("d2/s2") is None and catalog.upload("d2") is None


def test_a_shared_catalog_without_an_object_store_keeps_bytes_in_its_rows(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, catalog_url=f"sqlite:///{tmp_path / 'shared.db'}")
    catalog = open_catalog(settings)
    assert catalog.blobs is None
    catalog.put_upload("d1", "c", "d1.txt", "d1.txt", "s1", b"in the row")
    assert catalog.upload("d1") == b"in the row" and not (tmp_path / "uploads").exists()


def test_bytes_kept_in_rows_before_there_was_a_blob_store_are_still_read(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, blob_store="database")
    open_catalog(settings).put_upload("d1", "c", "d1.txt", "d1.txt", "s1", b"from before")
    catalog = open_catalog(settings.model_copy(update={"blob_store": "folder"}))
    assert catalog.blobs is not None and catalog.upload("d1") == b"from before"
