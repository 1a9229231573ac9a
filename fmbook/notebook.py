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

from . import REPOSITORY
from .ledger import RESULTS_ENV, read
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


def run_notebook(path: str | os.PathLike, *, profile: str | None = None,
                 output_dir: str | os.PathLike = "build", timeout: int = 3600) -> dict:
    """Execute a notebook headless and save the executed copy.

    Parameters
    ----------
    path : path of the ``.ipynb``
    profile : str, optional
        The profile to run in (default: the active one).
    output_dir : path, default "build"
        The executed notebook goes to ``output_dir/notebooks/``, the ledger
        entries to ``output_dir/results/``.
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
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    profile = get_profile(profile)
    out = Path(output_dir)
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    results = (out / "results").resolve()
    results.mkdir(parents=True, exist_ok=True)
    stale = results / f"{path.stem}.{profile}.json"
    if stale.exists():
        stale.unlink()

    nb = nbformat.read(path, as_version=4)
    env_before = {k: os.environ.get(k) for k in ("FMBOOK_PROFILE", RESULTS_ENV)}
    os.environ["FMBOOK_PROFILE"] = profile
    os.environ[RESULTS_ENV] = str(results)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    t0 = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    executed = out / "notebooks" / path.name
    nbformat.write(nb, executed)
    entry = json.loads(stale.read_text()) if stale.exists() else None
    ok = error is None and entry is not None and entry.get("passed") is not False
    return {"notebook": str(path), "executed": str(executed), "profile": profile,
            "seconds": seconds, "ok": ok, "error": error, "entry": entry}


def report(output_dir: str | os.PathLike = "build", runs: list[dict] | None = None) -> Path:
    """Write ``output_dir/report.md``: one row per chapter from the ledger entries."""
    out = Path(output_dir)
    entries = read(out / "results")
    lines = ["# fmbook results report", "",
             "| chapter | profile | device | headline metrics | expected | seconds | status |",
             "| --- | --- | --- | --- | --- | ---: | --- |"]
    for e in entries:
        checked = [k for k in e["metrics"] if k in e["expected"]]
        metrics = "; ".join(f"{k} = {e['metrics'][k]:.4g}" for k in checked) or "-"
        expected = "; ".join(e["expected"][k] for k in checked) or "-"
        status = "pass" if e.get("passed") else "FAIL"
        lines.append(f"| {e['chapter']} | {e['profile']} | {e['device']} | {metrics} | {expected} "
                     f"| {e['seconds']:.0f} | {status} |")
    for r in runs or []:
        if r["error"] or r["entry"] is None:
            lines.append(f"| {Path(r['notebook']).stem} | {r['profile']} | - | - | - | "
                         f"{r['seconds']:.0f} | ERROR: {r['error'] or 'no ledger entry written'} |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
