"""Statistics shared by the chapters: bootstrap resampling and percentile intervals.

* :func:`bootstrap_indices`: the row indices of each bootstrap resample, drawn from
  one seeded generator (chapter 06 resamples a test set with them);
* :func:`bootstrap_ci`: a statistic of a sample with its percentile bootstrap interval;
* :func:`paired_bootstrap_ci`: the mean of paired differences with its interval
  (chapter 04's bias probe: one difference per template).

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


__all__ = ["bootstrap_indices", "bootstrap_ci", "paired_bootstrap_ci"]
