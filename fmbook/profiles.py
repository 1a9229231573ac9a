"""Run profiles: how much data and compute a chapter uses.

One notebook serves three profiles, chosen by the ``FMBOOK_PROFILE`` environment
variable:

``smoke``
    Tests and CI: tiny data, a few seconds of training. Results only have to be
    clearly better than chance.
``fast``
    A laptop CPU: real data subsets, minutes per chapter.
``full``
    A GPU: full data sets and the reference accuracy.

Left unset, the profile is ``full`` when a CUDA GPU is visible to PyTorch and
``fast`` otherwise. The only global state in fmbook is this choice, and it is read
from the environment (through :mod:`fmbook.config`) each time, never cached.

This module holds the policy only. Each chapter's settings per profile live in its
own module, ``fmbook/chapters/chNN_topic.py`` (``SETTINGS``), found through
:mod:`fmbook.chapters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from . import chapters as _chapters
from . import config

PROFILES: tuple[str, ...] = ("smoke", "fast", "full")
"""The known profiles, from cheapest to most expensive."""

ENV_VAR = config.PROFILE


class UnknownProfileError(ValueError):
    """Raised for a profile name that is not one of :data:`PROFILES`."""


def validate_profile(name: str) -> str:
    """Return ``name`` normalised to lower case, or raise :class:`UnknownProfileError`."""
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise UnknownProfileError(
            f"unknown profile {name!r}: choose one of {', '.join(PROFILES)} "
            f"(for example `export {ENV_VAR}=fast`)"
        )
    return key


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is part of the lock
        return False
    return bool(torch.cuda.is_available())


def get_profile(profile: str | None = None) -> str:
    """Return the active profile name.

    Parameters
    ----------
    profile : str, optional
        An explicit profile. When ``None``, read ``FMBOOK_PROFILE``; when that is
        unset or empty, ``"full"`` on a CUDA GPU and ``"fast"`` elsewhere.

    Returns
    -------
    str
        One of :data:`PROFILES`.

    Raises
    ------
    UnknownProfileError
        If the explicit or environment profile is not a known one.
    """
    if profile is None:
        profile = config.profile_name()
        if not profile:
            return "full" if _cuda_available() else "fast"
    return validate_profile(profile)


class Settings(Mapping):
    """Read-only settings of one chapter in one profile.

    Values are reachable both as ``settings["epochs"]`` and ``settings.epochs``.
    """

    def __init__(self, chapter: str, profile: str, values: Mapping[str, Any]):
        self.chapter = chapter
        self.profile = profile
        self._values = MappingProxyType(dict(values))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"chapter {self.chapter!r} has no setting {key!r}; "
                f"it has: {', '.join(self._values)}"
            ) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Settings({self.chapter!r}, profile={self.profile!r}: {items})"


def chapter_settings(chapter: str, profile: str | None = None) -> Settings:
    """Return the settings of ``chapter`` in the active (or given) profile.

    Parameters
    ----------
    chapter : str
        The chapter's notebook stem, for example ``"01_logistic_regression"``.
    profile : str, optional
        Overrides the active profile (see :func:`get_profile`).

    Returns
    -------
    Settings
        A read-only mapping with attribute access, plus ``.chapter`` and ``.profile``.

    Raises
    ------
    KeyError
        If the chapter is unknown (no ``fmbook/chapters/chNN_topic.py``), or has no
        settings for the profile.
    UnknownProfileError
        If the profile is unknown.

    Examples
    --------
    >>> s = chapter_settings("01_logistic_regression", "smoke")
    >>> s.profile, s.steps
    ('smoke', 300)
    """
    name = get_profile(profile)
    table = _chapters.settings_table(chapter)
    if name not in table:
        raise KeyError(f"chapter {chapter!r} has no settings for profile {name!r}: add them to "
                       f"SETTINGS in fmbook/chapters/{_chapters.module_name(chapter)}.py")
    return Settings(chapter, name, table[name])
