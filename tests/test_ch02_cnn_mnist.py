"""Chapter 02's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

from pathlib import Path

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


def _train_briefly(net, images, labels, steps=20):
    import torch

    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for batch in torch.randperm(len(images))[:steps * 32].split(32):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images[batch]), labels[batch]).backward()
        optimizer.step()
    return net


def test_small_net_over_the_parameter_budget_gets_the_budget_hint(hint_of):
    from torch import nn

    def too_big(images, labels):  # the MLP of Part 1: 101,770 parameters
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

    assert "over the budget of 20,000" in hint_of("02.small_net", too_big)


def test_small_net_ending_in_softmax_gets_the_logits_hint(hint_of):
    from torch import nn

    def with_softmax(images, labels):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Softmax(dim=1))

    assert "logits" in hint_of("02.small_net", with_softmax)


def test_small_net_with_the_wrong_output_shape_gets_the_shape_hint(hint_of):
    from torch import nn

    assert "(5, 10)" in hint_of("02.small_net", lambda images, labels: nn.Sequential(nn.Flatten(), nn.Linear(784, 2)))


def test_small_net_returned_untrained_gets_the_training_hint(hint_of):
    from fmbook.chapters.ch02_cnn_mnist import _small_net

    def untrained(images, labels):  # the solution's network, trained on no digits at all
        return _small_net(images[:0], labels[:0])

    assert "not learned" in hint_of("02.small_net", untrained)


def test_small_net_trained_too_little_gets_the_under_target_hint(hint_of):
    from torch import nn

    def barely(images, labels):  # a few steps of a dense network: learned something, not enough
        return _train_briefly(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), images, labels, steps=3)

    assert "below 0.85" in hint_of("02.small_net", barely)


def test_small_net_held_out_digits_are_outside_the_chapter_split():
    from fmbook.chapters.ch02_cnn_mnist import SMALL_NET_HELD_OUT, _small_net_data

    images, labels, x_held, y_held = _small_net_data()
    assert len(x_held) == SMALL_NET_HELD_OUT and tuple(images.shape[1:]) == (1, 28, 28)
    source = (Path(__file__).resolve().parents[1] / "notebooks" / "02_cnn_mnist.py").read_text()
    assert "rng.permutation(n_pool)" in source and "len(x_train_all) - SMALL_NET_HELD_OUT" in source


def test_every_profile_has_the_same_settings():
    from fmbook.chapters.ch02_cnn_mnist import SETTINGS

    assert SETTINGS["smoke"].keys() == SETTINGS["fast"].keys() == SETTINGS["full"].keys()
