"""Chapter 06: a fairness audit.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
SETTINGS: dict[str, dict] = {
    # n_train: rows of adult.data used for training (None = all 32,561); the test set is
    # always all of adult.test. gb_max_iter: boosting rounds of the gradient-boosted model.
    "smoke": {"n_train": 8000, "n_bootstrap": 50, "gb_max_iter": 60},
    "fast": {"n_train": None, "n_bootstrap": 200, "gb_max_iter": 200},
    "full": {"n_train": None, "n_bootstrap": 1000, "gb_max_iter": 200},
}


def _dp_difference(y_pred: np.ndarray, groups: np.ndarray) -> float:
    y_pred, groups = np.asarray(y_pred), np.asarray(groups)
    rates = [float(np.mean(y_pred[groups == g])) for g in np.unique(groups)]
    return max(rates) - min(rates)


def _false_positive_rate(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, group) -> float:
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    negatives = (groups == group) & (y_true == 0)
    return float(np.mean(y_pred[negatives] == 1))


def _fpr_from_calibration(base_rate: float, ppv: float, fnr: float) -> float:
    return base_rate / (1 - base_rate) * (1 - ppv) / ppv * (1 - fnr)


def _toy():
    y_true = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0])
    y_pred = np.array([1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0])
    groups = np.array(["a", "a", "a", "a", "b", "b", "b", "b", "b", "c", "c", "c"])
    return y_true, y_pred, groups


@exercise("06.dp_difference", "demographic parity difference by hand", solution=_dp_difference,
          hints=("The selection rate of a group is the mean of its predictions (the share predicted 1).",
                 "Compute it for every group (np.unique(groups)), then return max(rates) - min(rates)."))
def _check_dp(fn) -> None:
    from fairlearn.metrics import demographic_parity_difference

    y_true, y_pred, groups = _toy()
    got = fn(y_pred, groups)
    if got is None:
        raise Hint("your function returned None: return a number")
    got = float(got)
    want = demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    rates = {g: y_pred[groups == g].mean() for g in np.unique(groups)}
    if np.isclose(got, -want):
        raise Hint("the sign is flipped: the difference is max - min, never negative")
    if np.isclose(got, float(np.mean(y_pred))):
        raise Hint("that is the overall selection rate; compute it per group, then take max - min")
    if np.isclose(got, rates["a"] - rates["b"]) and not np.isclose(got, want):
        raise Hint("with more than two groups take the largest minus the smallest rate, not the first two")
    if np.isclose(got, float(y_pred[y_true == 1].mean())):
        raise Hint("selection rate counts predictions over *all* members of a group, not only the positives")
    if not np.isclose(got, want):
        raise Hint(f"for the small test case (group rates {', '.join(f'{g}: {r:.2f}' for g, r in rates.items())}) "
                   f"fairlearn gives {want:.3f}; you have {got:.3f}")
    rng = np.random.default_rng(6)
    p2, g2 = rng.integers(0, 2, 500), rng.choice(["x", "y"], 500)
    if not np.isclose(float(fn(p2, g2)), demographic_parity_difference(p2, p2, sensitive_features=g2)):
        raise Hint("right on the small case but not on a random one: do not hard-code group names")


@exercise("06.false_positive_rate", "a group's false positive rate", solution=_false_positive_rate,
          hints=("The false positive rate is computed among people whose true label is 0 only.",
                 "Select rows with groups == group and y_true == 0; return the share of them predicted 1."))
def _check_fpr(fn) -> None:
    y_true, y_pred, groups = _toy()
    got = fn(y_true, y_pred, groups, "b")
    if got is None:
        raise Hint("your function returned None: return a number")
    got = float(got)
    want = _false_positive_rate(y_true, y_pred, groups, "b")  # 1 of 4 negatives in b
    in_b = groups == "b"
    if np.isclose(got, float(np.mean(y_pred[in_b] == 1))) and not np.isclose(got, want):
        raise Hint("that is group b's selection rate; keep only its true negatives (y_true == 0)")
    if np.isclose(got, float(np.mean(y_pred[in_b & (y_true == 0)] == 0))):
        raise Hint("that is the true negative rate (1 - FPR): count the negatives predicted 1")
    negatives = y_true == 0
    if np.isclose(got, float(np.mean(y_pred[negatives] == 1))) and not np.isclose(got, want):
        raise Hint("that is the FPR of everyone; restrict to the rows of the requested group")
    if np.isclose(got, float(np.sum(y_pred[in_b & negatives]))):
        raise Hint("that is a count; divide by the number of the group's negatives")
    if not np.isclose(got, want):
        raise Hint(f"group b has {int(np.sum(in_b & negatives))} negatives, "
                   f"{int(np.sum(in_b & negatives & (y_pred == 1)))} of them predicted 1: expected {want:.3f}, got {got:.3f}")
    if not np.isclose(float(fn(y_true, y_pred, groups, "a")), _false_positive_rate(y_true, y_pred, groups, "a")):
        raise Hint("right for group b but not for group a: use the `group` argument")


@exercise("06.fpr_from_calibration", "Chouldechova's identity: FPR from base rate, PPV and FNR",
          solution=_fpr_from_calibration,
          hints=("Write FP and TP in terms of the number of positives P = p*n: TP = (1 - FNR) * P, "
                 "FP = TP * (1 - PPV) / PPV.",
                 "FPR = FP / N with N = (1 - p) * n, so FPR = p / (1 - p) * (1 - PPV) / PPV * (1 - FNR)."))
def _check_identity(fn) -> None:
    cases = [(0.52, 0.63, 0.28), (0.39, 0.59, 0.48), (0.2, 0.7, 0.1)]
    for p, ppv, fnr in cases:
        got = fn(p, ppv, fnr)
        if got is None:
            raise Hint("your function returned None: return a number")
        got, want = float(got), _fpr_from_calibration(p, ppv, fnr)
        if np.isclose(got, (1 - p) / p * (1 - ppv) / ppv * (1 - fnr)):
            raise Hint("the odds are upside down: it is p / (1 - p), positives over negatives")
        if np.isclose(got, p / (1 - p) * ppv / (1 - ppv) * (1 - fnr)):
            raise Hint("PPV enters as (1 - PPV) / PPV: false over true among those flagged")
        if np.isclose(got, p / (1 - p) * (1 - ppv) / ppv * fnr):
            raise Hint("use (1 - FNR), the true positive rate, not FNR")
        if not np.isclose(got, want):
            raise Hint(f"for p={p}, PPV={ppv}, FNR={fnr} expected FPR {want:.4f}, got {got:.4f}")
