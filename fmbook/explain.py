"""Explanation helpers for chapter 07: checks that explanations deserve trust.

The chapter's lesson code (calling SHAP and LIME, integrated gradients, the
randomisation experiment) stays in the notebook. This module holds what the
notebook uses to *check* explanations and the plumbing around it:

* :func:`additivity_error`: SHAP's local accuracy, ``sum(phi) + E[f] == f(x)``;
* :func:`top_k`, :func:`topk_overlap`, :func:`stability`: how much the top-k
  features of explanations agree (LIME across random seeds, LIME against SHAP);
* :func:`exact_shapley`: Shapley values by enumerating every coalition (small
  models only), the ground truth that SHAP approximates;
* :func:`rank_correlation`, :func:`randomisation_similarity`: the similarity
  measure of the model-randomisation sanity check (Adebayo et al. 2018);
* :func:`require_predict`, :func:`feature_position`: input validation with
  clear errors;
* :func:`highlight_html`: words coloured by their attribution.

The chapter's own models (its Adult features and trainers) are in
:mod:`fmbook.chapters.ch07_explainability`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


class ExplanationError(ValueError):
    """Bad input to an explanation helper (shapes, sizes, unknown features)."""


class UnknownFeatureError(ExplanationError, KeyError):
    """An explainer was asked for a feature the model does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------- validation


def require_predict(model: Any, methods: Sequence[str] = ("predict_proba", "predict")) -> Callable:
    """Return the prediction function of ``model``, or raise a clear error.

    Parameters
    ----------
    model : object or callable
        A fitted model with one of ``methods``, or a plain function (returned as is).
    methods : sequence of str, default ("predict_proba", "predict")
        Method names to look for, in order of preference.

    Returns
    -------
    callable
        The bound method (or the function itself).

    Raises
    ------
    TypeError
        If ``model`` is neither callable nor has any of ``methods``.
    """
    for name in methods:
        fn = getattr(model, name, None)
        if callable(fn):
            return fn
    if callable(model) and not isinstance(model, type):
        return model
    raise TypeError(
        f"{type(model).__name__} object has no {' or '.join(methods)} method and is not a "
        f"function, so there is nothing to explain: pass a fitted model (for example a "
        f"scikit-learn estimator after .fit) or a function mapping inputs to outputs"
    )


def feature_position(feature: str | int, names: Sequence[str]) -> int:
    """Column index of ``feature`` (a name or an index) among ``names``.

    Raises
    ------
    UnknownFeatureError
        When the name is not one of ``names`` or the index is out of range; the
        message lists the features the model has.
    """
    names = [str(n) for n in names]
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if 0 <= int(feature) < len(names):
            return int(feature)
        raise UnknownFeatureError(
            f"feature index {feature} is out of range: the model has {len(names)} features "
            f"(0..{len(names) - 1})")
    if str(feature) in names:
        return names.index(str(feature))
    raise UnknownFeatureError(
        f"the model has no feature {feature!r}; its features are: {', '.join(names)}")


def _as_2d(a: Any, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ExplanationError(f"{name} must be a vector or an (examples, features) array, got shape {a.shape}")
    return a


# --------------------------------------------------------------------------- additivity


def additivity_error(attributions: Any, base_value: Any, outputs: Any) -> float:
    """Largest violation of SHAP's local accuracy: ``|sum_j phi_j + base - f(x)|``.

    Parameters
    ----------
    attributions : array, shape (n, d) or (d,)
        One row of attributions per explained example.
    base_value : float or array of shape (n,)
        The expected model output (``explainer.expected_value``).
    outputs : array, shape (n,) or scalar
        The model outputs being explained, *in the same units* as the
        attributions (log-odds for a tree model's raw output, not probabilities).

    Returns
    -------
    float
        ``max_i |sum_j phi_ij + base_i - f(x_i)|``; 0 for exact attributions.

    Raises
    ------
    ExplanationError
        When the shapes do not line up.
    """
    phi = _as_2d(attributions, "attributions")
    out = np.atleast_1d(np.asarray(outputs, dtype=float))
    base = np.atleast_1d(np.asarray(base_value, dtype=float))
    if out.shape != (len(phi),):
        raise ExplanationError(
            f"outputs must have one value per explained example ({len(phi)}), got shape {out.shape}; "
            f"for a multi-output model pick the output that was explained")
    if base.shape not in ((1,), (len(phi),)):
        raise ExplanationError(f"base_value must be a number or one per example, got shape {base.shape}")
    if not (np.all(np.isfinite(phi)) and np.all(np.isfinite(out)) and np.all(np.isfinite(base))):
        raise ExplanationError("attributions, base_value and outputs must be finite")
    return float(np.max(np.abs(phi.sum(axis=1) + base - out)))


# --------------------------------------------------------------------------- top-k agreement


def _weights(explanation: Any, names: Sequence[str] | None) -> dict[Any, float]:
    """An explanation as {feature: weight}: from an array, a mapping, or (feature, weight) pairs."""
    if isinstance(explanation, Mapping):
        return {k: float(v) for k, v in explanation.items()}
    if (isinstance(explanation, (list, tuple)) and explanation
            and all(isinstance(p, tuple) and len(p) == 2 for p in explanation)):
        return {k: float(v) for k, v in explanation}  # LIME's exp.as_list() / as_map()[label]
    arr = np.asarray(explanation, dtype=float)
    if arr.ndim != 1:
        raise ExplanationError(f"an explanation must be one vector of attributions, got shape {arr.shape}")
    if names is not None and len(names) != len(arr):
        raise ExplanationError(f"{len(arr)} attributions but {len(names)} feature names")
    keys = list(names) if names is not None else list(range(len(arr)))
    return dict(zip(keys, arr.tolist()))


def top_k(explanation: Any, k: int, names: Sequence[str] | None = None) -> list:
    """The ``k`` features with the largest absolute attribution, largest first.

    Parameters
    ----------
    explanation : array of shape (d,), mapping {feature: weight}, or list of (feature, weight)
        One explanation. Ties are broken by the order of the features.
    k : int
        How many features (at least 1, at most the number of features).
    names : sequence of str, optional
        Feature names for an array (otherwise indices are returned).

    Returns
    -------
    list
        Feature names (or indices), most important first.

    Raises
    ------
    ExplanationError
        When ``k`` is not between 1 and the number of features, or a weight is not finite.
    """
    w = _weights(explanation, names)
    if not 1 <= int(k) <= len(w):
        raise ExplanationError(f"k must be between 1 and the number of features ({len(w)}), got {k}")
    if not all(math.isfinite(v) for v in w.values()):
        raise ExplanationError("attributions must be finite numbers")
    order = sorted(range(len(w)), key=lambda i: -abs(list(w.values())[i]))
    keys = list(w)
    return [keys[i] for i in order[: int(k)]]


def topk_overlap(a: Any, b: Any, k: int, names: Sequence[str] | None = None) -> float:
    """Fraction of the top-``k`` features (by absolute weight) that two explanations share.

    1.0 means the same k features (in any order); a ranking drawn at random from
    ``d`` features shares about ``k / d`` with another.

    Parameters
    ----------
    a, b : explanations
        Arrays of attributions, mappings or (feature, weight) lists (see :func:`top_k`).
    k : int
    names : sequence of str, optional
        Feature names when ``a`` and ``b`` are arrays.

    Returns
    -------
    float in [0, 1]
    """
    return len(set(top_k(a, k, names)) & set(top_k(b, k, names))) / int(k)


def stability(explanations: Sequence[Any], k: int, names: Sequence[str] | None = None) -> float:
    """Mean pairwise top-``k`` overlap of several explanations of the same example.

    Used for LIME: explain one example with several random seeds and ask how
    often the same k features come out on top.

    Raises
    ------
    ExplanationError
        With fewer than two explanations.
    """
    explanations = list(explanations)
    if len(explanations) < 2:
        raise ExplanationError(f"stability needs at least two explanations (one per seed), got {len(explanations)}")
    pairs = list(itertools.combinations(explanations, 2))
    return float(np.mean([topk_overlap(a, b, k, names) for a, b in pairs]))


# --------------------------------------------------------------------------- exact Shapley values


def exact_shapley(f: Callable[[np.ndarray], Any], x: Any, background: Any, *,
                  max_features: int = 14) -> np.ndarray:
    """Shapley values of ``f`` at ``x`` by enumerating every coalition of features.

    The value of a coalition ``S`` is the model output with the features in ``S``
    taken from ``x`` and the others from each background row, averaged over the
    background (the "interventional" game that SHAP's explainers with a
    background data set approximate)::

        v(S) = mean_b f(x_S, b_{not S})
        phi_j = sum_{S not containing j} |S|! (d - |S| - 1)! / d! * (v(S + j) - v(S))

    Parameters
    ----------
    f : callable
        Maps an (m, d) array to m outputs (one number per row).
    x : array, shape (d,) or (n, d)
        The example(s) to explain.
    background : array, shape (b, d)
        Rows standing in for "feature unknown".
    max_features : int, default 14
        Refuse larger ``d``: the cost is ``2**d * b`` model calls per example.

    Returns
    -------
    numpy.ndarray
        Shape (d,) for one example, (n, d) for several. They add up to
        ``f(x) - mean_b f(b)`` (efficiency).

    Raises
    ------
    ExplanationError
        For mismatched shapes, too many features, or ``f`` returning the wrong number of outputs.
    """
    f = f if callable(f) and not isinstance(f, type) else require_predict(f)
    xs = _as_2d(x, "x")
    bg = _as_2d(background, "background")
    n, d = xs.shape
    if bg.shape[1] != d:
        raise ExplanationError(f"x has {d} features but the background has {bg.shape[1]}")
    if d > max_features:
        raise ExplanationError(f"exact enumeration of {d} features needs 2**{d} coalitions; "
                               f"use SHAP's approximations (max_features={max_features})")
    masks = np.array(list(itertools.product([0, 1], repeat=d)), dtype=bool)  # (2**d, d)
    index = {tuple(m): i for i, m in enumerate(masks)}
    weight = [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
    out = np.zeros((n, d))
    for r, row in enumerate(xs):
        # every coalition applied to every background row, in one call to f
        batch = np.where(masks[:, None, :], row[None, None, :], bg[None, :, :]).reshape(-1, d)
        y = np.asarray(f(batch), dtype=float)
        if y.ndim != 1 or len(y) != len(batch):
            raise ExplanationError(
                f"f must return one number per input row ({len(batch)}), got shape {y.shape}; "
                f"for a classifier pass e.g. lambda X: model.predict_proba(X)[:, 1]")
        v = y.reshape(len(masks), len(bg)).mean(axis=1)
        for i, m in enumerate(masks):
            for j in np.flatnonzero(~m):
                with_j = m.copy()
                with_j[j] = True
                out[r, j] += weight[int(m.sum())] * (v[index[tuple(with_j)]] - v[i])
    return out[0] if np.ndim(x) == 1 else out


# --------------------------------------------------------------------------- randomisation check


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman rank correlation of two attribution maps (flattened).

    Returns 0.0 when either map is constant (no ranking to compare).
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ExplanationError(f"attribution maps differ in size: {a.size} and {b.size}")
    if a.size < 2:
        raise ExplanationError("need at least two attribution values to rank")
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def randomisation_similarity(trained: Any, randomised: Any, *, absolute: bool = True,
                             mask: Any = None) -> float:
    """Mean per-example rank correlation between explanations of a trained and a random model.

    The model-randomisation sanity check (Adebayo et al. 2018): an explanation
    that depends on what the model learned must change when the weights are
    replaced by random ones. A similarity near 1 means the method fails the
    check (it shows the input, not the model); near 0 means it passes.

    Parameters
    ----------
    trained, randomised : arrays of the same shape, (n, ...)
        Attributions of the same n inputs under the two models.
    absolute : bool, default True
        Compare absolute values (as Adebayo et al. do), ignoring signs.
    mask : boolean array of the same shape, optional
        Compare only where ``mask`` is True (for example the digit's own pixels,
        so that the many zero pixels of a gradient-times-input map do not count
        as agreement).

    Returns
    -------
    float
        Mean Spearman correlation over the n examples, in [-1, 1].
    """
    t = np.asarray(trained, dtype=float)
    r = np.asarray(randomised, dtype=float)
    if t.shape != r.shape:
        raise ExplanationError(f"the two sets of attributions differ in shape: {t.shape} and {r.shape}")
    if t.ndim < 2 or len(t) == 0:
        raise ExplanationError(f"expected (examples, ...) arrays with at least one example, got shape {t.shape}")
    if absolute:
        t, r = np.abs(t), np.abs(r)
    if mask is None:
        return float(np.mean([rank_correlation(a, b) for a, b in zip(t, r)]))
    m = np.asarray(mask, dtype=bool)
    if m.shape != t.shape:
        raise ExplanationError(f"mask has shape {m.shape}, the attributions {t.shape}")
    return float(np.mean([rank_correlation(a[k], b[k]) for a, b, k in zip(t, r, m)]))


# --------------------------------------------------------------------------- display


def highlight_html(words: Sequence[str], weights: Sequence[float], *, title: str = "",
                   scale: float | None = None) -> str:
    """Words coloured by their attribution: green pushes towards "positive", red away.

    Parameters
    ----------
    words : sequence of str
        The tokens in reading order (separators included or not).
    weights : sequence of float
        One attribution per token.
    title : str
        Shown above the sentence.
    scale : float, optional
        The weight shown at full colour (default: the largest absolute weight).

    Returns
    -------
    str
        An HTML fragment.
    """
    import html

    weights = np.asarray(weights, dtype=float)
    if len(words) != len(weights):
        raise ExplanationError(f"{len(words)} words but {len(weights)} weights")
    top = scale or (float(np.abs(weights).max()) if len(weights) else 1.0) or 1.0
    spans = []
    for word, w in zip(words, weights):
        alpha = min(abs(w) / top, 1.0) * 0.85
        colour = f"rgba(27,127,59,{alpha:.2f})" if w > 0 else f"rgba(176,0,32,{alpha:.2f})"
        spans.append(f"<span title='{w:+.3f}' style='background:{colour};padding:1px 2px;"
                     f"border-radius:3px'>{html.escape(str(word))}</span>")
    head = f"<b>{html.escape(title)}</b><br>" if title else ""
    return f"<div style='line-height:1.9;margin:4px 0'>{head}{' '.join(spans)}</div>"


__all__ = [
    "ExplanationError", "UnknownFeatureError", "require_predict", "feature_position",
    "additivity_error", "top_k", "topk_overlap", "stability", "exact_shapley", "rank_correlation",
    "randomisation_similarity", "highlight_html",
]
