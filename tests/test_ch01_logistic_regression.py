"""Chapter 01's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_gradient_with_flipped_sign_gets_the_sign_hint(hint_of):
    def flipped(w, b, X, y):
        p = _sigmoid(X @ w + b)
        return X.T @ (y - p) / len(y), float((y - p).mean())

    assert "sign is flipped" in hint_of("01.gradient", flipped)


def test_gradient_of_the_summed_loss_gets_the_mean_hint(hint_of):
    def summed(w, b, X, y):
        p = _sigmoid(X @ w + b)
        return X.T @ (p - y), float((p - y).sum())

    assert "divide by the number of examples" in hint_of("01.gradient", summed)


def test_gradient_with_a_wrong_bias_term_gets_the_bias_hint(hint_of):
    def bias_summed(w, b, X, y):
        p = _sigmoid(X @ w + b)
        return X.T @ (p - y) / len(y), float((p - y).sum())

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
