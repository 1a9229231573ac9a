"""Chapter 01: logistic regression from scratch.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
SETTINGS: dict[str, dict] = {
    "smoke": {"steps": 300, "learning_rate": 0.5},
    "fast": {"steps": 2000, "learning_rate": 0.5},
    "full": {"steps": 5000, "learning_rate": 0.5},
}


def _bce_gradient(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    err = p - y
    return X.T @ err / len(y), float(err.mean())


def _threshold_sweep(probs: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    probs, y = np.asarray(probs), np.asarray(y)
    out = []
    for t in thresholds:
        pred = probs >= t
        tpr = (pred & (y == 1)).sum() / max((y == 1).sum(), 1)
        fpr = (pred & (y == 0)).sum() / max((y == 0).sum(), 1)
        out.append((tpr, fpr))
    return np.array(out)


def _accuracy(y_true: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean((np.asarray(probs) >= threshold).astype(int) == np.asarray(y_true)))


@exercise("01.gradient", "the gradient of the mean binary cross-entropy", solution=_bce_gradient,
          hints=("With p = sigmoid(Xw + b), dL/dz = p - y for each example.",
                 "Then dL/dw = X.T @ (p - y) / n and dL/db = mean(p - y)."))
def _check_gradient(fn) -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20).astype(float)
    w, b = rng.normal(size=3), 0.3
    got = fn(w, b, X, y)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Hint("return a pair (dw, db)")
    dw, db = np.asarray(got[0], dtype=float), float(got[1])
    want_w, want_b = _bce_gradient(w, b, X, y)
    if dw.shape != want_w.shape:
        raise Hint(f"dw must have the shape of w, {want_w.shape}; yours is {dw.shape}")
    if np.allclose(dw, want_w * len(y)):
        raise Hint("dw is n times too large: the loss is a mean, so divide by the number of examples")
    if np.allclose(dw, -want_w):
        raise Hint("the sign is flipped: the error term is (p - y), not (y - p)")
    if not np.allclose(dw, want_w, atol=1e-8):
        raise Hint("dw is wrong: compare with a finite-difference estimate")
    if not np.isclose(db, want_b, atol=1e-8):
        raise Hint("dw is right but db is wrong: db is the mean of (p - y)")


@exercise("01.threshold_sweep", "true and false positive rates at each threshold", solution=_threshold_sweep,
          hints=("For each threshold t, predict positive where probs >= t.",
                 "TPR = true positives / actual positives; FPR = false positives / actual negatives."))
def _check_sweep(fn) -> None:
    probs = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.05])
    y = np.array([0, 0, 1, 1, 1, 0])
    ts = np.array([0.0, 0.3, 0.5, 1.0])
    got = np.asarray(fn(probs, y, ts), dtype=float)
    want = _threshold_sweep(probs, y, ts)
    if got.shape != want.shape:
        raise Hint(f"return an array of shape (len(thresholds), 2) = {want.shape}; yours is {got.shape}")
    if np.allclose(got, want[:, ::-1]):
        raise Hint("columns swapped: first the true positive rate, then the false positive rate")
    if not np.allclose(got, want):
        raise Hint(f"at threshold 0.3 expect TPR {want[1, 0]:.3f} and FPR {want[1, 1]:.3f}; "
                   f"you have {got[1, 0]:.3f} and {got[1, 1]:.3f}")


@exercise("01.accuracy", "accuracy from probabilities, thresholded", solution=_accuracy,
          hints=("Turn probabilities into 0/1 predictions with a threshold first.",
                 "Comparing probabilities with labels directly almost never gives equality."))
def _check_accuracy(fn) -> None:
    y = np.array([1, 0, 1, 0])
    probs = np.array([0.9, 0.2, 0.6, 0.7])
    got = fn(y, probs)
    if got is None:
        raise Hint("your function returned None")
    if np.isclose(float(got), 0.0):
        raise Hint("0.0: you compared probabilities with labels; threshold them first (the seed's bug)")
    if not np.isclose(float(got), 0.75):
        raise Hint(f"expected 0.75 for this small case, got {got}")
    if not np.isclose(float(fn(y, probs, threshold=0.65)), 0.5):
        raise Hint("use the `threshold` argument instead of a fixed 0.5")
