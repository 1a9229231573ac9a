"""Chapter 01's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np


def _gradient(dw_of, db_of):
    """A gradient answer built from the error term ``p - y``: ``(dw_of(X, err), db_of(err))``."""
    def gradient(w, b, X, y):
        err = 1 / (1 + np.exp(-(X @ w + b))) - y
        return dw_of(X, err), float(db_of(err))
    return gradient


def test_gradient_with_flipped_sign_gets_the_sign_hint(hint_of):
    flipped = _gradient(lambda X, err: -X.T @ err / len(err), lambda err: -err.mean())
    assert "sign is flipped" in hint_of("01.gradient", flipped)


def test_gradient_of_the_summed_loss_gets_the_mean_hint(hint_of):
    summed = _gradient(lambda X, err: X.T @ err, lambda err: err.sum())
    assert "divide by the number of examples" in hint_of("01.gradient", summed)


def test_gradient_with_a_summed_bias_term_gets_the_bias_hint(hint_of):
    bias_summed = _gradient(lambda X, err: X.T @ err / len(err), lambda err: err.sum())
    assert "db is the mean" in hint_of("01.gradient", bias_summed)


def test_threshold_sweep_with_swapped_columns_gets_the_order_hint(hint_of):
    def swapped(probs, y, thresholds):
        rows = [((probs >= t) & (y == 0)).sum() / (y == 0).sum() for t in thresholds]
        cols = [((probs >= t) & (y == 1)).sum() / (y == 1).sum() for t in thresholds]
        return np.c_[rows, cols]

    assert "columns swapped" in hint_of("01.threshold_sweep", swapped)


def test_accuracy_comparing_probabilities_with_labels_gets_the_threshold_hint(hint_of):
    assert "threshold them first" in hint_of("01.accuracy", lambda y_true, probs, threshold=0.5: float(np.mean(probs == y_true)))


def test_accuracy_ignoring_the_threshold_argument_gets_a_specific_hint(hint_of):
    def fixed(y_true, probs, threshold=0.5):
        return float(np.mean((probs >= 0.5) == y_true))

    assert "`threshold` argument" in hint_of("01.accuracy", fixed)
