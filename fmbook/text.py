"""Text for the sentiment chapters: the IMDB archive, review sentences, input checks, a baseline.

Chapter 03 trains on movie reviews. Two sources are possible:

* **IMDB** (Maas et al. 2011): 25,000 train / 25,000 test full-length reviews in
  ``aclImdb_v1.tar.gz``. :func:`read_imdb_archive` reads the archive *as a stream*
  (100,000 small files are never unpacked to disk) and :func:`load_imdb` caches the
  parsed frames as a gzip-compressed JSON-lines file next to the data cache.
* **Movie-review sentences** (Pang & Lee snippets rated by people, Hutto & Gilbert
  2014), loaded by :func:`fmbook.data.load_review_sentences`. They are short (about
  19 words) and have no official split, so :func:`review_sentence_split` makes a
  stratified, seeded one.

:func:`choose_reviews` picks between them and prints which one it uses: IMDB when a
verified copy is at hand (and always in the ``full`` profile, where a missing archive
is an error, not a reason to switch), the sentences otherwise. Nothing switches
silently.

:func:`tfidf_baseline` is the bag-of-words model that chapters 03, 04 and 07
compare with (or explain): TF-IDF features into a logistic regression.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import data as _data

IMDB_ARCHIVE = "aclImdb_v1.tar.gz"
"""File name of the IMDB archive in the registry entry ``"imdb"``."""

_MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_CACHE_VERSION = 1


class ArchiveError(_data.DataError):
    """An archive whose checksum may be right but whose content cannot be read as IMDB."""


# --------------------------------------------------------------------------- IMDB


def read_imdb_archive(source: str | os.PathLike | bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the IMDB archive into a train and a test frame, streaming it.

    Only ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` members are read;
    the unlabelled ``train/unsup`` reviews, the vocabulary and the URL lists are
    skipped. Nothing is written to disk.

    Parameters
    ----------
    source : path or bytes
        The ``.tar.gz`` file (or its bytes).

    Returns
    -------
    train, test : pandas.DataFrame
        Columns ``id`` (int64, the number in the file name), ``rating`` (int64,
        the reviewer's 1..10 stars: 1-4 negative, 7-10 positive), ``text`` (str,
        UTF-8, HTML line breaks ``<br />`` kept as written) and ``label``
        (int64, 1 = positive). Rows are sorted by label then id, index reset.

    Raises
    ------
    ArchiveError
        When the archive is truncated or not a gzip tar file, a review is not
        UTF-8, or a split has no labelled reviews at all.
    """
    rows: dict[str, list[tuple[int, int, str, int]]] = {"train": [], "test": []}
    name = "archive bytes" if isinstance(source, bytes) else Path(source).name
    raw = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    try:
        # gzip is opened by hand, not with tarfile's "r|gz": tarfile stops at the end-of-archive
        # marker, and a truncated stream would then pass silently as a shorter archive. Reading
        # the gzip stream to its end below makes gzip check its length and CRC.
        gz = gzip.GzipFile(fileobj=raw, mode="rb")
        with tarfile.open(fileobj=gz, mode="r|") as tar:
            for member in tar:  # stream: each member is read once, in order
                match = _MEMBER.match(member.name)
                if match is None or not member.isfile():
                    continue
                split, polarity, ident, rating = match.groups()
                fh = tar.extractfile(member)
                if fh is None:  # pragma: no cover - isfile() members always have data
                    continue
                try:
                    text = fh.read().decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ArchiveError(f"{member.name} in {name} is not UTF-8 text ({exc})") from None
                rows[split].append((int(ident), int(rating), text, int(polarity == "pos")))
        while gz.read(1 << 20):  # the rest of the stream: raises EOFError when truncated
            pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(
            f"{name} cannot be read as a gzip tar archive ({type(exc).__name__}: {exc}). It is "
            f"truncated or corrupted: delete it and fetch it again with `fmbook data fetch imdb`."
        ) from None
    finally:
        raw.close()
    frames = []
    for split in ("train", "test"):
        if not rows[split]:
            raise ArchiveError(
                f"{name} has no labelled reviews under aclImdb/{split}/pos or aclImdb/{split}/neg: "
                "it is not the IMDB archive (aclImdb_v1.tar.gz)")
        df = pd.DataFrame(rows[split], columns=["id", "rating", "text", "label"])
        df = df.sort_values(["label", "id"], kind="stable").reset_index(drop=True)
        frames.append(df.astype({"id": "int64", "rating": "int64", "label": "int64"}))
    return frames[0], frames[1]


def _write_jsonl_gz(frames: dict[str, pd.DataFrame], path: Path) -> None:
    """Write frames as gzip JSON lines atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            out.write(json.dumps({"fmbook_imdb_cache": _CACHE_VERSION}) + "\n")
            for split, df in frames.items():
                for ident, rating, text, label in df[["id", "rating", "text", "label"]].itertuples(index=False):
                    out.write(json.dumps({"split": split, "id": int(ident), "rating": int(rating),
                                          "text": text, "label": int(label)}, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_jsonl_gz(path: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Read a cache written by :func:`_write_jsonl_gz`; None when it is unreadable."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline())
            if header.get("fmbook_imdb_cache") != _CACHE_VERSION:
                return None
            records = [json.loads(line) for line in fh]
    except (OSError, EOFError, ValueError, zlib.error):
        return None
    df = pd.DataFrame.from_records(records, columns=["split", "id", "rating", "text", "label"])
    out = []
    for split in ("train", "test"):
        part = df[df["split"] == split].drop(columns="split").reset_index(drop=True)
        if part.empty:
            return None
        out.append(part.astype({"id": "int64", "rating": "int64", "label": "int64"}))
    return out[0], out[1]


def imdb_cache_path(dataset: str | _data.Dataset = "imdb", filename: str = IMDB_ARCHIVE) -> Path:
    """Where the parsed IMDB frames are cached: the data cache, named by the archive's sha256."""
    spec = _data.get_dataset(dataset).file(filename)
    return _data.cache_dir() / f"{Path(filename).name.split('.')[0]}.parsed.{spec.sha256[:12]}.jsonl.gz"


def load_imdb(dataset: str | _data.Dataset = "imdb", filename: str = IMDB_ARCHIVE, *,
              use_cache: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load the IMDB reviews as a train and a test frame.

    The archive is fetched and verified by :func:`fmbook.data.fetch_file` (mirror,
    cache, then the network), parsed by :func:`read_imdb_archive` and the result is
    cached in :func:`imdb_cache_path` (gzip JSON lines, no pickle). The next call
    reads the cache, which is keyed by the archive's sha256; an unreadable cache is
    parsed again.

    Parameters
    ----------
    dataset, filename
        The registry entry and file (tests pass their own small archive).
    use_cache : bool, default True
        Read and write the parsed cache.

    Returns
    -------
    train, test : pandas.DataFrame
        See :func:`read_imdb_archive`.

    Raises
    ------
    fmbook.data.DataNotFoundError, fmbook.data.ChecksumError
        From the fetch: no verified copy can be had.
    ArchiveError
        The verified file cannot be parsed.
    """
    archive = _data.fetch_file(dataset, filename)
    cache = imdb_cache_path(dataset, filename)
    if use_cache and cache.is_file():
        cached = _read_jsonl_gz(cache)
        if cached is not None:
            return cached
    train, test = read_imdb_archive(archive)
    if use_cache:
        _write_jsonl_gz({"train": train, "test": test}, cache)
    return train, test


def imdb_available(dataset: str | _data.Dataset = "imdb", filename: str = IMDB_ARCHIVE) -> bool:
    """True when a verified IMDB archive is in the mirror or the cache (nothing is fetched)."""
    spec = _data.get_dataset(dataset).file(filename)
    return _data.locate(spec) is not None


# --------------------------------------------------------------------------- sentences


def review_sentence_split(domain: str = "movie", *, test_size: float = 0.2, seed: int = 0,
                          neutral_band: float = _data.NEUTRAL_BAND) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split human-rated review sentences into a stratified train and test frame.

    Parameters
    ----------
    domain : {"movie", "product", "tweet", "editorial"}
    test_size : float, default 0.2
        Share of sentences held out, in (0, 1).
    seed : int, default 0
    neutral_band : float, default :data:`fmbook.data.NEUTRAL_BAND`
        Sentences with ``abs(rating) < neutral_band`` are dropped.

    Returns
    -------
    train, test : pandas.DataFrame
        Columns of :func:`fmbook.data.load_review_sentences` (``id``, ``rating``,
        ``text``, ``label``), each split with the same positive share.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size!r}")
    from sklearn.model_selection import train_test_split

    df = _data.load_review_sentences(domain, neutral_band=neutral_band)
    train, test = train_test_split(df, test_size=test_size, stratify=df["label"], random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def subsample(df: pd.DataFrame, n: int | None, *, seed: int = 0) -> pd.DataFrame:
    """A stratified random subset of ``n`` rows (all rows, shuffled, when ``n`` is None or larger)."""
    if n is not None and int(n) <= 0:
        raise ValueError(f"n must be a positive number of rows or None, got {n!r}")
    if n is None or n >= len(df):
        return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    from sklearn.model_selection import train_test_split

    part, _ = train_test_split(df, train_size=int(n), stratify=df["label"], random_state=seed)
    return part.reset_index(drop=True)


# --------------------------------------------------------------------------- choosing


@dataclass(frozen=True)
class ReviewData:
    """The chapter's data: which source, and its train and test frames."""

    name: str  # "imdb" or "movie_sentences"
    description: str
    train: pd.DataFrame
    test: pd.DataFrame


SOURCES: tuple[str, ...] = ("auto", "imdb", "movie_sentences")


def choose_reviews(source: str = "auto", *, profile: str, n_train: int | None = None,
                   n_test: int | None = None, seed: int = 0, verbose: bool = True) -> ReviewData:
    """Pick the chapter's review data and say which on screen.

    Parameters
    ----------
    source : {"auto", "imdb", "movie_sentences"}
        ``"auto"``: IMDB when a verified archive is in the mirror or the cache, the
        movie-review sentences otherwise; in the ``full`` profile always IMDB (fetched
        when missing, an error when it cannot be had). ``"imdb"`` fetches IMDB or
        fails; ``"movie_sentences"`` uses the sentences.
    profile : str
        The active profile (``ch.profile``).
    n_train, n_test : int, optional
        Stratified subset sizes (None: all).
    seed : int, default 0

    Returns
    -------
    ReviewData
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    if source == "auto":
        if profile == "full":
            source, why = "imdb", "the full profile always uses IMDB"
        elif imdb_available():
            source, why = "imdb", "a verified IMDB archive is available locally"
        else:
            source, why = "movie_sentences", (f"IMDB ({IMDB_ARCHIVE}) is not in the mirror or the "
                                              f"cache, so this run uses the movie-review sentences")
    else:
        why = "chosen explicitly"
    if source == "imdb":
        train, test = (df.assign(text=df["text"].str.replace("<br />", " ", regex=False))
                       for df in load_imdb())
        description = ("IMDB movie reviews (Maas et al. 2011), full-length reviews, official split, "
                       "HTML line breaks <br /> replaced by spaces")
    else:
        train, test = review_sentence_split("movie", seed=seed)
        description = (f"movie-review sentences (Pang & Lee, rated by Hutto & Gilbert 2014), "
                       f"|rating| >= {_data.NEUTRAL_BAND}, stratified 80/20 split")
    train, test = subsample(train, n_train, seed=seed), subsample(test, n_test, seed=seed)
    result = ReviewData(source, description, train, test)
    if verbose:
        print(f"data set: {source} ({why})\n  {description}\n  "
              f"train {len(train):,} / test {len(test):,}, positive share {train['label'].mean():.2f}")
    return result


# --------------------------------------------------------------------------- checks


def as_texts(texts: Sequence[str] | np.ndarray | pd.Series | str, *, name: str = "texts") -> np.ndarray:
    """Validate learner-facing text input and return it as a NumPy ``str`` array.

    A single string becomes a one-element array. Plain NumPy strings are what
    Keras's ``TextVectorization`` wants: pandas 3 string columns passed directly are
    converted element by element and are very slow.

    Raises
    ------
    ValueError
        No texts, or an empty/blank text (its position is named).
    TypeError
        An element that is not a string.
    """
    if isinstance(texts, str):
        texts = [texts]
    items = list(texts.tolist() if isinstance(texts, (np.ndarray, pd.Series)) else texts)
    if not items:
        raise ValueError(f"{name} is empty: give at least one text")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is {type(t).__name__} ({t!r}), not a string")
        if not t.strip():
            raise ValueError(f"{name}[{i}] is an empty or blank text: remove it or write something")
    return np.asarray(items, dtype=str)


def as_labels(labels: Sequence[int] | np.ndarray | pd.Series, *, n: int | None = None,
              name: str = "labels") -> np.ndarray:
    """Validate binary sentiment labels (0 = negative, 1 = positive); return an int64 array.

    Raises
    ------
    ValueError
        Empty labels, a value other than 0 or 1 (e.g. -1/1 or "pos"), or a length other
        than ``n``.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if arr.dtype.kind == "b":
        arr = arr.astype("int64")
    if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
        bad = sorted({str(v) for v in np.unique(arr)} - {"0", "1", "0.0", "1.0"})[:5]
        raise ValueError(f"{name} must be 0 (negative) or 1 (positive); found {', '.join(bad)}. "
                         "Map -1/1 or 'neg'/'pos' to 0/1 first.")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} values but there are {n} texts")
    return arr.astype("int64")


__all__ = [
    "IMDB_ARCHIVE", "ArchiveError", "ReviewData", "SOURCES", "read_imdb_archive",
    "load_imdb", "imdb_available", "imdb_cache_path", "review_sentence_split", "subsample",
    "choose_reviews", "as_texts", "as_labels", "tfidf_baseline",
]


# --------------------------------------------------------------------------- baseline

WORD_PATTERN = r"(?u)\b\w\w+\b"
"""scikit-learn's default token pattern: words of two or more letters or digits."""


def tfidf_baseline(texts: Sequence[str] | np.ndarray | pd.Series, labels: Sequence[int] | np.ndarray | pd.Series, *,
                   ngram_range: tuple[int, int] = (1, 2), min_df: int = 1, token_pattern: str = WORD_PATTERN,
                   C: float = 4.0, max_iter: int = 2000):
    """Fit the bag-of-words sentiment baseline: TF-IDF features into a logistic regression.

    Texts are lower-cased and split into tokens by ``token_pattern``; each text
    becomes the sublinear (``1 + log``) TF-IDF weights of its n-grams; an
    L2-regularised logistic regression is fitted on them.

    Parameters
    ----------
    texts : sequence of str
        Training texts (checked by :func:`as_texts`).
    labels : sequence of int
        0 (negative) or 1 (positive) per text (checked by :func:`as_labels`).
    ngram_range : (int, int), default (1, 2)
        Shortest and longest n-grams: (1, 2) is words and word pairs.
    min_df : int, default 1
        Drop n-grams found in fewer training texts.
    token_pattern : str, default :data:`WORD_PATTERN`
        Regular expression of a token; ``r"(?u)\b\w+\b"`` keeps one-letter words too.
    C : float, default 4.0
        Inverse regularisation strength of the logistic regression.
    max_iter : int, default 2000
        Iterations of the logistic regression's solver.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted; ``predict`` and ``predict_proba`` take raw strings (column 1 of
        ``predict_proba`` is "positive"); ``pipeline[-1].coef_`` holds the weights.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x = as_texts(texts)
    y = as_labels(labels, n=len(x))
    model = make_pipeline(
        TfidfVectorizer(lowercase=True, token_pattern=token_pattern, ngram_range=tuple(ngram_range),
                        min_df=min_df, sublinear_tf=True),
        LogisticRegression(C=C, max_iter=max_iter),
    )
    return model.fit(x, y)
