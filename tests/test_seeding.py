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
