"""Settings from the environment: the one module of fmbook that reads ``FMBOOK_*`` variables.

Every other module asks a function here, so each variable has one meaning and one
parser. The variables:

=====================  =====================================================================
``FMBOOK_PROFILE``     ``smoke``, ``fast`` or ``full`` (see :mod:`fmbook.profiles`)
``FMBOOK_SEED``        a non-negative integer that replaces the seed a notebook passes to
                       :func:`fmbook.start`, so any chapter can be rerun with another seed
``FMBOOK_DEVICE``      ``cpu``, ``cuda``, ``cuda:1`` or ``mps`` instead of detection
``FMBOOK_DATA``        a read-only local mirror of the data sets
``FMBOOK_CACHE``       the download cache (default ``~/.cache/fmbook``)
``FMBOOK_RESULTS``     the results ledger (default ``<cache>/results``)
``FMBOOK_OFFLINE``     true/false: forbid downloads
``FMBOOK_BERT``        the checkpoint of chapter 04 (``minilm``, a hub id or a folder)
``FMBOOK_HEADLESS``    true/false: no one is looking (``fmbook run`` sets it): explorers show
                       their static view without creating live widgets
=====================  =====================================================================

True/false values are read by :func:`parse_bool`: ``1, true, yes, on`` and ``0, false,
no, off`` (any case), empty meaning unset. Anything else is an error that says so,
rather than a silent "false".

Importing this module also sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless already set), so that
TensorFlow's start-up logs stay out of the notebooks when TensorFlow is imported after fmbook.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

PROFILE = "FMBOOK_PROFILE"
SEED = "FMBOOK_SEED"
DEVICE = "FMBOOK_DEVICE"
DATA = "FMBOOK_DATA"
CACHE = "FMBOOK_CACHE"
RESULTS = "FMBOOK_RESULTS"
OFFLINE = "FMBOOK_OFFLINE"
BERT = "FMBOOK_BERT"
HEADLESS = "FMBOOK_HEADLESS"

VARIABLES: tuple[str, ...] = (PROFILE, SEED, DEVICE, DATA, CACHE, RESULTS, OFFLINE, BERT, HEADLESS)
"""Every environment variable fmbook reads."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class ConfigError(ValueError):
    """An environment variable holds a value fmbook cannot use."""


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def parse_bool(value: str | None, *, name: str = "value") -> bool | None:
    """Read a true/false setting.

    Parameters
    ----------
    value : str or None
        The text, e.g. ``"1"``, ``"on"``, ``"False"``.
    name : str
        What is parsed, for the error message.

    Returns
    -------
    bool or None
        None for an unset or empty value.

    Raises
    ------
    ConfigError
        For text that is neither true nor false.

    Examples
    --------
    >>> parse_bool("On"), parse_bool("0"), parse_bool("")
    (True, False, None)
    """
    if value is None or not str(value).strip():
        return None
    key = str(value).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is neither true nor false: use one of "
                      f"{', '.join(sorted(_TRUE))} or {', '.join(sorted(_FALSE))}")


def flag(name: str) -> bool:
    """The true/false environment variable ``name`` (unset means False)."""
    return bool(parse_bool(os.environ.get(name), name=name))


def profile_name() -> str | None:
    """``FMBOOK_PROFILE`` as given (not validated), or None when unset."""
    return _raw(PROFILE) or None


def seed_override() -> int | None:
    """``FMBOOK_SEED`` as a non-negative integer, or None when unset.

    Raises
    ------
    ConfigError
        When the value is not a non-negative integer.
    """
    text = _raw(SEED)
    if not text:
        return None
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise ConfigError(f"{SEED}={text!r} is not a non-negative integer (e.g. {SEED}=1)")
    return seed


def device_override() -> str | None:
    """``FMBOOK_DEVICE``, or None when unset."""
    return _raw(DEVICE) or None


def data_mirror() -> Path | None:
    """The local data mirror ``FMBOOK_DATA``, or None when unset."""
    text = _raw(DATA)
    return Path(text).expanduser() if text else None


def cache_dir() -> Path:
    """The download cache: ``FMBOOK_CACHE`` or ``~/.cache/fmbook``."""
    text = _raw(CACHE)
    return Path(text).expanduser() if text else Path.home() / ".cache" / "fmbook"


def results_dir() -> Path:
    """The results ledger folder: ``FMBOOK_RESULTS`` or ``~/.cache/fmbook/results``."""
    text = _raw(RESULTS)
    return Path(text).expanduser() if text else Path.home() / ".cache" / "fmbook" / "results"


def offline() -> bool:
    """True when ``FMBOOK_OFFLINE`` forbids downloads."""
    return flag(OFFLINE)


def hub_offline() -> bool:
    """True when Hugging Face hub downloads are forbidden: ``FMBOOK_OFFLINE``, ``HF_HUB_OFFLINE``
    or ``TRANSFORMERS_OFFLINE`` (the last two are the hub's own variables, read the same way)."""
    return any(flag(name) for name in (OFFLINE, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def headless() -> bool:
    """True when the notebook runs without a front end (``FMBOOK_HEADLESS``, set by ``fmbook run``)."""
    return flag(HEADLESS)


def bert_checkpoint() -> str | None:
    """``FMBOOK_BERT``, or None when unset."""
    return _raw(BERT) or None


@contextlib.contextmanager
def environment(overrides: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the duration, then restore them.

    Used to hand settings to a child: a notebook kernel started by ``fmbook run``, or
    the Hugging Face hub while a checkpoint loads.
    """
    before = {name: os.environ.get(name) for name in overrides}
    try:
        for name, value in overrides.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = str(value)
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def summary() -> dict[str, str]:
    """Every fmbook variable and its current value (``"(unset)"`` when unset), for ``fmbook doctor``."""
    return {name: (_raw(name) or "(unset)") for name in VARIABLES}


__all__ = ["ConfigError", "VARIABLES", "parse_bool", "flag", "profile_name", "seed_override",
           "device_override", "data_mirror", "cache_dir", "results_dir", "offline", "hub_offline",
           "bert_checkpoint", "headless", "environment", "summary"]
