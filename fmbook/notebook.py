"""Running chapter notebooks headless and writing the results report.

Used by ``fmbook run`` and ``make book`` (``fmbook book``). Also holds the text
of the set-up cell that opens every notebook, generated from
:data:`fmbook.REPOSITORY` so that the repository URL lives in one place.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import config
from ._meta import REPOSITORY
from .ledger import read
from .profiles import get_profile

SETUP_CELL = f'''# Set-up. In JupyterLab (`make lab`) fmbook is already installed and this does nothing.
# On Colab it installs fmbook from the repository; data sets then download on first use.
import importlib.util, subprocess, sys
if importlib.util.find_spec("fmbook") is None:
    if "google.colab" in sys.modules:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                               "fmbook[all] @ git+{REPOSITORY}.git"])
    else:
        raise ModuleNotFoundError("fmbook is not installed: run `make lab` in the repository, "
                                  "or `pip install -e .` in this environment")'''
"""Source of the first code cell of every chapter (checked by the tests)."""

CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"


def chapters(folder: str | os.PathLike = "notebooks") -> list[Path]:
    """The chapter notebooks in ``folder``, in order."""
    return sorted(Path(folder).glob(CHAPTER_GLOB))


def _entry_seed(path: Path) -> int | None:
    try:
        return json.loads(path.read_text()).get("seed")
    except (OSError, ValueError):
        return None


def run_notebook(path: str | os.PathLike, *, profile: str | None = None, seed: int | None = None,
                 output_dir: str | os.PathLike = "build", timeout: int = 3600) -> dict:
    """Execute a notebook headless and save the executed copy.

    Parameters
    ----------
    path : path of the ``.ipynb``
    profile : str, optional
        The profile to run in (default: the active one).
    seed : int, optional
        Replaces the notebook's own seed (passed to the kernel as ``FMBOOK_SEED``).
        The ledger entry of a run with another seed is kept beside the notebook's own.
    output_dir : path, default "build"
        The executed notebook goes to ``output_dir/notebooks/`` (``NN_topic.seedN.ipynb``
        for a seed override), the ledger entries to ``output_dir/results/``.
    timeout : int
        Seconds allowed per cell.

    Returns
    -------
    dict
        ``{"notebook", "executed", "profile", "seconds", "ok", "error", "entry"}``
        where ``entry`` is the chapter's ledger entry (None if none was written).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    profile = get_profile(profile)
    if seed is not None and int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(output_dir)
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    results = (out / "results").resolve()
    results.mkdir(parents=True, exist_ok=True)
    # The entry this run writes: the notebook's own (<stem>.<profile>.json) or, for a seed that
    # differs from the notebook's, <stem>.<profile>.seedN.json. An old entry this run would
    # replace is removed first, so a stale entry is never reported as this run's.
    own = results / f"{path.stem}.{profile}.json"
    candidates = [own] if seed is None else [results / f"{path.stem}.{profile}.seed{int(seed)}.json", own]
    for stale in candidates:
        if stale.exists() and (stale != own or seed is None or _entry_seed(stale) == int(seed)):
            stale.unlink()

    nb = nbformat.read(path, as_version=4)
    overrides = {config.PROFILE: profile, config.RESULTS: str(results), config.HEADLESS: "1",
                 config.SEED: None if seed is None else str(int(seed))}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    t0 = time.perf_counter()
    error = None
    with config.environment(overrides):  # the kernel inherits these
        try:
            client.execute()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        except CellTimeoutError:
            error = f"a cell ran longer than {timeout} s (see the executed copy for which one)"
    seconds = time.perf_counter() - t0
    executed = out / "notebooks" / (path.name if seed is None else f"{path.stem}.seed{int(seed)}.ipynb")
    nbformat.write(nb, executed)
    entry = None
    for candidate in candidates:
        if candidate.exists():
            found = json.loads(candidate.read_text())
            if seed is None or found.get("seed") == int(seed):
                entry = found
                break
    ok = error is None and entry is not None and entry.get("passed") is not False
    return {"notebook": str(path), "executed": str(executed), "profile": profile,
            "seconds": seconds, "ok": ok, "error": error, "entry": entry, "seed": seed}


def report(output_dir: str | os.PathLike = "build", runs: list[dict] | None = None) -> Path:
    """Write ``output_dir/report.md``: one row per chapter from the ledger entries."""
    out = Path(output_dir)
    entries = read(out / "results")
    lines = ["# fmbook results report", "",
             "| chapter | profile | seed | device | headline metrics | expected | seconds | status |",
             "| --- | --- | ---: | --- | --- | --- | ---: | --- |"]
    for e in entries:
        checked = [k for k in e["metrics"] if k in e["expected"]]
        metrics = "; ".join(f"{k} = {e['metrics'][k]:.4g}" for k in checked) or "-"
        expected = "; ".join(e["expected"][k] for k in checked) or "-"
        status = "pass" if e.get("passed") else "FAIL"
        lines.append(f"| {e['chapter']} | {e['profile']} | {e.get('seed', '-')} | {e['device']} | {metrics} "
                     f"| {expected} | {e['seconds']:.0f} | {status} |")
    for r in runs or []:
        if r["error"] or r["entry"] is None:
            seed = "-" if r.get("seed") is None else r["seed"]
            lines.append(f"| {Path(r['notebook']).stem} | {r['profile']} | {seed} | - | - | - | "
                         f"{r['seconds']:.0f} | ERROR: {r['error'] or 'no ledger entry written'} |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
