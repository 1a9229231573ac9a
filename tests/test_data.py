import hashlib
import io
import os
import tarfile

import numpy as np
import pytest

from fmbook import data
from fmbook.data import ChecksumError, DataNotFoundError, Dataset, RemoteFile

PAYLOAD = b"hello fmbook\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
needs_mirror = pytest.mark.skipif(not os.environ.get("FMBOOK_DATA"), reason="FMBOOK_DATA (the data mirror) is not set")


def toy(url: str, members=()) -> Dataset:
    return Dataset("toy", "a test data set", (RemoteFile("toy.txt", (url,), PAYLOAD_SHA, members=tuple(members)),), "none")


@pytest.fixture
def no_mirror(monkeypatch):
    monkeypatch.delenv("FMBOOK_DATA", raising=False)
    monkeypatch.delenv("FMBOOK_OFFLINE", raising=False)


# ---------------------------------------------------------------- registry


def test_unknown_data_set_names_the_known_ones():
    with pytest.raises(KeyError, match="known data sets are .*mnist"):
        data.get_dataset("imagenet")


def test_every_registry_file_has_a_sha256_and_a_source():
    for ds in data.REGISTRY.values():
        for f in ds.files:
            assert len(f.sha256) == 64 and f.urls, f.name


# ---------------------------------------------------------------- downloads


def test_download_is_verified_and_cached(no_mirror, http_server):
    http_server.routes["/toy.txt"] = (200, PAYLOAD)
    path = data.fetch_file(toy(http_server.url("/toy.txt")), "toy.txt", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert path.parent == data.cache_dir()


def test_cached_file_is_not_downloaded_again(no_mirror, http_server):
    http_server.routes["/toy.txt"] = (200, PAYLOAD)
    ds = toy(http_server.url("/toy.txt"))
    data.fetch_file(ds, "toy.txt", progress=False)
    data.fetch_file(ds, "toy.txt", progress=False)
    assert len(http_server.hits) == 1


def test_bad_checksum_download_is_rejected_and_nothing_is_written(no_mirror, http_server):
    http_server.routes["/toy.txt"] = (200, b"tampered")
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        data.fetch_file(toy(http_server.url("/toy.txt")), "toy.txt", progress=False)
    assert not any(data.cache_dir().iterdir()), "no partial or bad file may be left behind"


def test_server_error_gives_a_clear_error_naming_the_fetch_command(no_mirror, http_server):
    http_server.routes["/toy.txt"] = (500, b"boom")
    with pytest.raises(DataNotFoundError, match="fmbook data fetch toy"):
        data.fetch_file(toy(http_server.url("/toy.txt")), "toy.txt", progress=False)
    assert not (data.cache_dir() / "toy.txt").exists()


def test_second_source_is_tried_when_the_first_fails(no_mirror, http_server):
    http_server.routes["/good"] = (200, PAYLOAD)
    ds = Dataset("toy", "", (RemoteFile("toy.txt", (http_server.url("/bad"), http_server.url("/good")), PAYLOAD_SHA),), "")
    assert data.fetch_file(ds, "toy.txt", progress=False).read_bytes() == PAYLOAD


def test_corrupted_cache_file_is_detected_and_fetched_again(no_mirror, http_server):
    http_server.routes["/toy.txt"] = (200, PAYLOAD)
    ds = toy(http_server.url("/toy.txt"))
    path = data.fetch_file(ds, "toy.txt", progress=False)
    path.write_bytes(b"bit rot")
    with pytest.warns(UserWarning, match="corrupted"):
        again = data.fetch_file(ds, "toy.txt", progress=False)
    assert again.read_bytes() == PAYLOAD
    assert len(http_server.hits) == 2


def test_offline_without_a_local_copy_names_the_file_and_the_command(no_mirror, monkeypatch):
    monkeypatch.setenv("FMBOOK_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as err:
        data.fetch_file(toy("http://127.0.0.1:9/toy.txt"), "toy.txt")
    assert "toy.txt" in str(err.value) and "fmbook data fetch toy" in str(err.value)


def test_member_of_a_nested_archive_is_extracted(no_mirror, http_server):
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        info = tarfile.TarInfo("inner/toy.txt")
        info.size = len(PAYLOAD)
        tar.addfile(info, io.BytesIO(PAYLOAD))
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/inner.tar.gz")
        info.size = len(inner.getvalue())
        tar.addfile(info, io.BytesIO(inner.getvalue()))
    http_server.routes["/pkg.tar.gz"] = (200, outer.getvalue())
    ds = toy(http_server.url("/pkg.tar.gz"), members=("pkg/inner.tar.gz", "inner/toy.txt"))
    assert data.fetch_file(ds, "toy.txt", progress=False).read_bytes() == PAYLOAD


# ---------------------------------------------------------------- the mirror


def test_mirror_file_is_used_without_network(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.txt").write_bytes(PAYLOAD)
    monkeypatch.setenv("FMBOOK_DATA", str(mirror))
    monkeypatch.setenv("FMBOOK_OFFLINE", "1")
    assert data.fetch_file(toy("http://127.0.0.1:9/x"), "toy.txt") == mirror / "toy.txt"


def test_corrupted_mirror_file_is_an_error_not_a_silent_download(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.txt").write_bytes(b"corrupted")
    monkeypatch.setenv("FMBOOK_DATA", str(mirror))
    with pytest.raises(ChecksumError, match="mirror"):
        data.fetch_file(toy("http://127.0.0.1:9/x"), "toy.txt")


def test_npz_with_other_bytes_but_the_same_arrays_is_accepted(tmp_path):
    arrays = {"a": np.arange(10, dtype=np.uint8)}
    path = tmp_path / "x.npz"
    np.savez_compressed(path, **arrays)
    check = data.npz_arrays_match({"a": hashlib.sha256(arrays["a"].tobytes()).hexdigest()})
    spec = RemoteFile("x.npz", ("http://unused",), "0" * 64, content_check=check)
    assert data.file_is_valid(path, spec)
    np.savez_compressed(path, a=np.arange(1, 11, dtype=np.uint8))
    assert not data.file_is_valid(path, spec)


@needs_mirror
def test_status_reports_where_each_file_is():
    assert set(data.status("adult").values()) == {"mirror"}


# ---------------------------------------------------------------- loaders
# (Adult and COMPAS are tested in test_fairness.py, the review sentences in test_text.py)


def test_breast_cancer_codes_malignant_as_one():
    X, y = data.load_breast_cancer()
    assert X.shape == (569, 30) and y.dtype == np.int64
    assert y.sum() == 212  # 212 malignant, 357 benign


@needs_mirror
def test_mnist_has_the_keras_layout():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.dtype == np.uint8
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_unknown_review_domain_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of movie"):
        data.load_review_sentences("poems")
