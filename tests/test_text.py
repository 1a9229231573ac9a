"""Tests of fmbook.text: the streaming IMDB reader, its cache, the data choice and input checks.

The real IMDB archive is not on these machines: the tests build a small archive in the
same layout (``aclImdb/train/pos/<id>_<rating>.txt`` ...) and register it as a data set.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fmbook import data, text
from fmbook.data import ChecksumError, Dataset, DataNotFoundError, RemoteFile

SHARED = Path(os.environ.get("FMBOOK_DATA", "") or "/nonexistent")
needs_sentences = pytest.mark.skipif(
    not (SHARED / "movieReviewSnippets_GroundTruth.txt").is_file(),
    reason="the review sentences are not in the FMBOOK_DATA mirror")

REVIEWS = {
    "aclImdb/train/pos/0_9.txt": "A wonderful film.<br /><br />Caf\u00e9 scenes are lovely.",
    "aclImdb/train/pos/1_7.txt": "Good enough.",
    "aclImdb/train/neg/0_2.txt": "Dull and far too long.",
    "aclImdb/train/neg/3_1.txt": "The worst thing I have seen.",
    "aclImdb/train/unsup/0_0.txt": "no label here",
    "aclImdb/test/pos/0_10.txt": "Brilliant.",
    "aclImdb/test/neg/0_4.txt": "Not for me.",
    "aclImdb/test/neg/1_3.txt": "Boring.",
    "aclImdb/imdb.vocab": "the\na\n",
    "aclImdb/README": "readme",
}


def make_archive(members: dict[str, str | bytes] = REVIEWS) -> bytes:
    """A gzip tar archive with the given members (text is UTF-8 encoded)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in members.items():
            payload = content.encode("utf-8") if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No download is tried: these tests read only local files (the cache is conftest's)."""
    monkeypatch.setenv("FMBOOK_OFFLINE", "1")


@pytest.fixture
def imdb_mirror(tmp_path, monkeypatch):
    """A mirror folder holding a synthetic archive, registered as the 'imdb' data set."""
    payload = make_archive()
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / text.IMDB_ARCHIVE).write_bytes(payload)
    ds = Dataset("imdb", "synthetic IMDB", (RemoteFile(text.IMDB_ARCHIVE, ("http://127.0.0.1:9/none",),
                                                      hashlib.sha256(payload).hexdigest()),), "test")
    monkeypatch.setitem(data.REGISTRY, "imdb", ds)
    monkeypatch.setenv("FMBOOK_DATA", str(mirror))
    return mirror


# --------------------------------------------------------------------------- the parser


def test_archive_is_parsed_into_labelled_train_and_test_frames():
    train, test = text.read_imdb_archive(make_archive())
    assert list(train.columns) == ["id", "rating", "text", "label"]
    assert len(train) == 4 and len(test) == 3
    assert train["label"].tolist() == [0, 0, 1, 1]
    assert dict(zip(train["text"], train["rating"]))["Good enough."] == 7
    assert set(test["label"]) == {0, 1}


def test_unlabelled_reviews_and_other_files_are_skipped():
    train, test = text.read_imdb_archive(make_archive())
    assert "no label here" not in set(train["text"]) | set(test["text"])


def test_utf8_text_and_html_breaks_are_kept_as_written():
    train, _ = text.read_imdb_archive(make_archive())
    assert "A wonderful film.<br /><br />Caf\u00e9 scenes are lovely." in set(train["text"])


def test_archive_is_read_from_a_path_without_unpacking_to_disk(tmp_path):
    path = tmp_path / "a.tar.gz"
    path.write_bytes(make_archive())
    train, test = text.read_imdb_archive(path)
    assert len(train) + len(test) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz"]


def test_truncated_archive_raises_archive_error():
    payload = make_archive()
    with pytest.raises(text.ArchiveError, match="truncated or corrupted"):
        text.read_imdb_archive(payload[: len(payload) // 2])


def test_file_that_is_not_a_gzip_tar_raises_archive_error():
    with pytest.raises(text.ArchiveError, match="cannot be read"):
        text.read_imdb_archive(b"<html>not found</html>")


def test_archive_without_a_test_split_is_rejected():
    train_only = {k: v for k, v in REVIEWS.items() if "/test/" not in k}
    with pytest.raises(text.ArchiveError, match="aclImdb/test"):
        text.read_imdb_archive(make_archive(train_only))


def test_review_that_is_not_utf8_is_rejected():
    bad = dict(REVIEWS)
    bad["aclImdb/test/pos/5_8.txt"] = b"caf\xe9"
    with pytest.raises(text.ArchiveError, match="not UTF-8"):
        text.read_imdb_archive(make_archive(bad))


# --------------------------------------------------------------------------- fetching and the cache


def test_load_imdb_verifies_the_archive_and_caches_the_parsed_frames(imdb_mirror, monkeypatch):
    train, test = text.load_imdb()
    cache = text.imdb_cache_path()
    assert cache.is_file() and cache.name.endswith(".jsonl.gz")
    monkeypatch.setattr(text, "read_imdb_archive", lambda *a: pytest.fail("the cache was not used"))
    train2, test2 = text.load_imdb()
    pd.testing.assert_frame_equal(train, train2)
    pd.testing.assert_frame_equal(test, test2)


def test_parsed_cache_is_gzip_json_lines_not_pickle(imdb_mirror):
    text.load_imdb()
    with gzip.open(text.imdb_cache_path(), "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("{") and len(lines) == 1 + 7


def test_unreadable_parsed_cache_is_parsed_again(imdb_mirror):
    cache = text.imdb_cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"garbage")
    train, _ = text.load_imdb()
    assert len(train) == 4
    assert text._read_jsonl_gz(cache) is not None


def test_archive_with_a_wrong_checksum_is_a_checksum_error(imdb_mirror, monkeypatch):
    ds = Dataset("imdb", "synthetic", (RemoteFile(text.IMDB_ARCHIVE, (), "0" * 64),), "test")
    monkeypatch.setitem(data.REGISTRY, "imdb", ds)
    with pytest.raises(ChecksumError, match="does not match its sha256"):
        text.load_imdb()


def test_corrupted_archive_in_the_cache_is_discarded_and_not_parsed(tmp_path, monkeypatch):
    monkeypatch.delenv("FMBOOK_DATA", raising=False)
    good = make_archive()
    ds = Dataset("imdb", "synthetic", (RemoteFile(text.IMDB_ARCHIVE, (), hashlib.sha256(good).hexdigest()),), "t")
    monkeypatch.setitem(data.REGISTRY, "imdb", ds)
    cached = data.cache_dir() / text.IMDB_ARCHIVE
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(good[:-100])
    with pytest.warns(UserWarning, match="corrupted"), pytest.raises(DataNotFoundError, match="offline"):
        text.load_imdb()
    assert not cached.exists()


def test_imdb_is_unavailable_when_no_verified_copy_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("FMBOOK_DATA", str(tmp_path))
    assert text.imdb_available() is False


# --------------------------------------------------------------------------- choosing the data


def test_auto_uses_imdb_when_a_verified_archive_is_present(imdb_mirror, capsys):
    reviews = text.choose_reviews("auto", profile="fast")
    assert reviews.name == "imdb" and len(reviews.train) == 4
    assert not reviews.train["text"].str.contains("<br />").any()
    assert "data set: imdb" in capsys.readouterr().out


@needs_sentences
def test_auto_uses_the_movie_sentences_without_imdb_and_says_so(capsys):
    reviews = text.choose_reviews("auto", profile="smoke", n_train=200, n_test=100)
    out = capsys.readouterr().out
    assert reviews.name == "movie_sentences"
    assert "IMDB (aclImdb_v1.tar.gz) is not in the mirror or the cache" in out
    assert (len(reviews.train), len(reviews.test)) == (200, 100)


def test_full_profile_without_imdb_is_an_error_not_a_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("FMBOOK_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="aclImdb_v1.tar.gz"):
        text.choose_reviews("auto", profile="full")


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="auto, imdb, movie_sentences"):
        text.choose_reviews("yelp", profile="smoke")


# --------------------------------------------------------------------------- review sentences


@needs_sentences
def test_movie_sentences_drop_the_near_neutral_ones():
    everything = data.load_review_sentences("movie", neutral_band=0.0)
    kept = data.load_review_sentences("movie", neutral_band=data.NEUTRAL_BAND)
    assert len(everything) <= 10_605 and len(kept) == 10_072
    assert (kept["rating"].abs() >= data.NEUTRAL_BAND).all()


@needs_sentences
def test_sentence_labels_are_the_sign_of_the_rating():
    df = data.load_review_sentences("product")
    assert set(df["label"]) == {0, 1}
    assert ((df["rating"] > 0) == (df["label"] == 1)).all()


@needs_sentences
def test_sentences_are_decoded_as_utf8_without_carriage_returns():
    df = data.load_review_sentences("movie", neutral_band=0.0)
    joined = "".join(df["text"])
    assert "\r" not in joined and "\u00e9" in joined and "\ufffd" not in joined


@needs_sentences
def test_sentence_split_is_stratified_disjoint_and_seeded():
    train, test = text.review_sentence_split("movie", test_size=0.2, seed=0)
    assert set(train["id"]).isdisjoint(test["id"])
    assert abs(train["label"].mean() - test["label"].mean()) < 0.01
    again, _ = text.review_sentence_split("movie", test_size=0.2, seed=0)
    assert train["id"].tolist() == again["id"].tolist()


def test_subsample_is_stratified_and_of_the_requested_size():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(100)], "label": [0] * 70 + [1] * 30})
    part = text.subsample(df, 20, seed=0)
    assert len(part) == 20 and part["label"].sum() == 6


def test_subsample_rejects_a_non_positive_size():
    with pytest.raises(ValueError, match="positive"):
        text.subsample(pd.DataFrame({"label": [0, 1]}), 0)


# --------------------------------------------------------------------------- input checks


def test_texts_become_a_numpy_string_array():
    out = text.as_texts(pd.Series(["good", "bad"], dtype="str"))
    assert isinstance(out, np.ndarray) and out.dtype.kind == "U" and out.tolist() == ["good", "bad"]


def test_a_single_text_becomes_a_batch_of_one():
    assert text.as_texts("fine film").tolist() == ["fine film"]


def test_empty_list_of_texts_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        text.as_texts([])


def test_blank_text_is_rejected_with_its_position():
    with pytest.raises(ValueError, match=r"texts\[1\] is an empty or blank text"):
        text.as_texts(["ok", "   "])


def test_non_string_text_is_rejected():
    with pytest.raises(TypeError, match=r"texts\[0\] is int"):
        text.as_texts([3])


def test_labels_minus_one_and_one_are_rejected_with_advice():
    with pytest.raises(ValueError, match="Map -1/1"):
        text.as_labels([-1, 1, 1])


def test_string_labels_are_rejected():
    with pytest.raises(ValueError, match="0 \\(negative\\) or 1 \\(positive\\)"):
        text.as_labels(["pos", "neg"])


def test_labels_of_the_wrong_length_are_rejected():
    with pytest.raises(ValueError, match="3 values but there are 2 texts"):
        text.as_labels([0, 1, 1], n=2)


def test_boolean_labels_become_integers():
    assert text.as_labels(np.array([True, False])).tolist() == [1, 0]


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_archive_cut_anywhere_is_never_read_as_a_shorter_archive(keep):
    payload = make_archive()
    with pytest.raises(text.ArchiveError):
        text.read_imdb_archive(payload[: int(len(payload) * keep)])


def test_archive_with_a_flipped_byte_is_rejected():
    payload = bytearray(make_archive())
    payload[len(payload) // 2] ^= 0xFF
    with pytest.raises(text.ArchiveError):
        text.read_imdb_archive(bytes(payload))


# --------------------------------------------------------------------------- baseline


def test_tfidf_baseline_learns_a_toy_sentiment_task():
    texts = ["great film", "wonderful acting", "great story", "awful film", "boring acting", "awful story"] * 5
    labels = [1, 1, 1, 0, 0, 0] * 5
    model = text.tfidf_baseline(texts, labels, min_df=1)
    assert model.predict(["a great wonderful story", "an awful boring film"]).tolist() == [1, 0]


def test_tfidf_baseline_uses_the_parameters_given():
    texts = ["a b", "a c", "b c", "a a"] * 3
    model = text.tfidf_baseline(texts, [1, 0, 1, 0] * 3, ngram_range=(1, 1), min_df=1,
                                token_pattern=r"(?u)\b\w+\b", C=0.5, max_iter=50)
    vectorizer, logreg = model[0], model[-1]
    assert vectorizer.ngram_range == (1, 1) and vectorizer.token_pattern == r"(?u)\b\w+\b"
    assert sorted(vectorizer.vocabulary_) == ["a", "b", "c"]  # one-letter words kept
    assert (logreg.C, logreg.max_iter) == (0.5, 50)


def test_tfidf_baseline_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="3 values but there are 2 texts"):
        text.tfidf_baseline(["good", "bad"], [0, 1, 1])


def test_tfidf_baseline_rejects_labels_other_than_0_and_1():
    with pytest.raises(ValueError, match="0 \\(negative\\) or 1"):
        text.tfidf_baseline(["good", "bad"], [-1, 1])
