"""Chapter 02's exercises: each worked solution passes, a stub is 'not attempted', typical bugs get a hint."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.exercises import Hint, check, get

IDS = ["02.conv_layer", "02.evaluate", "02.most_confident_mistakes"]


@pytest.mark.parametrize("ex_id", IDS)
def test_worked_solution_passes(ex_id):
    assert check(ex_id, get(ex_id).solution, quiet=True)


@pytest.mark.parametrize("ex_id", IDS)
def test_stub_is_not_attempted(ex_id):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert not check(ex_id, stub, quiet=True)


def test_conv_layer_without_bias_gets_bias_hint():
    with pytest.raises(Hint, match="biases"):
        get("02.conv_layer").checker(lambda h, w, c, f, k, stride=1: ((h - k + 1, w - k + 1, f), k * k * c * f))


def test_evaluate_in_training_mode_gets_eval_hint():
    def no_eval(model, images, labels, batch_size=256):
        correct = 0
        for i in range(0, len(images), batch_size):
            correct += (model(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum().item()
        return correct / len(images)

    with pytest.raises(Hint, match="model.eval"):
        get("02.evaluate").checker(no_eval)


def test_most_confident_mistakes_ascending_gets_order_hint():
    def ascending(probs, labels, k=5):
        pred = probs.argmax(1)
        wrong = np.flatnonzero(pred != labels)
        return wrong[np.argsort(probs[wrong, pred[wrong]])][:k]

    with pytest.raises(Hint, match="decreasing"):
        get("02.most_confident_mistakes").checker(ascending)
