"""Chapter 02's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np


def test_conv_layer_without_bias_gets_the_bias_hint(hint_of):
    assert "biases" in hint_of("02.conv_layer", lambda h, w, c, f, k, stride=1: ((h - k + 1, w - k + 1, f), k * k * c * f))


def test_conv_layer_with_same_padding_gets_the_border_hint(hint_of):
    assert "border" in hint_of("02.conv_layer", lambda h, w, c, f, k, stride=1: ((h, w, f), (k * k * c + 1) * f))


def test_evaluate_in_training_mode_gets_the_eval_hint(hint_of):
    def no_eval(model, images, labels, batch_size=256):
        correct = 0
        for i in range(0, len(images), batch_size):
            correct += (model(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum().item()
        return correct / len(images)

    assert "model.eval" in hint_of("02.evaluate", no_eval)


def test_most_confident_mistakes_in_ascending_order_gets_the_order_hint(hint_of):
    def ascending(probs, labels, k=5):
        pred = probs.argmax(1)
        wrong = np.flatnonzero(pred != labels)
        return wrong[np.argsort(probs[wrong, pred[wrong]])][:k]

    assert "decreasing" in hint_of("02.most_confident_mistakes", ascending)


def test_most_confident_predictions_including_right_ones_get_a_specific_hint(hint_of):
    def all_predictions(probs, labels, k=5):
        return np.argsort(-probs.max(1))[:k]

    assert "right prediction" in hint_of("02.most_confident_mistakes", all_predictions)


def _dense(hidden: int = 16, softmax: bool = False):
    from torch import nn

    layers = [nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)]
    return nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else []))


def _one_epoch(model, images, labels):
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for batch in torch.randperm(len(images)).split(64):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
        optimizer.step()
    return model


def test_small_net_over_the_parameter_budget_gets_the_budget_hint(hint_of):
    # the MLP of Part 1, 101,770 parameters (untrained: the budget is checked first)
    assert "over the budget of 20,000" in hint_of("02.small_net", lambda images, labels: _dense(128))


def test_small_net_returning_something_else_than_a_module_gets_the_module_hint(hint_of):
    assert "torch.nn.Module, not a float" in hint_of("02.small_net", lambda images, labels: 0.1)


def test_small_net_with_the_wrong_output_shape_gets_the_shape_hint(hint_of):
    from torch import nn

    msg = hint_of("02.small_net", lambda images, labels: nn.Sequential(nn.Flatten(), nn.Linear(784, 2)))
    assert "(2000, 10)" in msg


def test_small_net_returned_untrained_gets_the_chance_level_hint(hint_of):
    assert "chance level" in hint_of("02.small_net", lambda images, labels: _dense())


def test_small_net_ending_in_softmax_gets_the_softmax_hint(hint_of):
    msg = hint_of("02.small_net", lambda images, labels: _one_epoch(_dense(softmax=True), images, labels))
    assert "softmax" in msg


def test_small_dense_network_gets_the_convolution_hint(hint_of):
    assert "Convolutions reuse" in hint_of("02.small_net", lambda images, labels: _one_epoch(_dense(), images, labels))


def test_small_net_checker_never_shows_the_held_out_digits_to_the_learner():
    from fmbook.chapters.ch02_cnn_mnist import EXERCISE_HELD_OUT, _small_net_data
    from fmbook.data import load_mnist

    (x_train, _), (x_held, _) = _small_net_data()
    (x, _), _ = load_mnist()
    assert len(x_held) == EXERCISE_HELD_OUT
    held = {bytes(im) for im in x[-EXERCISE_HELD_OUT:]}
    rest = {bytes(im) for im in x[:-EXERCISE_HELD_OUT]}
    given = [bytes(im) for im in (x_train[:, 0].numpy() * 255).round().astype(np.uint8)]
    assert all(im in rest for im in given)  # the comparison works: every given digit is found
    assert not any(im in held for im in given)


def test_every_profile_has_the_same_settings():
    from fmbook.chapters.ch02_cnn_mnist import SETTINGS

    assert SETTINGS["smoke"].keys() == SETTINGS["fast"].keys() == SETTINGS["full"].keys()
