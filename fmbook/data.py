"""The data registry: where each data set comes from, how it is checked, how it loads.

A fetch looks for a file in three places, in order:

1. the local mirror named by ``FMBOOK_DATA`` (read-only; a file there that fails
   its checksum is an error, never silently replaced);
2. the cache, ``FMBOOK_CACHE`` or ``~/.cache/fmbook`` (a corrupted file there is
   deleted and fetched again);
3. the network: each source URL in turn, with a progress bar, verified by
   sha256 and moved into the cache atomically (a half-downloaded file never
   appears under its final name).

With ``FMBOOK_OFFLINE=1`` step 3 is skipped. When nothing works the error names
the file, the places searched, and the command that fetches it.

Loaders return NumPy arrays or pandas frames with documented shapes and dtypes.
No data are unpickled: ``np.load(..., allow_pickle=False)`` throughout.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import config

MIRROR_ENV = config.DATA
CACHE_ENV = config.CACHE
OFFLINE_ENV = config.OFFLINE


class DataError(RuntimeError):
    """Base class of data errors."""


class DataNotFoundError(DataError):
    """A file is in neither the mirror nor the cache and cannot be downloaded."""


class ChecksumError(DataError):
    """A file's content does not match the registry's checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set.

    Attributes
    ----------
    name : str
        File name in the mirror and the cache.
    urls : tuple of str
        Download sources, tried in order. A source may be an archive: then
        ``members`` names the path inside it (one entry per level of nesting).
    sha256 : str
        sha256 of the file's bytes (after extraction from any archive).
    size : int, optional
        Size in bytes, for the listing.
    members : tuple of str
        Path(s) inside the downloaded archive, outermost first; empty for a
        plain file.
    content_check : callable, optional
        A second way to accept a file whose bytes differ from ``sha256`` but
        whose content is the same (MNIST's mirror holds the canonical arrays in
        a differently compressed ``.npz``). Called with the path; returns True
        when the content is right.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str
    size: int | None = None
    members: tuple[str, ...] = ()
    content_check: Callable[[Path], bool] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Dataset:
    """A registry entry: a named data set, its files, licence and loader notes."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str = ""
    bundled_with: str | None = None  # e.g. "scikit-learn": nothing to fetch

    def file(self, name: str) -> RemoteFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"data set {self.name!r} has no file {name!r}")


# --------------------------------------------------------------------------- checks


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def npz_arrays_match(expected: Mapping[str, str]) -> Callable[[Path], bool]:
    """Build a content check: each named array's ``tobytes()`` has this sha256."""

    def check(path: Path) -> bool:
        try:
            with np.load(path, allow_pickle=False) as z:
                for key, digest in expected.items():
                    if key not in z.files:
                        return False
                    if hashlib.sha256(z[key].tobytes()).hexdigest() != digest:
                        return False
        except Exception:
            return False
        return True

    return check


def file_is_valid(path: Path, spec: RemoteFile) -> bool:
    """True when ``path`` holds the file that ``spec`` describes."""
    if not path.is_file():
        return False
    if sha256_of(path) == spec.sha256:
        return True
    return bool(spec.content_check and spec.content_check(path))


# --------------------------------------------------------------------------- registry

_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult"
_VADER_SDIST = "https://files.pythonhosted.org/packages/source/v/vaderSentiment/vaderSentiment-3.3.2.tar.gz"
_VADER_MEMBERS = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
_VADER_LICENCE = "MIT (C.J. Hutto); sentences from Pang & Lee 2005, Amazon, Twitter and the NYT"
_VADER_CITE = "Hutto & Gilbert, VADER, ICWSM 2014"


def _vader(name: str, sha: str, size: int) -> RemoteFile:
    return RemoteFile(
        name=name,
        urls=(_VADER_SDIST,),
        sha256=sha,
        size=size,
        members=(_VADER_MEMBERS, f"hutto_ICWSM_2014/{name}"),
    )


REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add (or replace) a registry entry and return it."""
    REGISTRY[dataset.name] = dataset
    return dataset


register(Dataset(
    name="breast_cancer",
    description="Wisconsin diagnostic breast cancer: 569 tumours, 30 features, malignant/benign",
    files=(),
    licence="CC BY 4.0 (UCI); bundled with scikit-learn",
    citation="Street, Wolberg & Mangasarian 1993",
    bundled_with="scikit-learn",
))
register(Dataset(
    name="mnist",
    description="MNIST handwritten digits, Keras mnist.npz layout: 60,000 train / 10,000 test, 28x28 uint8",
    files=(RemoteFile(
        name="mnist.npz",
        urls=(f"{_KERAS}/mnist.npz",),
        sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        size=11_490_434,
        content_check=npz_arrays_match({
            "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
            "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
            "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
            "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        }),
    ),),
    licence="CC BY-SA 3.0 (LeCun, Cortes, Burges)",
    citation="LeCun et al. 1998",
))
register(Dataset(
    name="adult",
    description="UCI Adult / Census Income: 32,561 train / 16,281 test people, income above $50K",
    files=(
        RemoteFile("adult.data", (f"{_UCI}/adult.data",),
                   "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d", 3_974_305),
        RemoteFile("adult.test", (f"{_UCI}/adult.test",),
                   "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05", 2_003_153),
        RemoteFile("adult.names", (f"{_UCI}/adult.names",),
                   "c248284c0b5de30c9e1958d6cdd168a34a654758b620e68f46aefa83fc0a576a", 5_229),
    ),
    licence="CC BY 4.0 (Becker & Kohavi, UCI)",
    citation="Becker & Kohavi 1996, doi:10.24432/C5XW20",
))
register(Dataset(
    name="compas",
    description="ProPublica COMPAS two-year recidivism, Broward County: 7,214 people, 53 columns",
    files=(RemoteFile(
        "compas-scores-two-years.csv",
        ("https://raw.githubusercontent.com/propublica/compas-analysis/"
         "bafff5da3f2e45eca6c2d5055faad269defd135a/compas-scores-two-years.csv",),
        "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d", 2_546_489),),
    licence="no licence file; published by ProPublica for research",
    citation="Angwin, Larson, Mattu & Kirchner, Machine Bias, ProPublica 2016",
))
register(Dataset(
    name="imdb",
    description="IMDB movie reviews (Maas et al. 2011): 25,000 train / 25,000 test, positive/negative",
    files=(RemoteFile(
        "aclImdb_v1.tar.gz",
        ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
        "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", 84_125_825),),
    licence="research use (Maas et al.)",
    citation="Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011",
))
REVIEW_DOMAINS: dict[str, str] = {
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "product": "amazonReviewSnippets_GroundTruth.txt",
    "tweet": "tweets_GroundTruth.txt",
    "editorial": "nytEditorialSnippets_GroundTruth.txt",
}
register(Dataset(
    name="review_sentences",
    description="Sentences rated -4..4 by humans: 10,605 movie, 3,708 product, 4,200 tweet, 5,190 editorial",
    files=(
        _vader("movieReviewSnippets_GroundTruth.txt",
               "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350", 1_383_098),
        _vader("amazonReviewSnippets_GroundTruth.txt",
               "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2", 373_157),
        _vader("tweets_GroundTruth.txt",
               "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f", 389_886),
        _vader("nytEditorialSnippets_GroundTruth.txt",
               "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e", 607_629),
    ),
    licence=_VADER_LICENCE,
    citation=_VADER_CITE,
))


def get_dataset(name: str | Dataset) -> Dataset:
    """Return the registry entry ``name`` (a :class:`Dataset` passes through)."""
    if isinstance(name, Dataset):
        return name
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown data set {name!r}: known data sets are {', '.join(sorted(REGISTRY))} "
            "(`fmbook data list` shows them)"
        ) from None


# --------------------------------------------------------------------------- places


def mirror_dir() -> Path | None:
    """The local mirror folder (``FMBOOK_DATA``), or None when unset."""
    return config.data_mirror()


def cache_dir() -> Path:
    """The cache folder: ``FMBOOK_CACHE`` or ``~/.cache/fmbook``."""
    return config.cache_dir()


def offline() -> bool:
    """True when ``FMBOOK_OFFLINE`` forbids downloads (see :func:`fmbook.config.parse_bool`)."""
    return config.offline()


def locate(spec: RemoteFile) -> tuple[str, Path] | None:
    """Where a valid copy of ``spec`` is, without fetching: ``("mirror"|"cache", path)``."""
    mirror = mirror_dir()
    if mirror is not None and file_is_valid(mirror / spec.name, spec):
        return "mirror", mirror / spec.name
    cached = cache_dir() / spec.name
    if file_is_valid(cached, spec):
        return "cache", cached
    return None


# --------------------------------------------------------------------------- fetching


def _download(url: str, dest: Path, *, progress: bool, timeout: float = 60.0) -> None:
    """Stream ``url`` into ``dest`` with a progress bar."""
    from tqdm.auto import tqdm

    req = urllib.request.Request(url, headers={"User-Agent": "fmbook"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name.split(".part")[0],
                  disable=not progress, leave=False) as bar:
            while block := resp.read(1 << 16):
                out.write(block)
                bar.update(len(block))


def _extract(archive: Path, members: tuple[str, ...], dest: Path) -> None:
    """Copy ``members`` (nested archives, outermost first) out of ``archive`` into ``dest``."""
    data: bytes | None = None
    source: io.IOBase | Path = archive
    for i, member in enumerate(members):
        tar = tarfile.open(source, "r:*") if isinstance(source, Path) else tarfile.open(fileobj=source, mode="r:*")
        with tar:
            try:
                fh = tar.extractfile(member)
            except KeyError:
                raise ChecksumError(f"{archive.name} has no member {member!r}") from None
            if fh is None:
                raise ChecksumError(f"{member!r} in {archive.name} is not a regular file")
            data = fh.read()
        if i < len(members) - 1:
            source = io.BytesIO(data)
    assert data is not None
    dest.write_bytes(data)


def fetch_file(dataset: str | Dataset, filename: str, *, progress: bool = True) -> Path:
    """Return a verified local path of one file of a data set, fetching it if needed.

    Parameters
    ----------
    dataset : str or Dataset
        A registry name or entry.
    filename : str
        One of the entry's file names.
    progress : bool, default True
        Show a progress bar while downloading.

    Returns
    -------
    pathlib.Path
        A file in the mirror or in the cache whose checksum is right.

    Raises
    ------
    ChecksumError
        The mirror's copy is corrupted, or every download failed verification.
    DataNotFoundError
        No local copy and no download possible (offline, or every source failed).
    """
    ds = get_dataset(dataset)
    spec = ds.file(filename)
    mirror = mirror_dir()
    if mirror is not None and (mirror / spec.name).exists():
        path = mirror / spec.name
        if file_is_valid(path, spec):
            return path
        raise ChecksumError(
            f"{path} (in the {MIRROR_ENV} mirror) does not match its sha256 {spec.sha256[:12]}...: "
            f"the mirror copy is corrupted or a different version. Replace it with a good copy, "
            f"or unset {MIRROR_ENV} to use the cache and the network."
        )

    cache = cache_dir()
    cached = cache / spec.name
    if cached.exists():
        if file_is_valid(cached, spec):
            return cached
        warnings.warn(f"{cached} is corrupted (checksum mismatch); fetching it again", stacklevel=2)
        cached.unlink()

    searched = ([f"{mirror} ({MIRROR_ENV})"] if mirror else [f"no mirror ({MIRROR_ENV} unset)"]) + [str(cache)]
    how = (f"run `fmbook data fetch {ds.name}` with network access, or point {MIRROR_ENV} "
           f"at a folder that holds {spec.name}")
    if offline():
        raise DataNotFoundError(
            f"{spec.name} of data set {ds.name!r} is not available offline ({OFFLINE_ENV} is set). "
            f"Searched: {'; '.join(searched)}. To get it: {how}."
        )

    cache.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in spec.urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".part", dir=cache)
        os.close(fd)
        tmp = Path(tmp_name)
        extracted = tmp.with_suffix(".extracted")
        try:
            _download(url, tmp, progress=progress)
            if spec.members:
                _extract(tmp, spec.members, extracted)
                os.replace(extracted, tmp)
            if not file_is_valid(tmp, spec):
                failures.append(f"{url}: checksum mismatch (got sha256 {sha256_of(tmp)[:12]}..., "
                                f"expected {spec.sha256[:12]}...)")
                continue
            os.chmod(tmp, 0o644)  # mkstemp makes files private; cached data are plain readable files
            os.replace(tmp, cached)  # atomic: the final name only ever holds a verified file
            return cached
        except (urllib.error.URLError, OSError, tarfile.TarError, ChecksumError) as exc:
            failures.append(f"{url}: {exc}")
        finally:
            for p in (tmp, extracted):
                if p.exists():
                    p.unlink()

    if all("checksum mismatch" in f for f in failures):
        raise ChecksumError(
            f"every download of {spec.name} failed verification, so nothing was saved: "
            + "; ".join(failures)
        )
    raise DataNotFoundError(
        f"could not get {spec.name} of data set {ds.name!r}. Searched: {'; '.join(searched)}. "
        f"Downloads failed: {'; '.join(failures)}. To get it: {how}."
    )


def fetch(dataset: str | Dataset, *, progress: bool = True) -> dict[str, Path]:
    """Fetch every file of a data set; return ``{file name: verified path}``."""
    ds = get_dataset(dataset)
    return {f.name: fetch_file(ds, f.name, progress=progress) for f in ds.files}


def status(dataset: str | Dataset) -> dict[str, str]:
    """Report each file of a data set as ``"mirror"``, ``"cache"`` or ``"missing"``.

    A present but corrupted file reports ``"corrupted (mirror)"`` or
    ``"corrupted (cache)"``. Nothing is downloaded.
    """
    ds = get_dataset(dataset)
    out: dict[str, str] = {}
    for spec in ds.files:
        found = locate(spec)
        if found:
            out[spec.name] = found[0]
            continue
        mirror = mirror_dir()
        if mirror is not None and (mirror / spec.name).exists():
            out[spec.name] = "corrupted (mirror)"
        elif (cache_dir() / spec.name).exists():
            out[spec.name] = "corrupted (cache)"
        else:
            out[spec.name] = "missing"
    return out


# --------------------------------------------------------------------------- loaders


def load_breast_cancer() -> tuple[pd.DataFrame, np.ndarray]:
    """Load the Wisconsin breast cancer data (scikit-learn's bundled copy).

    Returns
    -------
    X : pandas.DataFrame, shape (569, 30), float64
        Tumour measurements, named columns.
    y : numpy.ndarray, shape (569,), int64
        1 = malignant, 0 = benign. (scikit-learn codes malignant as 0; fmbook
        flips it so that the positive class is the disease a screening test
        looks for.)
    """
    from sklearn.datasets import load_breast_cancer as _load

    bunch = _load(as_frame=True)
    X = bunch.data.astype("float64")
    y = (bunch.target.to_numpy() == 0).astype("int64")
    return X, y


def load_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST in the Keras layout.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*``: uint8 arrays of shape (60000, 28, 28) and (10000, 28, 28), pixel
        values 0..255; ``y_*``: uint8 arrays of shape (60000,) and (10000,), digits 0..9.
    """
    path = fetch_file("mnist", "mnist.npz")
    with np.load(path, allow_pickle=False) as z:
        x_train, y_train = z["x_train"], z["y_train"].astype(np.uint8)
        x_test, y_test = z["x_test"], z["y_test"].astype(np.uint8)
    return (x_train, y_train), (x_test, y_test)


ADULT_COLUMNS: tuple[str, ...] = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
)
ADULT_NUMERIC: tuple[str, ...] = (
    "age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week",
)


def _read_adult(path: Path, skiprows: int) -> pd.DataFrame:
    df = pd.read_csv(
        path, header=None, names=list(ADULT_COLUMNS), skiprows=skiprows,
        sep=",", skipinitialspace=True, na_values="?", skip_blank_lines=True,
    )
    df["income"] = df["income"].str.rstrip(".")  # the test file writes ">50K."
    for col in ADULT_NUMERIC:
        df[col] = df[col].astype("int64")
    for col in ADULT_COLUMNS:
        if col not in ADULT_NUMERIC and col != "income":
            df[col] = df[col].astype("category")
    df["income"] = (df["income"] == ">50K").astype("int64")
    return df


def load_adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load UCI Adult as two cleaned frames.

    Cleaning: column names from ``adult.names``; ``?`` becomes a missing value;
    the test file's first line (``|1x3 Cross validator``) is skipped and the
    trailing dot of its labels removed.

    Returns
    -------
    train, test : pandas.DataFrame
        32,561 and 16,281 rows, the 15 columns of :data:`ADULT_COLUMNS`.
        Numeric columns are int64, the others ``category`` (missing values as
        NaN in ``workclass``, ``occupation`` and ``native_country``), and
        ``income`` is int64: 1 when the income is above $50K.
    """
    train = _read_adult(fetch_file("adult", "adult.data"), skiprows=0)
    test = _read_adult(fetch_file("adult", "adult.test"), skiprows=1)
    return train, test


def load_compas() -> pd.DataFrame:
    """Load ProPublica's ``compas-scores-two-years.csv`` unfiltered.

    Returns
    -------
    pandas.DataFrame
        7,214 rows and 53 columns as published (the file repeats some column
        names; pandas suffixes the repeats with ``.1``). Apply ProPublica's
        filters in the chapter that uses it.
    """
    return pd.read_csv(fetch_file("compas", "compas-scores-two-years.csv"))


NEUTRAL_BAND = 0.5
"""Review sentences whose mean human rating (-4 .. 4) lies within this distance of
zero are dropped by :func:`load_review_sentences`: raters did not agree on a
direction for them (about 5% of the movie sentences). Labels are the sign of the rating."""


def load_review_sentences(domain: str = "movie", *, neutral_band: float = NEUTRAL_BAND) -> pd.DataFrame:
    """Load human-rated review sentences as a binary sentiment data set.

    Each sentence has the mean rating (-4 .. 4) of about 20 people (Hutto &
    Gilbert 2014). The label is the rating's sign; sentences whose mean rating
    lies within ``neutral_band`` of zero are dropped, since people did not agree
    on a direction for them.

    Parameters
    ----------
    domain : {"movie", "product", "tweet", "editorial"}
        Which collection: Rotten Tomatoes snippets, Amazon product reviews,
        tweets or New York Times editorial sentences.
    neutral_band : float, default :data:`NEUTRAL_BAND` (0.5)
        Sentences with ``abs(rating) < neutral_band`` are dropped. 0 keeps all
        sentences with a non-zero rating.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (int64), ``rating`` (float64), ``text`` (str) and
        ``label`` (int64, 1 = positive), in file order, index reset.
    """
    if domain not in REVIEW_DOMAINS:
        raise ValueError(f"unknown domain {domain!r}: choose one of {', '.join(REVIEW_DOMAINS)}")
    if not 0 <= neutral_band < 4:
        raise ValueError(f"neutral_band must be in [0, 4), got {neutral_band!r}")
    path = fetch_file("review_sentences", REVIEW_DOMAINS[domain])
    text = path.read_bytes().decode("utf-8")  # files are UTF-8 (some ASCII), CRLF line ends
    rows = []
    for line in text.splitlines():  # splitlines() handles \r\n and \n
        if not line.strip():
            continue
        ident, rating, sentence = line.split("\t", 2)
        rows.append((int(ident), float(rating), sentence.strip()))
    df = pd.DataFrame(rows, columns=["id", "rating", "text"])
    df = df[(df["rating"].abs() >= neutral_band) & (df["rating"] != 0)].reset_index(drop=True)
    df["label"] = (df["rating"] > 0).astype("int64")
    return df

