"""Unit tests of fmbook.stats: bootstrap resampling and intervals."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook import stats


def test_bootstrap_indices_draw_n_rows_with_replacement():
    draws = list(stats.bootstrap_indices(50, 20, seed=0))
    assert len(draws) == 20
    assert all(d.shape == (50,) and d.min() >= 0 and d.max() < 50 for d in draws)
    assert any(len(np.unique(d)) < 50 for d in draws)  # with replacement: repeats occur


def test_bootstrap_indices_are_the_same_as_one_draw_of_all_resamples():
    one_by_one = np.stack(list(stats.bootstrap_indices(13, 40, seed=5)))
    at_once = np.random.default_rng(5).integers(0, 13, size=(40, 13))
    np.testing.assert_array_equal(one_by_one, at_once)


def test_bootstrap_indices_change_with_the_seed():
    a = next(stats.bootstrap_indices(100, 1, seed=0))
    b = next(stats.bootstrap_indices(100, 1, seed=1))
    assert not np.array_equal(a, b)


def test_bootstrap_indices_reject_an_empty_sample():
    with pytest.raises(ValueError, match="empty"):
        next(stats.bootstrap_indices(0, 10, seed=0))


def test_bootstrap_ci_contains_the_estimate():
    x = np.random.default_rng(0).normal(1.0, 1.0, size=40)
    est, lo, hi = stats.bootstrap_ci(x, n_boot=500, seed=0)
    assert lo < est < hi and est == pytest.approx(x.mean())


def test_bootstrap_ci_is_narrower_with_more_data():
    rng = np.random.default_rng(0)
    _, lo_small, hi_small = stats.bootstrap_ci(rng.normal(size=20), n_boot=500, seed=0)
    _, lo_large, hi_large = stats.bootstrap_ci(rng.normal(size=2000), n_boot=500, seed=0)
    assert hi_large - lo_large < (hi_small - lo_small) / 3


def test_bootstrap_ci_of_a_median_uses_the_statistic_given():
    x = np.array([0.0, 0.0, 0.0, 1.0, 100.0])
    est, lo, hi = stats.bootstrap_ci(x, np.median, n_boot=300, seed=0)
    assert est == 0.0 and lo <= est <= hi


def test_bootstrap_ci_of_a_custom_mean_equals_the_vectorised_mean():
    x = np.random.default_rng(2).normal(size=25)
    fast = stats.bootstrap_ci(x, np.mean, n_boot=300, seed=4)
    slow = stats.bootstrap_ci(x, lambda v: float(np.mean(v)), n_boot=300, seed=4)
    assert fast == pytest.approx(slow)


def test_bootstrap_ci_rejects_a_level_given_in_percent():
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci([0.1, 0.2, 0.3], level=95)


def test_paired_bootstrap_ci_contains_the_mean_and_excludes_zero_for_a_clear_shift():
    d = np.random.default_rng(0).normal(0.2, 0.05, size=30)
    mean, lo, hi = stats.paired_bootstrap_ci(d, n_boot=500)
    assert lo < mean < hi and lo > 0


def test_paired_bootstrap_ci_includes_zero_without_a_shift():
    d = np.random.default_rng(1).normal(0.0, 0.05, size=30)
    _, lo, hi = stats.paired_bootstrap_ci(d, n_boot=500, seed=1)
    assert lo < 0 < hi


def test_paired_bootstrap_ci_rejects_too_few_differences():
    with pytest.raises(ValueError, match="at least 2"):
        stats.paired_bootstrap_ci([0.1])


def test_paired_bootstrap_ci_rejects_missing_values():
    with pytest.raises(ValueError, match="finite"):
        stats.paired_bootstrap_ci([0.1, np.nan, 0.3])
