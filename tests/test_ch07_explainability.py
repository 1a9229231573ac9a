"""Chapter 07's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np

from fmbook.exercises import get


def test_exact_shapley_with_zeros_for_unknown_features_gets_a_specific_hint(hint_of):
    solution = get("07.exact_shapley").solution

    def zeros_baseline(f, x, background):
        return solution(f, x, np.zeros((1, len(x))))

    assert "zeros" in hint_of("07.exact_shapley", zeros_baseline)


def test_exact_shapley_with_equal_weights_gets_a_hint_about_the_weights(hint_of):
    def leave_one_out(f, x, background):
        x, bg = np.asarray(x), np.asarray(background)
        full = np.mean(f(np.repeat(x[None], len(bg), 0)))
        out = []
        for j in range(len(x)):
            rows = np.repeat(x[None], len(bg), 0)
            rows[:, j] = bg[:, j]
            out.append(full - np.mean(f(rows)))
        return np.array(out)

    assert "add up to" in hint_of("07.exact_shapley", leave_one_out)


def test_lime_fit_without_weights_gets_a_specific_hint(hint_of):
    def unweighted(Z, y, distances, kernel_width=0.75):
        beta = np.linalg.lstsq(np.c_[np.ones(len(Z)), Z], y, rcond=None)[0]
        return beta[0], beta[1:]

    assert "unweighted" in hint_of("07.lime_fit", unweighted)


def test_topk_overlap_ranked_by_signed_value_gets_a_specific_hint(hint_of):
    def signed(a, b, k):
        return len(set(np.argsort(-np.asarray(a))[:k]) & set(np.argsort(-np.asarray(b))[:k])) / k

    assert "signed value" in hint_of("07.topk_overlap", signed)
