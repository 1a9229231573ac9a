"""fmbook.faithfulness: deletion/insertion curves and randomisation checks, each a verdict that can fail.

The acceptance test of chapter 07: both checks pass SHAP on a trained model and fail a random
or a constant explainer."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.explain import ExplanationError
from fmbook.faithfulness import (
    curve_area, deletion_curve, faithfulness_test, insertion_curve, randomisation_test, ranking,
)


def _linear(w):
    return lambda X: np.asarray(X, dtype=float) @ w


@pytest.fixture
def linear_case():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    w = np.array([3.0, -2.0, 1.5, 0.5, -0.2, 0.1])
    return X, w


def test_ranking_puts_the_largest_attribution_first():
    assert ranking([0.1, 3.0, -5.0, 1.0]).tolist() == [1, 3, 0, 2]


def test_ranking_by_absolute_value_puts_large_negatives_first():
    assert ranking([0.1, 3.0, -5.0, 1.0], absolute=True).tolist() == [2, 1, 3, 0]


def test_ranking_breaks_ties_at_random_so_a_constant_map_is_not_the_column_order():
    orders = {tuple(ranking(np.ones(6), rng)) for rng in range(20)}
    assert len(orders) > 10


def test_deletion_curve_replaces_features_in_order():
    f = _linear(np.array([1.0, 10.0, 100.0]))
    curve = deletion_curve(f, [1.0, 1.0, 1.0], [2, 0, 1], baseline=0.0)
    assert curve.tolist() == [111.0, 11.0, 10.0, 0.0]


def test_insertion_curve_starts_at_the_baseline_and_ends_at_x():
    f = _linear(np.array([1.0, 10.0, 100.0]))
    curve = insertion_curve(f, [1.0, 1.0, 1.0], [2, 0, 1], baseline=0.0)
    assert curve.tolist() == [0.0, 100.0, 101.0, 111.0]


def test_deletion_curve_with_steps_evaluates_fewer_points():
    f = _linear(np.ones(10))
    assert len(deletion_curve(f, np.ones(10), np.arange(10), 0.0, steps=5)) == 6


def test_deletion_curve_rejects_an_order_that_is_not_a_permutation():
    with pytest.raises(ExplanationError, match="permutation"):
        deletion_curve(_linear(np.ones(3)), np.ones(3), [0, 0, 1], 0.0)


def test_curve_area_is_the_mean_height_by_the_trapezoid_rule():
    assert curve_area([1.0, 1.0, 1.0]) == 1.0 and curve_area([2.0, 0.0]) == 1.0


def test_faithfulness_test_passes_the_exact_attribution_of_a_linear_model(linear_case):
    X, w = linear_case
    for kind in ("deletion", "insertion"):
        verdict = faithfulness_test(_linear(w), X, X * w, 0.0, kind=kind, rng=1)
        assert verdict.passed and verdict.gain > 0, verdict


def test_faithfulness_test_fails_random_attributions(linear_case):
    X, w = linear_case
    noise = np.random.default_rng(5).normal(size=X.shape)
    assert not faithfulness_test(_linear(w), X, noise, 0.0, rng=1).passed


def test_faithfulness_test_fails_a_constant_map(linear_case):
    X, w = linear_case
    assert not faithfulness_test(_linear(w), X, np.ones_like(X), 0.0, rng=1).passed


def test_faithfulness_test_fails_a_reversed_ranking(linear_case):
    X, w = linear_case
    verdict = faithfulness_test(_linear(w), X, -(X * w), 0.0, rng=1)
    assert not verdict.passed and verdict.gain < 0


def test_faithfulness_test_accepts_one_output_function_per_example(linear_case):
    X, w = linear_case
    fs = [_linear(w)] * len(X)
    assert faithfulness_test(fs, X, X * w, 0.0, rng=1).gain == faithfulness_test(_linear(w), X, X * w, 0.0, rng=1).gain


def test_faithfulness_test_rejects_attributions_of_another_shape(linear_case):
    X, w = linear_case
    with pytest.raises(ExplanationError, match="attributions"):
        faithfulness_test(_linear(w), X, X[:, :3], 0.0)


def test_randomisation_test_passes_a_map_that_follows_the_weights(linear_case):
    X, w = linear_case
    w_random = np.random.default_rng(9).normal(size=w.size)
    assert randomisation_test(X * w, X * w_random).passed


def test_randomisation_test_fails_a_map_that_ignores_the_model(linear_case):
    X, _ = linear_case
    verdict = randomisation_test(X, X)
    assert not verdict.passed and verdict.similarity == pytest.approx(1.0)


def test_randomisation_test_fails_a_constant_map(linear_case):
    X, _ = linear_case
    verdict = randomisation_test(np.ones_like(X), np.random.default_rng(0).normal(size=X.shape))
    assert not verdict.passed and verdict.constant_share == 1.0


def test_randomisation_test_with_a_mask_compares_only_masked_positions():
    trained = np.array([[1.0, 2.0, 3.0, 9.0, 8.0]])
    random = np.array([[1.0, 2.0, 3.0, 0.0, 0.0]])
    mask = np.array([[True, True, True, False, False]])
    assert randomisation_test(trained, random, mask=mask).similarity == pytest.approx(1.0)


def test_shap_on_a_trained_model_passes_both_checks_and_broken_explainers_fail():
    shap = pytest.importorskip("shap")
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * (X[:, 3] > 0) + rng.normal(0, 0.1, 400)
    trained = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0).fit(X, y)
    shuffled = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0).fit(X, rng.permutation(y))
    people, background = X[:60], X[100:150]

    def shap_of(model):
        return shap.TreeExplainer(model, data=background, feature_perturbation="interventional")(people).values

    sv_trained, sv_shuffled = shap_of(trained), shap_of(shuffled)
    baseline = np.median(X, axis=0)
    assert faithfulness_test(trained.predict, people, sv_trained, baseline, rng=0).passed
    assert randomisation_test(sv_trained, sv_shuffled).passed
    noise = rng.normal(size=people.shape)
    assert not faithfulness_test(trained.predict, people, noise, baseline, rng=0).passed
    assert not faithfulness_test(trained.predict, people, np.ones_like(people), baseline, rng=0).passed
    assert not randomisation_test(np.ones_like(sv_trained), np.ones_like(sv_trained)).passed


def test_faithfulness_test_areas_equal_those_of_the_curves_drawn_one_by_one(linear_case):
    X, w = linear_case
    f, g = _linear(w), np.random.default_rng(3)
    method, rand = [], []
    for x in X:  # the same random draws, in the same order, as faithfulness_test
        method.append(curve_area(deletion_curve(f, x, ranking(x * w, g), 0.0)))
        rand.append(np.mean([curve_area(deletion_curve(f, x, g.permutation(len(w)), 0.0)) for _ in range(5)]))
    verdict = faithfulness_test(f, X, X * w, 0.0, rng=3)
    assert verdict.method_area == pytest.approx(np.mean(method)) and verdict.random_area == pytest.approx(np.mean(rand))


def test_randomisation_test_reports_constant_maps_of_the_randomised_model(linear_case):
    X, w = linear_case
    verdict = randomisation_test(X * w, np.zeros_like(X))
    assert verdict.randomised_constant_share == 1.0 and "randomised model" in str(verdict)
