"""A chapter run: banner, seed, settings, checked results, results card and ledger entry.

Every notebook starts with::

    ch = fmbook.start("01_logistic_regression", seed=0)

and ends with ``ch.finish()``. The object holds no hidden state: it is created
in the notebook and passed where needed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from . import __version__
from .checks import CheckResult, ExpectationError, _display, expect
from .device import describe
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
        Seed for :func:`fmbook.seeding.seed_everything`.
    profile : str, optional
        Overrides ``FMBOOK_PROFILE``.

    Attributes
    ----------
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
        self.seed = int(seed)
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
            raise ExpectationError(
                f"{name} = {result.value:.4g} is outside the band expected in the "
                f"{self.profile!r} profile ({result.band_text()}). Something above is broken, "
                f"or the band is wrong: fix the cause, do not widen the band."
            )

    def note(self, name: str, value: Any) -> None:
        """Record an informational metric (shown on the card, no band)."""
        self.metrics[name] = value

    def card_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for key, value in self.metrics.items():
            chk = next((c for c in self.checks if c.name == key), None)
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            rows.append((key, shown, chk.band_text() if chk else "", ("pass" if chk.passed else "FAIL") if chk else ""))
        return rows

    def card(self) -> "ResultsCard":
        """The results card: every metric, its band, pass/fail, device and time."""
        return ResultsCard(self.name, self.profile, self.device, self.seconds, self.card_rows())

    def record(self, extra: dict[str, Any] | None = None):
        """Write the ledger entry (see :func:`fmbook.ledger.record`) and return its path."""
        return record(
            self.name, self.metrics, profile=self.profile, device=self.device, seed=self.seed,
            seconds=self.seconds, expected={c.name: c.band_text() for c in self.checks},
            passed=all(c.passed for c in self.checks), extra=extra,
        )

    def finish(self, extra: dict[str, Any] | None = None) -> None:
        """Show the results card and write the ledger entry."""
        _display(self.card())
        path = self.record(extra)
        print(f"results recorded in {path}")


class ResultsCard:
    """A chapter's results as a small table (HTML in notebooks, text elsewhere)."""

    def __init__(self, chapter: str, profile: str, device: str, seconds: float,
                 rows: list[tuple[str, str, str, str]]):
        self.chapter, self.profile, self.device, self.seconds, self.rows = chapter, profile, device, seconds, rows

    def __str__(self) -> str:
        lines = [f"Results card: {self.chapter} (profile {self.profile})",
                 f"device: {self.device} | time: {self.seconds:.0f} s"]
        for name, value, band, status in self.rows:
            lines.append(f"  {name:<36} {value:>10}  {band:<14} {status}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # pragma: no cover - rendering only
        body = "".join(
            f"<tr><td>{n}</td><td style='text-align:right'>{v}</td><td>{b}</td>"
            f"<td style='color:{'#1b7f3b' if s == 'pass' else '#b00020'}'>{s}</td></tr>"
            for n, v, b, s in self.rows)
        return (f"<div style='border:1px solid #ccc;border-radius:6px;padding:8px;max-width:720px'>"
                f"<b>Results card: {self.chapter}</b> &middot; profile <i>{self.profile}</i><br>"
                f"<small>{self.device} &middot; {self.seconds:.0f} s</small>"
                f"<table><tr><th>metric</th><th>value</th><th>expected</th><th></th></tr>{body}</table></div>")


def start(name: str, *, seed: int = 0, profile: str | None = None, frameworks: tuple[str, ...] | None = None) -> Chapter:
    """Start a chapter: seed everything, print the banner, return the :class:`Chapter`.

    Import TensorFlow before calling this in a Keras chapter, so that it is seeded too.
    """
    seed_everything(seed, frameworks=frameworks)
    chapter = Chapter(name, seed=seed, profile=profile)
    print(chapter.banner())
    return chapter


__all__ = ["Chapter", "ResultsCard", "start", "ExpectationError"]
