"""A chapter run: banner, seed, settings, checked results, results card and ledger entry.

Every notebook starts with::

    ch = fmbook.start("01_logistic_regression", seed=0)

and ends with ``ch.finish()``. The object holds no hidden state: it is created
in the notebook and passed where needed. ``FMBOOK_SEED`` (or ``fmbook run --seed N``)
replaces the seed the notebook passes, so a chapter can be rerun with another seed
without editing it; every seed in a notebook is drawn from ``ch.seed``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from . import config
from ._meta import __version__
from .checks import CheckResult, ExpectationError, expect
from .device import describe
from .display import show
from .ledger import record
from .profiles import Settings, chapter_settings
from .seeding import seed_everything


class Chapter:
    """One run of one chapter notebook.

    Parameters
    ----------
    name : str
        The notebook stem, e.g. ``"01_logistic_regression"``.
    seed : int, default 0
        The notebook's seed. ``FMBOOK_SEED``, when set, replaces it.
    profile : str, optional
        Overrides ``FMBOOK_PROFILE``.

    Attributes
    ----------
    seed : int
        The seed of this run (draw every seed of the notebook from it).
    notebook_seed : int
        The seed the notebook passed; a run with another seed is recorded in the
        ledger beside the notebook's own run, not over it.
    settings : Settings
        The chapter's settings in the active profile.
    profile : str
    checks : list of CheckResult
        Every checked result so far.
    metrics : dict
        Every recorded metric (checked or informational).
    """

    def __init__(self, name: str, *, seed: int = 0, profile: str | None = None):
        self.name = name
        self.settings: Settings = chapter_settings(name, profile)
        self.profile = self.settings.profile
        self.notebook_seed = int(seed)
        override = config.seed_override()
        self.seed = self.notebook_seed if override is None else override
        self.checks: list[CheckResult] = []
        self.metrics: dict[str, Any] = {}
        self.device = str(describe(include_tensorflow=False))
        self._t0 = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds since the chapter started."""
        return time.perf_counter() - self._t0

    def banner(self) -> str:
        """One line: fmbook version, chapter, profile, seed and device."""
        return (f"fmbook {__version__} | {self.name} | profile {self.profile} | seed {self.seed} | "
                f"{self.device}")

    def check(self, name: str, value: float, bands: Mapping[str, tuple], **kwargs) -> None:
        """Check a headline result against its band (see :func:`fmbook.checks.expect`).

        The card is displayed; the result is kept in :attr:`checks` for the results
        card and the ledger. Outside its band it is written to the ledger as failed,
        then :class:`ExpectationError` is raised.
        """
        result = expect(name, value, bands, profile=self.profile, raise_on_fail=False, **kwargs)
        self.checks = [c for c in self.checks if c.name != name] + [result]
        self.metrics[name] = result.value
        if not result.passed:
            self.record()
            raise ExpectationError(result.failure_message())

    def note(self, name: str, value: Any) -> None:
        """Record an informational metric (shown on the card, no band)."""
        self.metrics[name] = value

    def card_rows(self) -> list[tuple[str, str, str, str]]:
        """One ``(metric, value, expected, status)`` row per recorded metric."""
        rows = []
        for key, value in self.metrics.items():
            chk = next((c for c in self.checks if c.name == key), None)
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            rows.append((key, shown, chk.band_text() if chk else "", chk.status if chk else ""))
        return rows

    def card(self) -> "ResultsCard":
        """The results card: every metric, its band, pass/fail, device and time."""
        return ResultsCard(self.name, self.profile, self.device, self.seconds, self.card_rows(), seed=self.seed)

    def record(self, extra: dict[str, Any] | None = None):
        """Write the ledger entry (see :func:`fmbook.ledger.record`) and return its path."""
        return record(
            self.name, self.metrics, profile=self.profile, device=self.device, seed=self.seed,
            notebook_seed=self.notebook_seed, seconds=self.seconds,
            expected={c.name: c.band_text() for c in self.checks},
            passed=all(c.passed for c in self.checks), extra=extra,
        )

    def finish(self, extra: dict[str, Any] | None = None) -> None:
        """Show the results card and write the ledger entry."""
        show(self.card())
        path = self.record(extra)
        print(f"results recorded in the ledger as {path.name} (folder: FMBOOK_RESULTS, see `fmbook doctor`)")


class ResultsCard:
    """A chapter's results as a small table (HTML in notebooks, text elsewhere)."""

    HEADER = ("metric", "value", "expected", "check")

    def __init__(self, chapter: str, profile: str, device: str, seconds: float,
                 rows: list[tuple[str, str, str, str]], *, seed: int | None = None):
        self.chapter, self.profile, self.device, self.seconds, self.rows = chapter, profile, device, seconds, rows
        self.seed = seed

    def _subtitle(self) -> str:
        seed = f" | seed {self.seed}" if self.seed is not None else ""
        return f"device: {self.device}{seed} | time: {self.seconds:.0f} s"

    def __str__(self) -> str:
        width = max([len(self.HEADER[0])] + [len(r[0]) for r in self.rows])
        vwidth = max([len(self.HEADER[1])] + [len(r[1]) for r in self.rows])
        bwidth = max([len(self.HEADER[2])] + [len(r[2]) for r in self.rows])
        lines = [f"Results card: {self.chapter} (profile {self.profile})", self._subtitle()]
        for name, value, band, status in [self.HEADER, *self.rows]:
            lines.append(f"  {name:<{width}}  {value:>{vwidth}}  {band:<{bwidth}}  {status}".rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # pragma: no cover - rendering only
        colours = {"pass": "#1b7f3b", "FAIL": "#b00020", "not measured": "#666"}
        cell = "padding:2px 10px;text-align:left"
        head = "".join(f"<th style='{cell}'>{h}</th>" for h in self.HEADER)
        body = "".join(
            f"<tr><td style='{cell}'>{n}</td><td style='padding:2px 10px;text-align:right'>{v}</td>"
            f"<td style='{cell}'>{b}</td><td style='{cell};color:{colours.get(s, '#000')}'>{s}</td></tr>"
            for n, v, b, s in self.rows)
        return (f"<div style='border:1px solid #ccc;border-radius:6px;padding:8px;max-width:760px'>"
                f"<b>Results card: {self.chapter}</b> &middot; profile <i>{self.profile}</i><br>"
                f"<small>{self._subtitle()}</small>"
                f"<table><tr>{head}</tr>{body}</table></div>")


def start(name: str, *, seed: int = 0, profile: str | None = None, frameworks: tuple[str, ...] | None = None) -> Chapter:
    """Start a chapter: seed everything, print the banner, return the :class:`Chapter`.

    ``FMBOOK_SEED``, when set, replaces ``seed`` (see :class:`Chapter`). Import TensorFlow
    before calling this in a Keras chapter, so that it is seeded too.
    """
    chapter = Chapter(name, seed=seed, profile=profile)
    seed_everything(chapter.seed, frameworks=frameworks)
    print(chapter.banner())
    return chapter


__all__ = ["Chapter", "ResultsCard", "start", "ExpectationError"]
