"""Chapter 00: how exercises work.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

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
