"""Chapter 01: logistic regression from scratch.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
# steps, learning_rate: full-batch gradient descent. sgd_epochs, batch_sizes: the mini-batch
# comparison. n_splits: repeated random train/test splits for the threshold study; cv_folds: the
# folds that give out-of-fold probabilities on the training split. target_sensitivity: the screening
# target; screening_prevalence: the share of malignant cases in a screened population (0.5%).
#
# Bands, from `fast` with random seeds 0, 1, 2 (worst run minus about twice the spread, max - min):
#   test accuracy 0.986, 0.965, 0.965: the rule gives 0.92, but the band stays at the chapter's
#     required 0.96 (tighter than the spread: a fourth seed may fail it; the 10-split means were
#     0.977, 0.973, 0.972);
#   gradient checks 6.8e-12, 1.1e-11, 7.5e-12 (finite differences), <= 3.3e-16 (TF, torch): band 1e-6;
#   accuracy gap to scikit-learn 0, 0, 0 points: band 1 point;
#   held-out threshold, mean test sensitivity over 30 splits 0.987, 0.986, 0.979 (sd over splits
#     0.017, 0.017, 0.021): band >= 0.96; mean test specificity 0.814, 0.849, 0.848: band >= 0.74;
#   Brier skill score vs the base rate 0.903, 0.900, 0.875: band >= 0.82.
# Notes (no band), same seeds: threshold from training predictions, mean test sensitivity 0.982,
#   0.976, 0.969, below 99% in 63%, 67%, 73% of splits (held-out: 43%, 50%, 57%); median PPV over the
#   splits at 37% prevalence 0.809, 0.829, 0.824, at 0.5% 0.035, 0.039, 0.038.
# smoke (seed 0 only): sensitivity 0.987 over 10 splits, Brier skill 0.898; its bands are a little
# wider for the 10 splits and 300 steps, and a model that learned nothing fails accuracy, specificity
# (it flags everyone) and the Brier skill score (0).
SETTINGS: dict[str, dict] = {
    "smoke": {"steps": 300, "learning_rate": 0.5, "sgd_epochs": 10, "batch_sizes": (8, 32, 128),
              "n_splits": 10, "cv_folds": 5, "target_sensitivity": 0.99, "screening_prevalence": 0.005},
    "fast": {"steps": 2000, "learning_rate": 0.5, "sgd_epochs": 30, "batch_sizes": (8, 32, 128),
             "n_splits": 30, "cv_folds": 5, "target_sensitivity": 0.99, "screening_prevalence": 0.005},
    "full": {"steps": 5000, "learning_rate": 0.5, "sgd_epochs": 60, "batch_sizes": (8, 32, 128),
             "n_splits": 100, "cv_folds": 5, "target_sensitivity": 0.99, "screening_prevalence": 0.005},
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
        raise Hint("0.0: you compared probabilities with labels; threshold them first (a common bug)")
    if not np.isclose(float(got), 0.75):
        raise Hint(f"expected 0.75 for this small case, got {got}")
    if not np.isclose(float(fn(y, probs, threshold=0.65)), 0.5):
        raise Hint("use the `threshold` argument instead of a fixed 0.5")


def _highest_threshold(probs: np.ndarray, y: np.ndarray, target_sensitivity: float) -> float:
    """The highest threshold t with at least ``target_sensitivity`` of the positives at probs >= t."""
    pos = np.sort(np.asarray(probs, dtype=float)[np.asarray(y) == 1])
    allowed_misses = int(np.floor((1 - target_sensitivity) * len(pos) + 1e-9))
    return float(pos[allowed_misses])


def _choose_threshold(fit_predict, X: np.ndarray, y: np.ndarray, target_sensitivity: float,
                      n_folds: int = 5, seed: int = 0) -> float:
    X, y = np.asarray(X), np.asarray(y)
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=int)
    for label in (0, 1):  # stratified: each fold gets its share of both classes
        idx = rng.permutation(np.flatnonzero(y == label))
        folds[idx] = np.arange(len(idx)) % n_folds
    oof = np.empty(len(y), dtype=float)
    for k in range(n_folds):
        held = folds == k
        oof[held] = fit_predict(X[~held], y[~held], X[held])
    return _highest_threshold(oof, y, target_sensitivity)


class _MemorisingModel:
    """The checker's model: a smooth linear score, except that it recalls the label of any row it
    was fitted on (as a flexible model nearly does). Predictions on its own training rows are
    therefore over-confident, and a threshold chosen on them fails on new data."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, bool]] = []

    def __call__(self, X_fit, y_fit, X_new):
        X_fit, y_fit, X_new = np.asarray(X_fit, float), np.asarray(y_fit), np.asarray(X_new, float)
        m1, m0 = X_fit[y_fit == 1].mean(0), X_fit[y_fit == 0].mean(0)
        score = (X_new - (m1 + m0) / 2) @ (m1 - m0)
        probs = 1 / (1 + np.exp(-score))
        seen = {row.tobytes(): label for row, label in zip(X_fit, y_fit)}
        recalled = np.array([row.tobytes() in seen for row in X_new])
        probs[recalled] = [float(seen[row.tobytes()]) for row in X_new[recalled]]
        self.calls.append((len(X_fit), len(X_new), bool(recalled.any())))
        return probs


def _screening_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.4).astype(int)
    X = rng.normal(size=(n, 2)) + np.outer(y, [1.6, 0.8])
    return X, y


@exercise("01.choose_threshold", "a threshold chosen by cross-validation that meets a sensitivity target",
          solution=_choose_threshold,
          hints=("Predictions on the rows a model was fitted on are over-confident. Split (X, y) into "
                 "n_folds folds; for each fold call fit_predict(X without the fold, y without it, X of the "
                 "fold). Every example then has one out-of-fold probability.",
                 "Keep both classes in every fold (stratify), e.g. deal each class's shuffled indices "
                 "round-robin into the folds.",
                 "On the out-of-fold probabilities of the positives, sorted, you may miss at most "
                 "floor((1 - target) * n_positives) of them: the threshold is the next one up, and every "
                 "positive at or above it is found."))
def _check_choose_threshold(fn) -> None:
    rng = np.random.default_rng(2024)
    X, y = _screening_data(rng, 1000)
    X_new, y_new = _screening_data(rng, 20000)  # data the function never sees
    target = 0.9
    model = _MemorisingModel()
    got = fn(model, X, y, target)
    if got is None:
        raise Hint("your function returned None: return the threshold, a float")
    t = float(got)
    if not model.calls:
        raise Hint("call fit_predict(X_fit, y_fit, X_new) to get probabilities; it fits and predicts")
    if all(recalled for _, _, recalled in model.calls):
        raise Hint("every probability you used came from rows the model was fitted on: those are "
                   "over-confident. Predict each fold with a model fitted on the other folds")
    covered = sum(n_new for _, n_new, recalled in model.calls if not recalled)
    if covered < len(y):
        raise Hint(f"only {covered} of {len(y)} examples got an out-of-fold probability: with "
                   "cross-validation every example is held out exactly once")
    fresh = model(X, y, X_new)
    model.calls.pop()
    sens = float((fresh[y_new == 1] >= t).mean())
    fpr = float((fresh[y_new == 0] >= t).mean())
    best_fpr = float((fresh[y_new == 0] >= _highest_threshold(fresh, y_new, target)).mean())
    if sens < target - 0.05:
        raise Hint(f"on new data your threshold {t:.3f} finds {sens:.1%} of the positives, below the "
                   f"{target:.0%} target: it is too high. Keep at least the target share of the held-out "
                   "positives at probs >= threshold")
    if fpr > best_fpr + 0.1:
        raise Hint(f"your threshold {t:.3f} meets the target but flags {fpr:.1%} of the negatives (about "
                   f"{best_fpr:.1%} is possible): choose the HIGHEST threshold that meets the target")
