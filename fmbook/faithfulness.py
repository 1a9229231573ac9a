"""Checks that an explanation deserves trust, each returning a verdict that can fail.

Two families of checks for attribution methods (SHAP, LIME, gradients, ...):

* **Faithfulness** (:func:`deletion_curve`, :func:`insertion_curve`, :func:`faithfulness_test`):
  remove (or insert) the features an explanation ranks first and watch the model's
  output. A faithful ranking moves the output faster than a random ranking of the same
  features; the test compares the area under the curve with that of random rankings
  and fails when the explanation is no better than random.
* **Randomisation** (:func:`randomisation_test`): the sanity checks of Adebayo et al.
  (2018). Explain the same inputs under a trained model and under a model whose weights
  (cascading layer randomisation) or training labels (label randomisation) were
  randomised; an explanation that depends on what the model learned must change. The
  similarity is the Spearman rank correlation of |attribution| per example; a constant
  explanation has nothing to rank and fails.

Both return small dataclasses (:class:`FaithfulnessVerdict`, :class:`RandomisationVerdict`)
with the measured numbers and a ``passed`` flag.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .explain import ExplanationError, rank_correlation

__all__ = [
    "ranking", "deletion_curve", "insertion_curve", "curve_area", "FaithfulnessVerdict",
    "faithfulness_test", "RandomisationVerdict", "randomisation_test",
]


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def ranking(attribution: Any, rng: Any = 0, *, absolute: bool = False) -> np.ndarray:
    """Feature indices ordered from the largest attribution down, ties broken at random.

    Parameters
    ----------
    attribution : array, shape (d,) (flattened if larger)
    rng : numpy Generator or int
        Breaks ties: a constant explanation gives a random order, not the column order
        (which could happen to be informative).
    absolute : bool, default False
        Rank by |attribution| instead of the signed value.

    Returns
    -------
    numpy.ndarray of int, shape (d,)
    """
    a = np.asarray(attribution, dtype=float).ravel()
    if absolute:
        a = np.abs(a)
    tie = _rng(rng).random(a.size)
    return np.lexsort((tie, -a))


def _curve(f: Callable, x: np.ndarray, order: np.ndarray, baseline: np.ndarray, steps: int | None,
           start_from_x: bool) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    baseline = np.broadcast_to(np.asarray(baseline, dtype=float).ravel(), x.shape) if np.ndim(baseline) \
        else np.full(x.shape, float(baseline))
    d = x.size
    order = np.asarray(order).ravel()
    if sorted(order.tolist()) != list(range(d)):
        raise ExplanationError(f"order must be a permutation of the {d} feature indices")
    counts = np.arange(d + 1) if steps is None else np.unique(np.round(np.linspace(0, d, steps + 1)).astype(int))
    rows = np.empty((len(counts), d))
    for r, k in enumerate(counts):
        changed = order[:k]
        if start_from_x:  # deletion: features ranked first go to the baseline
            rows[r] = x
            rows[r, changed] = baseline[changed]
        else:  # insertion: start at the baseline, features ranked first come from x
            rows[r] = baseline
            rows[r, changed] = x[changed]
    out = np.asarray(f(rows), dtype=float)
    if out.shape != (len(rows),):
        raise ExplanationError(f"f must return one number per row ({len(rows)}), got shape {out.shape}")
    return out


def deletion_curve(f: Callable[[np.ndarray], Any], x: Any, order: Any, baseline: Any,
                   steps: int | None = None) -> np.ndarray:
    """Model output as the features of ``x`` are replaced by ``baseline``, in ``order``.

    Parameters
    ----------
    f : callable
        Maps an (m, d) array to m numbers (e.g. the log-odds, or the logit of the class explained).
    x : array, shape (d,)
    order : permutation of range(d), most important first
    baseline : float or array (d,)
        The value a removed feature takes (a typical person, a black pixel).
    steps : int, optional
        Evaluate after about ``d / steps`` removals each (default: after every feature).

    Returns
    -------
    numpy.ndarray
        The output after 0, ..., d removals (``steps + 1`` values when ``steps`` is given).
    """
    return _curve(f, np.asarray(x), np.asarray(order), baseline, steps, start_from_x=True)


def insertion_curve(f: Callable[[np.ndarray], Any], x: Any, order: Any, baseline: Any,
                    steps: int | None = None) -> np.ndarray:
    """Model output as the features of ``x`` are put into ``baseline``, in ``order``.

    The mirror of :func:`deletion_curve`: it starts at the baseline and ends at ``x``.
    """
    return _curve(f, np.asarray(x), np.asarray(order), baseline, steps, start_from_x=False)


def curve_area(curve: Any) -> float:
    """Area under a deletion or insertion curve, with the fraction of features on [0, 1].

    The trapezoid rule; the area is the mean output over the curve.
    """
    c = np.asarray(curve, dtype=float)
    if c.ndim != 1 or len(c) < 2:
        raise ExplanationError(f"a curve needs at least two points, got shape {c.shape}")
    return float(np.sum((c[1:] + c[:-1]) / 2) / (len(c) - 1))


@dataclass
class FaithfulnessVerdict:
    """The result of :func:`faithfulness_test`.

    Attributes
    ----------
    kind : "deletion" or "insertion"
    method_area, random_area : mean area under the curve over examples (random: also over rankings)
    gain : how much better than random, in output units, mean over examples (positive = better):
        random - method for deletion, method - random for insertion
    stderr : standard error of ``gain`` over the examples
    random_spread : standard deviation of the mean random area across the random rankings
    z : the gain must exceed ``z * stderr``
    passed : bool
    """

    kind: str
    method_area: float
    random_area: float
    gain: float
    stderr: float
    random_spread: float
    z: float
    passed: bool

    def __str__(self) -> str:
        word = "PASS" if self.passed else "FAIL"
        return (f"{word} {self.kind}: area {self.method_area:.3f} vs random {self.random_area:.3f} "
                f"(+-{self.random_spread:.3f}); better than random by {self.gain:+.3f} "
                f"(needs > {self.z:g} x {self.stderr:.3f})")


def faithfulness_test(f: Callable[[np.ndarray], Any] | Sequence[Callable], X: Any, attributions: Any, baseline: Any, *,
                      kind: str = "deletion", n_random: int = 5, steps: int | None = None,
                      z: float = 2.0, rng: Any = 0, absolute: bool = False) -> FaithfulnessVerdict:
    """Is an explanation's ranking more faithful than a random ranking? A test that can fail.

    For each example, rank its features by attribution (:func:`ranking`), draw the
    deletion (or insertion) curve and its area; do the same for ``n_random`` random
    rankings. Deletion: a faithful ranking makes the output fall fast, a small area;
    insertion: rise fast, a large area. The test passes when the mean gain over random
    is positive and larger than ``z`` standard errors (over examples).

    Parameters
    ----------
    f : callable, or a sequence of n callables
        (m, d) array -> m outputs: the output the attributions explain (e.g. log-odds of
        an income above $50K). One callable per example when each explains its own
        output (e.g. the logit of each digit's predicted class).
    X : array (n, d)
    attributions : array (n, d)
        One attribution per feature and example; larger = pushes the output up more.
    baseline : float, array (d,) or array (n, d)
        Values of removed features.
    kind : "deletion" or "insertion"
    n_random : int, default 5
    steps : int, optional
        See :func:`deletion_curve`.
    z : float, default 2.0
    rng : numpy Generator or int
        For the random rankings and tie-breaking.
    absolute : bool, default False
        Rank by |attribution|.

    Returns
    -------
    FaithfulnessVerdict
    """
    if kind not in ("deletion", "insertion"):
        raise ExplanationError(f"kind must be 'deletion' or 'insertion', got {kind!r}")
    X = np.asarray(X, dtype=float)
    A = np.asarray(attributions, dtype=float)
    if X.ndim != 2 or A.shape != X.shape:
        raise ExplanationError(f"X and attributions must both be (n, d) arrays, got {X.shape} and {A.shape}")
    if n_random < 2:
        raise ExplanationError("n_random must be at least 2 to measure the spread of random rankings")
    n, d = X.shape
    B = np.broadcast_to(np.asarray(baseline, dtype=float), X.shape) if np.ndim(baseline) else np.full(X.shape, float(baseline))
    g = _rng(rng)
    counts = np.arange(d + 1) if steps is None else np.unique(np.round(np.linspace(0, d, steps + 1)).astype(int))
    # rankings per example: row 0 the explanation's, rows 1.. random permutations
    orders = np.empty((n, n_random + 1, d), dtype=int)
    for i in range(n):
        orders[i, 0] = ranking(A[i], g, absolute=absolute)
        for r in range(n_random):
            orders[i, r + 1] = g.permutation(d)
    position = np.argsort(orders, axis=2)  # position[i, r, j]: where feature j comes in ranking r
    changed = position[:, :, None, :] < counts[None, None, :, None]  # (n, rankings, points, d)
    first, second = (B, X) if kind == "deletion" else (X, B)
    rows = np.where(changed, first[:, None, None, :], second[:, None, None, :])
    shape = rows.shape[:3]
    if callable(f):  # one call for every curve of every example
        out = np.asarray(f(rows.reshape(-1, d)), dtype=float)
        if out.shape != (rows[..., 0].size,):
            raise ExplanationError(f"f must return one number per row ({rows[..., 0].size}), got shape {out.shape}")
        out = out.reshape(shape)
    else:  # one output function per example
        fs = list(f)
        if len(fs) != n:
            raise ExplanationError(f"got {len(fs)} output functions for {n} examples")
        out = np.stack([np.asarray(fs[i](rows[i].reshape(-1, d)), dtype=float).reshape(shape[1:]) for i in range(n)])
    areas = ((out[..., 1:] + out[..., :-1]) / 2).sum(-1) / (len(counts) - 1)  # trapezoid, as curve_area
    method, rand = areas[:, 0], areas[:, 1:]
    diff = rand.mean(1) - method if kind == "deletion" else method - rand.mean(1)
    gain = float(diff.mean())
    stderr = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    return FaithfulnessVerdict(kind=kind, method_area=float(method.mean()), random_area=float(rand.mean()),
                               gain=gain, stderr=stderr, random_spread=float(rand.mean(0).std(ddof=1)),
                               z=float(z), passed=bool(gain > 0 and gain > z * stderr))


@dataclass
class RandomisationVerdict:
    """The result of :func:`randomisation_test`.

    Attributes
    ----------
    similarity : mean Spearman correlation of |attribution|, trained vs randomised model
        (an example whose trained map is constant counts as 1: nothing to rank, nothing changes)
    constant_share : fraction of examples whose trained explanation is constant
    threshold : the similarity must be below it
    passed : bool
    randomised_constant_share : fraction of examples whose explanation under the randomised model
        is constant (e.g. a network whose units all died): such a "pass" says nothing, read it
    """

    similarity: float
    constant_share: float
    threshold: float
    passed: bool
    randomised_constant_share: float = 0.0

    def __str__(self) -> str:
        word = "PASS" if self.passed else "FAIL"
        extra = f", {self.constant_share:.0%} constant maps" if self.constant_share else ""
        if self.randomised_constant_share:
            extra += f", {self.randomised_constant_share:.0%} constant maps under the randomised model"
        return f"{word}: similarity {self.similarity:.2f} (must be < {self.threshold:g}){extra}"


def randomisation_test(trained: Any, randomised: Any, *, threshold: float = 0.5, mask: Any = None,
                       absolute: bool = True) -> RandomisationVerdict:
    """The randomisation sanity check: does the explanation change when the model is randomised?

    Parameters
    ----------
    trained, randomised : arrays (n, ...)
        Attributions of the same n inputs (and classes) under the trained model and under
        the randomised one (random weights, or trained on shuffled labels).
    threshold : float, default 0.5
        The test passes when the mean similarity is below it.
    mask : boolean array like ``trained``, optional
        Compare only these positions (e.g. the pixels inside a digit).
    absolute : bool, default True
        Compare |attribution|, as Adebayo et al. (2018) do.

    Returns
    -------
    RandomisationVerdict
        Fails when the similarity is at or above ``threshold``, and when the trained
        explanation is constant for most examples (a constant map cannot change).
    """
    t = np.asarray(trained, dtype=float)
    r = np.asarray(randomised, dtype=float)
    if t.shape != r.shape or t.ndim < 2 or len(t) == 0:
        raise ExplanationError(f"expected two (examples, ...) arrays of the same shape, got {t.shape} and {r.shape}")
    m = np.ones(t.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != t.shape:
        raise ExplanationError(f"mask has shape {m.shape}, the attributions {t.shape}")
    if absolute:
        t, r = np.abs(t), np.abs(r)
    sims, constant, randomised_constant = [], [], []
    for a, b, k in zip(t, r, m):
        a, b = a[k], b[k]
        is_constant = a.size < 2 or np.ptp(a) == 0
        constant.append(is_constant)
        randomised_constant.append(b.size < 2 or np.ptp(b) == 0)
        sims.append(1.0 if is_constant else rank_correlation(a, b))
    similarity, constant_share = float(np.mean(sims)), float(np.mean(constant))
    passed = similarity < threshold and constant_share <= 0.5
    return RandomisationVerdict(similarity=similarity, constant_share=constant_share,
                                threshold=float(threshold), passed=bool(passed),
                                randomised_constant_share=float(np.mean(randomised_constant)))
