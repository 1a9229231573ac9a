"""State an expected result, check it, and show it as a card.

A chapter never just prints a number: it says which band it expects for the
active profile and checks it. A result outside its band raises
:class:`ExpectationError`, so a notebook that learns nothing fails its test.

A band that was never measured (for example ``full`` where no GPU was at hand) is
given as ``None``: the value is shown as "not measured" and not enforced, so the
reader can tell a checked number from one that nobody has yet seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .display import show as _show
from .profiles import get_profile, validate_profile

Band = tuple[float, float]

NOT_MEASURED = None
"""The band of a profile in which the result was never measured: shown, not enforced."""


class ExpectationError(AssertionError):
    """A result fell outside the band expected for this profile."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one :func:`expect`."""

    name: str
    value: float
    band: Band | None
    profile: str
    passed: bool

    @property
    def measured(self) -> bool:
        """False when the profile's band was never measured (the check is not enforced)."""
        return self.band is not None

    @property
    def status(self) -> str:
        """``"pass"``, ``"FAIL"`` or ``"not measured"``."""
        if not self.measured:
            return "not measured"
        return "pass" if self.passed else "FAIL"

    def failure_message(self) -> str:
        """What went wrong and what to do, for :class:`ExpectationError`."""
        return (f"{self.name} = {self.value:.4g} is outside the band expected in the {self.profile!r} "
                f"profile ({self.band_text()}). Something above is broken, or the band is wrong: "
                f"fix the cause, do not widen the band.")

    def band_text(self) -> str:
        if self.band is None:
            return "not measured"
        lo, hi = self.band
        if math.isinf(hi) or hi == float("inf"):
            return f">= {lo:g}"
        if math.isinf(lo):
            return f"<= {hi:g}"
        return f"{lo:g} .. {hi:g}"

    def card(self) -> str:
        if not self.measured:
            return (f"[----] {self.name} = {self.value:.4g}   expected ({self.profile}): not measured "
                    f"(shown, not checked)")
        mark = "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.name} = {self.value:.4g}   expected ({self.profile}): {self.band_text()}"

    def _repr_html_(self) -> str:  # pragma: no cover - rendering only
        if not self.measured:
            return (f"<div style='border-left:4px solid #888;padding:4px 10px;margin:4px 0;"
                    f"font-family:monospace'><b>{self.name}</b> = {self.value:.4g} <span style='color:#555'>"
                    f"no band measured yet in the <i>{self.profile}</i> profile: shown, not checked</span></div>")
        colour = "#1b7f3b" if self.passed else "#b00020"
        mark = "&#10003;" if self.passed else "&#10007;"
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0;"
            f"font-family:monospace'><b style='color:{colour}'>{mark} {self.name}</b> = "
            f"{self.value:.4g} <span style='color:#555'>expected in the <i>{self.profile}</i> "
            f"profile: {self.band_text()}</span></div>"
        )

    def __str__(self) -> str:
        return self.card()


def _as_band(band) -> Band:
    if not isinstance(band, (tuple, list)) or len(band) != 2:
        raise ValueError(f"a band is a (low, high) pair, got {band!r}")
    lo, hi = (float("-inf") if band[0] is None else float(band[0]),
              float("inf") if band[1] is None else float(band[1]))
    if lo > hi:
        raise ValueError(f"band {band!r} has low > high")
    return lo, hi


def expect(
    name: str,
    value: float,
    bands: Mapping[str, tuple[float | None, float | None]],
    *,
    profile: str | None = None,
    raise_on_fail: bool = True,
    show: bool = True,
) -> CheckResult:
    """Check ``value`` against the band expected in the active profile.

    Parameters
    ----------
    name : str
        What was measured, e.g. ``"test accuracy"``.
    value : float
        The measured value.
    bands : mapping of profile name to (low, high) or None
        Inclusive bands. ``None`` for an open end. A band of ``None``
        (:data:`NOT_MEASURED`) means it was never measured in that profile: the
        value is shown as such and not enforced. Every profile in ``bands`` must
        be a known one; a profile missing from ``bands`` is an error, so a
        chapter cannot forget to state what it expects.
    profile : str, optional
        Overrides the active profile.
    raise_on_fail : bool, default True
        Raise :class:`ExpectationError` when the value is outside its band.
    show : bool, default True
        Display the card (HTML in a notebook, text elsewhere).

    Returns
    -------
    CheckResult

    Raises
    ------
    ExpectationError
        When the value is outside the band (and ``raise_on_fail``).
    ValueError
        When ``value`` is not a finite number or the band is malformed.
    KeyError
        When no band is given for the active profile.
    """
    for key in bands:
        validate_profile(key)
    active = get_profile(profile)
    if active not in bands:
        raise KeyError(f"no expected band for profile {active!r} in check {name!r}; "
                       f"bands given for: {', '.join(bands)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"check {name!r} needs a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"check {name!r} got a non-finite value {value!r}: the computation failed")
    if bands[active] is NOT_MEASURED:
        result = CheckResult(name, number, None, active, True)
    else:
        band = _as_band(bands[active])
        result = CheckResult(name, number, band, active, band[0] <= number <= band[1])
    if show:
        _show(result)
    if raise_on_fail and not result.passed:
        raise ExpectationError(result.failure_message())
    return result
