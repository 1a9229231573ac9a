"""Statistics shared by the chapters: bootstrap resampling and percentile intervals.

* :func:`bootstrap_indices`: the row indices of each bootstrap resample, drawn from
  one seeded generator (chapter 06 resamples a test set with them);
* :func:`bootstrap_ci`: a statistic of a sample with its percentile bootstrap interval;
* :func:`paired_bootstrap_ci`: the mean of paired differences with its interval
  (chapter 04's bias probe: one difference per template);
* :func:`sign_flip_pvalue`: a permutation test that paired differences have mean 0;
* :func:`holm_adjust`: Holm's step-down adjustment of p-values for many comparisons.

Every function takes the seed as an argument, so a notebook passes ``ch.seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np


def _check_level(level: float) -> float:
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be in (0, 1) (0.95 for a 95% interval), got {level!r}")
    return float(level)


def bootstrap_indices(n: int, n_boot: int, *, seed: int) -> Iterator[np.ndarray]:
    """Row indices of ``n_boot`` bootstrap resamples of ``n`` rows, one array at a time.

    Each resample draws ``n`` indices uniformly with replacement from
    ``np.random.default_rng(seed)``; the resamples come from the same generator
    in turn, so the sequence is the same whether it is consumed one by one or all
    at once (``rng.integers(0, n, size=(n_boot, n))``).

    Parameters
    ----------
    n : int
        Rows in the sample (at least 1).
    n_boot : int
        Number of resamples (at least 1).
    seed : int
        Seed of the generator.

    Yields
    ------
    numpy.ndarray of int64, shape (n,)
    """
    if int(n) < 1:
        raise ValueError(f"cannot resample an empty sample (n={n!r})")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be a positive number of resamples, got {n_boot!r}")
    rng = np.random.default_rng(seed)
    for _ in range(int(n_boot)):
        yield rng.integers(0, int(n), int(n))


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean, *,
                 n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """A statistic of a sample and its percentile bootstrap confidence interval.

    Parameters
    ----------
    values : 1-D sequence of float
        The sample (at least 2 finite values).
    statistic : callable, default numpy.mean
        Maps a 1-D array to a number.
    n_boot : int, default 2000
        Number of resamples.
    level : float, default 0.95
        Coverage of the interval.
    seed : int, default 0
        Seed of the resampling (pass ``ch.seed``).

    Returns
    -------
    estimate, low, high : float
        The statistic on the whole sample and the interval's ends.

    Raises
    ------
    ValueError
        For fewer than 2 values, values that are not finite, or a level outside (0, 1).
    """
    d = np.asarray(values, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError(f"need a 1-D array of at least 2 values, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("values must be finite")
    level = _check_level(level)
    if statistic is np.mean:  # vectorised: one (n_boot, n) draw, the same numbers as one by one
        idx = np.random.default_rng(seed).integers(0, len(d), size=(int(n_boot), len(d)))
        estimates = d[idx].mean(axis=1)
    else:
        estimates = np.array([statistic(d[i]) for i in bootstrap_indices(len(d), n_boot, seed=seed)])
    alpha = (1 - level) / 2
    return float(statistic(d)), float(np.quantile(estimates, alpha)), float(np.quantile(estimates, 1 - alpha))


def paired_bootstrap_ci(diffs: Sequence[float] | np.ndarray, *, n_boot: int = 2000, level: float = 0.95,
                        seed: int = 0) -> tuple[float, float, float]:
    """Mean of paired differences and its percentile bootstrap confidence interval.

    The pairs (one difference per template, per example, ...) are resampled as units,
    so whatever the two measurements of a pair share cancels out.

    Parameters
    ----------
    diffs : 1-D sequence of float
        One difference per pair, e.g. P(positive | group A) - P(positive | group B)
        for each template.
    n_boot : int, default 2000
    level : float, default 0.95
    seed : int, default 0
        Seed of the resampling (pass ``ch.seed``).

    Returns
    -------
    mean, low, high : float
    """
    return bootstrap_ci(diffs, np.mean, n_boot=n_boot, level=level, seed=seed)


def sign_flip_pvalue(diffs: Sequence[float] | np.ndarray, *, n_perm: int = 2000, seed: int = 0) -> float:
    """Two-sided permutation p-value for "the paired differences have mean 0".

    Under the null hypothesis each difference is as likely to be positive as negative,
    so the signs are flipped at random ``n_perm`` times and the p-value is the share of
    flipped means at least as far from 0 as the observed one, counting the observed
    one: ``(1 + hits) / (1 + n_perm)``, never 0.

    Parameters
    ----------
    diffs : 1-D sequence of float
        One difference per pair (e.g. per template).
    n_perm : int, default 2000
    seed : int, default 0

    Returns
    -------
    float in (0, 1]
    """
    d = np.asarray(diffs, dtype=float).ravel()
    if d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError("diffs must be a non-empty sequence of finite numbers")
    if int(n_perm) < 1:
        raise ValueError(f"n_perm must be a positive number of sign flips, got {n_perm!r}")
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(int(n_perm), d.size))
    observed = abs(d.mean())
    hits = int(np.sum(np.abs(signs @ d / d.size) >= observed - 1e-12))
    return (1 + hits) / (1 + int(n_perm))


def holm_adjust(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order.

    Sort the m p-values ascending; the k-th smallest (k = 0, 1, ...) is multiplied by
    ``m - k``, a running maximum keeps the adjusted values in order, and they are capped
    at 1. Rejecting where the adjusted value is at most alpha keeps the chance of any
    false rejection among the m tests at most alpha (family-wise error rate).

    Raises
    ------
    ValueError
        No p-values, or one outside [0, 1].
    """
    p = np.asarray(p_values, dtype=float).ravel()
    if p.size == 0 or np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must be a non-empty sequence of numbers in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted


__all__ = ["bootstrap_indices", "bootstrap_ci", "paired_bootstrap_ci", "sign_flip_pvalue", "holm_adjust"]
