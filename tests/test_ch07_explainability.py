"""Chapter 07's module: its own helpers (Adult features, trainers), and typical wrong answers to its
exercises getting their specific hints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmbook.chapters.ch07_explainability import adult_features, train_adult_model, train_mnist_cnn
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


def test_train_adult_model_rejects_mismatched_labels():
    with pytest.raises(ExplanationError, match="3 rows but 2 labels"):
        train_adult_model(np.zeros((3, 2)), np.array([0, 1]))


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
    def unweighted(Z, y, distances, kernel_width=0.75):
        beta = np.linalg.lstsq(np.c_[np.ones(len(Z)), Z], y, rcond=None)[0]
        return beta[0], beta[1:]

    assert "unweighted" in hint_of("07.lime_fit", unweighted)


def test_topk_overlap_ranked_by_signed_value_gets_a_specific_hint(hint_of):
    def signed(a, b, k):
        return len(set(np.argsort(-np.asarray(a))[:k]) & set(np.argsort(-np.asarray(b))[:k])) / k

    assert "signed value" in hint_of("07.topk_overlap", signed)
