"""Chapter 00: how exercises work.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import math

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
SETTINGS: dict[str, dict] = {
    "smoke": {},
    "fast": {},
    "full": {},
}


def _accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred))


@exercise("00.accuracy", "accuracy of hard predictions", solution=_accuracy,
          hints=("Compare the two arrays element by element with ==, then take the mean.",
                 "np.mean of a boolean array is the fraction of True values."))
def _check_accuracy(fn) -> None:
    cases = [([1, 0, 1, 1], [1, 0, 0, 1], 0.75), ([0, 0], [1, 1], 0.0), ([2, 1, 0], [2, 1, 0], 1.0)]
    for y_true, y_pred, want in cases:
        got = fn(np.array(y_true), np.array(y_pred))
        if got is None:
            raise Hint("your function returned None: did you forget `return`?")
        if not np.isclose(float(got), want):
            raise Hint(f"for y_true={y_true}, y_pred={y_pred} the accuracy is {want}, you returned {got}")


def _test_size(accuracy: float, margin: float) -> int:
    p, m = float(accuracy), float(margin)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"accuracy must lie in [0, 1], got {accuracy!r}")
    if not m > 0.0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    # Two standard errors, 2 * sqrt(p (1 - p) / n), at most the margin: n >= 4 p (1 - p) / margin^2.
    # round() drops floating-point dust such as 3600.0000000000005, which would round up to 3601.
    return max(1, math.ceil(round(4.0 * p * (1.0 - p) / m**2, 9)))


def _two_standard_errors(p: float, n: int) -> float:
    return 2.0 * math.sqrt(p * (1.0 - p) / n)


@exercise("00.test_size", "how many test examples a difference needs", solution=_test_size,
          hints=("An accuracy p measured on n independent examples has a standard error of "
                 "sqrt(p * (1 - p) / n); differences smaller than about two standard errors are noise.",
                 "Solve 2 * sqrt(p * (1 - p) / n) <= margin for n and round UP to a whole number of "
                 "examples (math.ceil); at least 1.",
                 "Raise ValueError when accuracy is outside [0, 1] or margin is not positive."))
def _check_test_size(fn) -> None:
    cases = [(0.83, 0.013), (0.991, 0.0025), (0.5, 0.03), (0.7, 0.045)]  # none lands on a whole number
    for p, m in cases:
        got = fn(p, m)
        if got is None:
            raise Hint("your function returned None: return the number of test examples")
        if isinstance(got, float) and not float(got).is_integer():
            raise Hint(f"for accuracy {p} and margin {m} you returned {got}: a number of examples is a "
                       "whole number; round up with math.ceil")
        n = int(got)
        want = _test_size(p, m)
        if n == want:
            continue
        if n >= 1 and abs(n - math.ceil(p * (1 - p) / m**2)) <= 1:
            raise Hint(f"for accuracy {p} and margin {m} you returned {n}: that makes ONE standard error "
                       f"equal to the margin; the margin should be two standard errors ({want} examples)")
        if n == want - 1 or n == math.floor(4 * p * (1 - p) / m**2):
            raise Hint(f"for accuracy {p} and margin {m}, {n} examples leave two standard errors at "
                       f"{_two_standard_errors(p, n):.5f}, just above the margin: round up, not down")
        if n < 1 or _two_standard_errors(p, n) > m:
            raise Hint(f"for accuracy {p} and margin {m}, {n} examples give two standard errors of "
                       f"{_two_standard_errors(p, max(n, 1)):.4f}, more than the margin: you need {want}")
        raise Hint(f"for accuracy {p} and margin {m} you returned {n}; {want} examples already bring two "
                   f"standard errors to {_two_standard_errors(p, want):.5f}: return the smallest number that does")
    if int(fn(1.0, 0.01)) != 1:
        raise Hint("an accuracy of exactly 1 has no spread, but a test set still needs at least 1 example")
    if int(fn(0.9, 0.01)) < int(fn(0.9, 0.02)):
        raise Hint("a smaller margin must need at least as many examples")
    for bad in [(1.2, 0.01), (0.9, 0.0), (0.9, -0.01)]:
        try:
            fn(*bad)
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001
            raise Hint(f"fn{bad} raised {type(err).__name__}; raise ValueError for impossible inputs, with a "
                       "message saying what is wrong") from None
        raise Hint(f"fn{bad} returned a number; an accuracy outside [0, 1] or a margin that is not positive "
                   "is a mistake of the caller: raise ValueError saying so")
