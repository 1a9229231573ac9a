"""Unit tests of fmbook.explain: the checks that explanations deserve trust, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmbook.explain import (
    ExplanationError,
    UnknownFeatureError,
    additivity_error,
    exact_shapley,
    feature_position,
    highlight_html,
    randomisation_similarity,
    rank_correlation,
    require_predict,
    stability,
    top_k,
    topk_overlap,
)


def _toy_model(X):
    """A 3-feature model with an interaction and a non-linearity."""
    X = np.asarray(X, dtype=float)
    return 2.0 * X[:, 0] + X[:, 1] * X[:, 2] + np.tanh(X[:, 2])


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 3)), rng.normal(size=(12, 3))


# ----------------------------------------------------------------- additivity


def test_additivity_error_is_zero_for_exact_attributions():
    phi = np.array([[0.5, -0.25], [1.0, 0.0]])
    assert additivity_error(phi, 0.1, phi.sum(1) + 0.1) == pytest.approx(0.0, abs=1e-15)


def test_additivity_error_reports_the_largest_gap():
    phi = np.array([[0.5, -0.25], [1.0, 0.0]])
    outputs = phi.sum(1) + 0.1 + np.array([0.01, -0.3])
    assert additivity_error(phi, 0.1, outputs) == pytest.approx(0.3)


def test_additivity_error_accepts_one_base_value_per_example():
    phi = np.array([[1.0, 1.0], [2.0, 2.0]])
    assert additivity_error(phi, [0.0, 1.0], [2.0, 5.0]) == pytest.approx(0.0)


def test_additivity_error_rejects_outputs_of_the_wrong_length():
    with pytest.raises(ExplanationError, match="one value per explained example"):
        additivity_error(np.zeros((3, 2)), 0.0, np.zeros(2))


def test_additivity_error_of_shap_tree_explainer_is_below_1e_6():
    shap = pytest.importorskip("shap")
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    explainer = shap.TreeExplainer(model, data=X[:30], feature_perturbation="interventional")
    sv = explainer(X[:25])
    assert additivity_error(sv.values, sv.base_values, model.decision_function(X[:25])) <= 1e-6


# ----------------------------------------------------------------- top-k and stability


def test_top_k_ranks_by_absolute_value():
    assert top_k([0.1, -0.9, 0.5, 0.0], 2, names=["a", "b", "c", "d"]) == ["b", "c"]


def test_top_k_reads_lime_style_pairs():
    assert top_k([("x", 0.2), ("y", -0.7), ("z", 0.1)], 1) == ["y"]


def test_top_k_rejects_k_larger_than_the_number_of_features():
    with pytest.raises(ExplanationError, match="between 1 and the number of features"):
        top_k([1.0, 2.0], 3)


def test_topk_overlap_is_the_shared_fraction():
    a = {"age": 3.0, "sex": 2.0, "race": 1.0, "hours": 0.1}
    b = {"age": -3.0, "race": 2.0, "hours": 1.0, "sex": 0.0}
    assert topk_overlap(a, b, 2) == pytest.approx(0.5)


def test_stability_is_one_for_identical_explanations():
    e = [0.3, -0.2, 0.1, 0.05]
    assert stability([e, e, e], 2) == 1.0


def test_stability_averages_over_all_pairs_of_seeds():
    e1, e2, e3 = [3, 2, 1, 0], [3, 2, 1, 0], [0, 1, 2, 3]
    # pairs: (e1,e2)=1, (e1,e3)=0, (e2,e3)=0 -> 1/3
    assert stability([e1, e2, e3], 2) == pytest.approx(1 / 3)


def test_stability_needs_at_least_two_explanations():
    with pytest.raises(ExplanationError, match="at least two"):
        stability([[1.0, 2.0]], 1)


# ----------------------------------------------------------------- exact Shapley values


def test_exact_shapley_of_a_linear_model_is_coefficient_times_centred_input(toy):
    x, bg = toy
    w = np.array([1.5, -2.0, 0.5])
    phi = exact_shapley(lambda X: X @ w, x, bg)
    assert np.allclose(phi, w * (x - bg.mean(0)))


def test_exact_shapley_values_add_up_to_output_minus_mean_output(toy):
    x, bg = toy
    phi = exact_shapley(_toy_model, x, bg)
    assert np.allclose(phi.sum(1), _toy_model(x) - _toy_model(bg).mean())


def test_exact_shapley_equals_shap_exact_explainer_on_a_three_feature_model(toy):
    shap = pytest.importorskip("shap")
    x, bg = toy
    explainer = shap.explainers.Exact(_toy_model, shap.maskers.Independent(bg, max_samples=len(bg)))
    assert np.allclose(exact_shapley(_toy_model, x, bg), explainer(x).values, atol=1e-10)


def test_exact_shapley_of_one_example_is_a_vector(toy):
    x, bg = toy
    assert exact_shapley(_toy_model, x[0], bg).shape == (3,)


def test_exact_shapley_rejects_too_many_features():
    with pytest.raises(ExplanationError, match="2\\*\\*20 coalitions"):
        exact_shapley(lambda X: X.sum(1), np.zeros(20), np.zeros((2, 20)))


def test_exact_shapley_rejects_a_model_with_one_column_per_class(toy):
    x, bg = toy
    with pytest.raises(ExplanationError, match="one number per input row"):
        exact_shapley(lambda X: np.c_[X.sum(1), -X.sum(1)], x, bg)


def test_exact_shapley_rejects_background_with_other_features(toy):
    x, _ = toy
    with pytest.raises(ExplanationError, match="x has 3 features but the background has 2"):
        exact_shapley(_toy_model, x, np.zeros((5, 2)))


# ----------------------------------------------------------------- bad input


def test_require_predict_prefers_predict_proba():
    class Model:
        def predict(self, X):
            return "predict"

        def predict_proba(self, X):
            return "proba"

    assert require_predict(Model())(None) == "proba"


def test_require_predict_accepts_a_plain_function():
    assert require_predict(np.sum)([1, 2]) == 3


def test_require_predict_rejects_a_model_without_a_predict_function():
    class NotAModel:
        pass

    with pytest.raises(TypeError, match="NotAModel object has no predict_proba or predict method"):
        require_predict(NotAModel())


def test_feature_position_finds_a_feature_by_name():
    assert feature_position("sex", ["age", "sex"]) == 1


def test_feature_position_of_an_unknown_feature_lists_the_model_features():
    with pytest.raises(UnknownFeatureError, match="no feature 'gender'; its features are: age, sex"):
        feature_position("gender", ["age", "sex"])


def test_feature_position_of_an_index_out_of_range_is_an_error():
    with pytest.raises(UnknownFeatureError, match="out of range"):
        feature_position(5, ["age", "sex"])


def test_highlight_html_rejects_mismatched_weights():
    with pytest.raises(ExplanationError, match="2 words but 1 weights"):
        highlight_html(["good", "film"], [0.5])


# ----------------------------------------------------------------- randomisation check


def test_rank_correlation_of_a_map_with_itself_is_one():
    a = np.arange(10.0)
    assert rank_correlation(a, a**3) == pytest.approx(1.0)


def test_rank_correlation_of_a_constant_map_is_zero():
    assert rank_correlation(np.ones(5), np.arange(5.0)) == 0.0


def test_randomisation_similarity_ignores_sign_by_default():
    a = np.arange(1.0, 17.0).reshape(2, 8)
    assert randomisation_similarity(a, -a) == pytest.approx(1.0)


def test_randomisation_similarity_of_unrelated_maps_is_near_zero():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 28, 28)), rng.normal(size=(20, 28, 28))
    assert abs(randomisation_similarity(a, b)) < 0.05


def test_randomisation_similarity_with_a_mask_compares_only_masked_values():
    a = np.array([[1.0, 2.0, 3.0, 0.0, 0.0]])
    b = np.array([[3.0, 2.0, 1.0, 0.0, 0.0]])
    mask = np.array([[True, True, True, False, False]])
    assert randomisation_similarity(a, b, mask=mask) == pytest.approx(-1.0)


def test_randomisation_similarity_rejects_different_shapes():
    with pytest.raises(ExplanationError, match="differ in shape"):
        randomisation_similarity(np.zeros((2, 4)), np.zeros((3, 4)))
