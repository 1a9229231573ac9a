"""Chapter 07's module: its own helpers (Adult features, trainers), and typical wrong answers to its
exercises getting their specific hints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmbook.chapters.ch07_explainability import ADULT_FEATURES, adult_features, train_adult_model, train_mnist_cnn
from fmbook.exercises import get
from fmbook.explain import ExplanationError, UnknownFeatureError


def test_adult_features_asked_for_a_missing_column_gives_a_clear_error():
    frame = pd.DataFrame({"age": [30], "income": [0]})
    with pytest.raises(UnknownFeatureError, match="no column 'salary'"):
        adult_features(frame, features=["age", "salary"])


def test_adult_features_codes_categories_as_numbers():
    frame = pd.DataFrame({"age": [30, 40], "sex": pd.Categorical(["Male", "Female"]), "income": [0, 1]})
    X, y, cats = adult_features(frame, features=["age", "sex"])
    assert X["sex"].tolist() == [1.0, 0.0] and cats["sex"] == ["Female", "Male", "?"] and y.tolist() == [0, 1]


def test_adult_features_gives_missing_values_their_own_last_code():
    frame = pd.DataFrame({"job": pd.Categorical(["a", None, "b"]), "income": [0, 1, 0]})
    X, _, cats = adult_features(frame, features=["job"])
    assert X["job"].tolist() == [0.0, 2.0, 1.0] and cats["job"][2] == "?"


def test_adult_features_leave_out_the_sampling_weight():
    assert "fnlwgt" not in ADULT_FEATURES and "education" not in ADULT_FEATURES


def test_train_adult_model_rejects_mismatched_labels():
    with pytest.raises(ExplanationError, match="3 rows but 2 labels"):
        train_adult_model(np.zeros((3, 2)), np.array([0, 1]))


@pytest.fixture
def small_adult():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.integers(20, 60, 300).astype(float), "job": rng.integers(0, 4, 300).astype(float)})
    y = ((X["age"] > 40) & (X["job"] == 2)).to_numpy(dtype="int64")
    return X, y


def test_train_adult_model_one_hot_encodes_the_categorical_columns(small_adult):
    X, y = small_adult
    model = train_adult_model(X, y, categorical=["job"], n_estimators=5)
    assert model.encode(X).shape == (300, 5) and model.groups.tolist() == [1, 1, 1, 1, 0]


def test_train_adult_model_rejects_an_unknown_categorical_column(small_adult):
    X, y = small_adult
    with pytest.raises(UnknownFeatureError, match="salary"):
        train_adult_model(X, y, categorical=["salary"])


def test_adult_model_summed_one_hot_shap_values_still_add_up_to_the_log_odds(small_adult):
    shap = pytest.importorskip("shap")
    X, y = small_adult
    model = train_adult_model(X, y, categorical=["job"], n_estimators=20)
    explainer = shap.TreeExplainer(model.trees, data=model.encode(X[:50]), feature_perturbation="interventional")
    sv = explainer(model.encode(X[:20]))
    per_feature = model.sum_by_feature(sv.values)
    assert per_feature.shape == (20, 2)
    assert np.allclose(per_feature.sum(1) + sv.base_values, model.decision_function(X[:20]), atol=1e-6)


def test_train_mnist_cnn_returns_a_model_in_eval_mode_and_one_loss_per_epoch():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(32, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=32)
    model, losses = train_mnist_cnn(x, y, epochs=2, batch_size=16, progress=False)
    assert not model.training and len(losses) == 2 and all(np.isfinite(losses))


def test_train_mnist_cnn_is_repeatable_from_its_seed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(32, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=32)
    a, _ = train_mnist_cnn(x, y, batch_size=16, seed=4, device=torch.device("cpu"), progress=False)
    b, _ = train_mnist_cnn(x, y, batch_size=16, seed=4, device=torch.device("cpu"), progress=False)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)



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
    from sklearn.linear_model import Ridge

    def unweighted(Z, y, distances, kernel_width=0.75, alpha=1.0):
        fit = Ridge(alpha=alpha).fit(Z, y)
        return fit.intercept_, fit.coef_

    assert "unweighted" in hint_of("07.lime_fit", unweighted)


def test_lime_fit_with_the_squared_kernel_gets_a_hint_about_the_square_root(hint_of):
    from sklearn.linear_model import Ridge

    def squared_kernel(Z, y, distances, kernel_width=0.75, alpha=1.0):
        fit = Ridge(alpha=alpha).fit(Z, y, sample_weight=np.exp(-np.asarray(distances) ** 2 / kernel_width**2))
        return fit.intercept_, fit.coef_

    assert "square root" in hint_of("07.lime_fit", squared_kernel)


def test_lime_fit_by_plain_weighted_least_squares_gets_a_hint_about_ridge(hint_of):
    from sklearn.linear_model import LinearRegression

    def least_squares(Z, y, distances, kernel_width=0.75, alpha=1.0):
        w = np.sqrt(np.exp(-np.asarray(distances) ** 2 / kernel_width**2))
        fit = LinearRegression().fit(Z, y, sample_weight=w)
        return fit.intercept_, fit.coef_

    assert "ridge" in hint_of("07.lime_fit", least_squares)


def test_fool_the_check_with_a_constant_explanation_gets_a_hint_about_the_randomisation_test(hint_of):
    assert "constant" in hint_of("07.fool_the_check", lambda predict, X: np.ones_like(X))


def test_fool_the_check_with_a_faithful_explanation_gets_a_hint_to_spoil_the_order(hint_of):
    def occlusion(predict, X):
        X = np.asarray(X, dtype=float)
        out = np.empty_like(X)
        for j in range(X.shape[1]):
            Z = X.copy()
            Z[:, j] = 0.0
            out[:, j] = predict(X) - predict(Z)
        return out

    assert "faithful" in hint_of("07.fool_the_check", occlusion)


def test_fool_the_check_with_the_input_as_explanation_gets_a_hint_to_call_the_model(hint_of):
    assert "predict" in hint_of("07.fool_the_check", lambda predict, X: np.asarray(X, dtype=float))


def test_topk_overlap_ranked_by_signed_value_gets_a_specific_hint(hint_of):
    def signed(a, b, k):
        return len(set(np.argsort(-np.asarray(a))[:k]) & set(np.argsort(-np.asarray(b))[:k])) / k

    assert "signed value" in hint_of("07.topk_overlap", signed)
