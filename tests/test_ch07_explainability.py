"""Tests of chapter 07's own helpers (fmbook.chapters.ch07_explainability): Adult features, trainers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmbook.chapters.ch07_explainability import adult_features, train_adult_model, train_mnist_cnn
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
