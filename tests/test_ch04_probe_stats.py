"""The bias probe's statistics: the sign-flip permutation test and Holm's correction."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.stats import holm_adjust, sign_flip_pvalue


def test_holm_multiplies_the_smallest_p_value_by_the_number_of_tests():
    assert holm_adjust([0.01, 0.5, 0.2])[0] == pytest.approx(0.03)


def test_holm_adjusted_values_keep_the_order_of_the_raw_ones():
    p = np.array([0.04, 0.001, 0.03, 0.02])
    adjusted = holm_adjust(p)
    assert np.all(np.diff(adjusted[np.argsort(p)]) >= 0)


def test_holm_matches_the_step_down_rule_written_out():
    # sorted 0.001, 0.02, 0.03, 0.04 -> x4, x3, x2, x1 = 0.004, 0.06, 0.06 (running max), 0.06
    np.testing.assert_allclose(holm_adjust([0.04, 0.001, 0.03, 0.02]), [0.06, 0.004, 0.06, 0.06])


def test_holm_caps_adjusted_values_at_one():
    assert holm_adjust([0.6, 0.7]).max() == 1.0


def test_holm_refuses_values_outside_zero_one():
    with pytest.raises(ValueError, match="p_values"):
        holm_adjust([0.2, 1.5])


def test_sign_flip_p_value_is_small_for_a_consistent_shift():
    assert sign_flip_pvalue(np.full(20, 0.05) + np.linspace(-0.01, 0.01, 20), n_perm=2000, seed=0) < 0.001


def test_sign_flip_p_value_is_large_for_differences_centred_on_zero():
    diffs = np.random.default_rng(1).normal(0, 0.05, 24)
    diffs -= diffs.mean()
    assert sign_flip_pvalue(diffs, n_perm=2000, seed=0) > 0.5


def test_sign_flip_p_value_is_never_zero():
    assert sign_flip_pvalue(np.ones(30), n_perm=100, seed=0) == pytest.approx(1 / 101)


def test_sign_flip_p_value_depends_on_the_seed_only_through_the_flips():
    d = np.random.default_rng(2).normal(0.01, 0.05, 12)
    assert sign_flip_pvalue(d, n_perm=500, seed=3) == sign_flip_pvalue(d, n_perm=500, seed=3)


def test_sign_flip_refuses_an_empty_sample():
    with pytest.raises(ValueError, match="diffs"):
        sign_flip_pvalue([], n_perm=10)
