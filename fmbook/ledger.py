"""The results ledger: one JSON file per chapter, profile and seed.

A chapter records its headline metrics with :meth:`fmbook.chapter.Chapter.record`
(or :func:`record` directly). ``fmbook run`` and ``make book`` read the files to
build the results report. The folder is ``FMBOOK_RESULTS``, or
``~/.cache/fmbook/results`` when unset.

The run with the notebook's own seed is ``<chapter>.<profile>.json``; a run with
another seed (``FMBOOK_SEED``) is ``<chapter>.<profile>.seed<N>.json``, beside it.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from . import config

RESULTS_ENV = config.RESULTS
TRACKED_PACKAGES = ("numpy", "scikit-learn", "torch", "tensorflow", "keras", "transformers",
                    "fairlearn", "shap", "lime")


def results_dir() -> Path:
    """Folder of the ledger files (``FMBOOK_RESULTS``)."""
    return config.results_dir()


def entry_name(chapter: str, profile: str, seed: int | None = None, notebook_seed: int | None = None) -> str:
    """The ledger file name of a run: ``<chapter>.<profile>.json`` for the notebook's own
    seed (or when the seeds are not given), ``<chapter>.<profile>.seed<N>.json`` otherwise."""
    if seed is None or notebook_seed is None or int(seed) == int(notebook_seed):
        return f"{chapter}.{profile}.json"
    return f"{chapter}.{profile}.seed{int(seed)}.json"


def library_versions(packages: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (those not installed are left out)."""
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def record(
    chapter: str,
    metrics: dict[str, float],
    *,
    profile: str,
    device: str,
    seed: int,
    seconds: float,
    notebook_seed: int | None = None,
    expected: dict[str, str] | None = None,
    passed: bool | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write one chapter's results to ``<results_dir>/<chapter>.<profile>[.seed<N>].json``.

    ``notebook_seed`` is the seed the notebook passes; when ``seed`` differs from it, the
    entry goes to a ``.seed<N>`` file beside the notebook's own run (see :func:`entry_name`).
    The file is written to a temporary name first and then renamed, so a
    reader never sees half a file.

    Returns
    -------
    pathlib.Path
        The ledger file.
    """
    entry = {
        "chapter": chapter,
        "profile": profile,
        "device": device,
        "seed": int(seed),
        "notebook_seed": int(seed if notebook_seed is None else notebook_seed),
        "seconds": round(float(seconds), 1),
        "metrics": _jsonable(metrics),
        "expected": expected or {},
        "passed": passed,
        "versions": library_versions(),
        "python": platform.python_version(),
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "extra": _jsonable(extra or {}),
    }
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / entry_name(chapter, profile, seed, notebook_seed)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(entry, fh, indent=2, sort_keys=False)
    os.chmod(tmp, 0o644)  # mkstemp makes files private; the ledger is a plain readable file
    os.replace(tmp, path)
    return path


def read(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Read every ledger entry in ``folder`` (default :func:`results_dir`), sorted by chapter."""
    folder = Path(folder) if folder is not None else results_dir()
    if not folder.is_dir():
        return []
    entries = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    return sorted(entries, key=lambda e: (e["chapter"], e["profile"], e.get("seed", 0)))


def find_metric(entries: list[dict[str, Any]], chapter: str, metric: str, *,
                profile: str | None = None) -> tuple[float, dict[str, Any]] | None:
    """Look up one recorded metric of a chapter by its exact name.

    Parameters
    ----------
    entries : list of dict
        Ledger entries, as returned by :func:`read`.
    chapter : str
        The chapter, e.g. ``"03_lstm_reviews"``.
    metric : str
        The metric's exact name, as the chapter passed it to ``ch.check`` or
        ``ch.note`` (e.g. ``"LSTM test accuracy"``).
    profile : str, optional
        Prefer the entry of this profile; other profiles are used when it has none.

    Returns
    -------
    (value, entry) or None
        The value as a float and the whole entry (its ``profile``, ``seed``,
        ``device``, ``recorded_at``...), or None when no entry of the chapter
        holds a number under that name.
    """
    mine = [e for e in entries if e.get("chapter") == chapter]
    mine.sort(key=lambda e: e.get("profile") != profile)  # stable: the asked profile first
    for entry in mine:
        value = entry.get("metrics", {}).get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), entry
    return None
