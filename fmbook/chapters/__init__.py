"""One module per chapter: ``fmbook/chapters/chNN_topic.py`` for the notebook ``NN_topic``.

A chapter's module holds what belongs to that chapter alone:

- ``SETTINGS``: the chapter's settings per profile, ``{"smoke": {...}, "fast": {...},
  "full": {...}}``, with the measurements behind them in comments;
- its exercises (checkers, hints and worked solutions, registered with
  :func:`fmbook.exercises.exercise` under ids ``"NN.name"``);
- any helper that only this chapter uses.

Chapters are discovered from the files present, so a new chapter needs no edit to
any shared module: add ``notebooks/NN_topic.py`` and ``fmbook/chapters/chNN_topic.py``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

_MODULE = re.compile(r"^ch(\d\d)_([a-z0-9_]+)$")
_CHAPTER = re.compile(r"^(\d\d)_([a-z0-9_]+)$")


def module_name(chapter: str) -> str:
    """The module name of chapter ``chapter``: ``"01_logistic_regression"`` gives
    ``"ch01_logistic_regression"``.

    Raises
    ------
    ValueError
        When ``chapter`` is not of the form ``NN_topic``.
    """
    if not isinstance(chapter, str) or not _CHAPTER.match(chapter):
        raise ValueError(f"a chapter is named like its notebook, 'NN_topic' (e.g. '01_logistic_regression'); "
                         f"got {chapter!r}")
    return f"ch{chapter}"


def discover() -> list[str]:
    """The names (``NN_topic``) of every chapter that has a module here, in order."""
    names = [m.name[2:] for m in pkgutil.iter_modules(__path__) if _MODULE.match(m.name)]
    return sorted(names)


def load(chapter: str) -> ModuleType:
    """Import and return the module of ``chapter`` (``"NN_topic"``).

    Raises
    ------
    KeyError
        When no module exists for that chapter; the message lists the chapters that do.
    """
    name = module_name(chapter)
    if chapter not in discover():
        raise KeyError(f"unknown chapter {chapter!r}: known chapters are {', '.join(discover())} "
                       f"(a chapter's settings live in fmbook/chapters/{name}.py)")
    return importlib.import_module(f"{__name__}.{name}")


def by_number(number: str) -> ModuleType | None:
    """The module of the chapter numbered ``number`` (``"01"``), or None when there is none."""
    for chapter in discover():
        if chapter[:2] == number:
            return load(chapter)
    return None


def settings_table(chapter: str) -> dict:
    """The ``SETTINGS`` table of ``chapter``: ``{profile: {name: value}}``.

    Raises
    ------
    KeyError
        When the chapter is unknown.
    TypeError
        When its module has no ``SETTINGS`` mapping.
    """
    module = load(chapter)
    table = getattr(module, "SETTINGS", None)
    if not isinstance(table, dict):
        raise TypeError(f"fmbook/chapters/{module_name(chapter)}.py must define SETTINGS = "
                        f"{{'smoke': {{...}}, 'fast': {{...}}, 'full': {{...}}}}")
    return table


__all__ = ["module_name", "discover", "load", "by_number", "settings_table"]
