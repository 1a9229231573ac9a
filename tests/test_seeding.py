import random

import numpy as np
import pytest
import torch

from fmbook.seeding import seed_everything


def _draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_same_seed_gives_the_same_numbers():
    seed_everything(3)
    first = _draw()
    seed_everything(3)
    assert _draw() == first


def test_different_seeds_give_different_numbers():
    seed_everything(1)
    first = _draw()
    seed_everything(2)
    assert _draw() != first


def test_seeds_torch_by_default():
    assert "torch" in seed_everything(0)


def test_tensorflow_is_seeded_when_named():
    import tensorflow as tf

    seed_everything(5, frameworks=("tensorflow",))
    a = float(tf.random.uniform(()))
    seed_everything(5, frameworks=("tensorflow",))
    assert float(tf.random.uniform(())) == a


def test_negative_seed_is_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        seed_everything(-1)


def test_unknown_framework_is_rejected():
    with pytest.raises(ValueError, match="unknown framework"):
        seed_everything(0, frameworks=("jax",))


def _train_torch_once(seed):
    seed_everything(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


def test_two_seeded_torch_trainings_give_identical_weights():
    a, b = _train_torch_once(7), _train_torch_once(7)
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def _train_keras_once(seed):
    import keras

    seed_everything(seed, frameworks=("random", "numpy", "tensorflow"))
    x = np.random.rand(64, 4).astype("float32")
    y = np.random.rand(64, 1).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    return model.get_weights()


def test_two_seeded_keras_trainings_give_identical_weights():
    a, b = _train_keras_once(11), _train_keras_once(11)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
