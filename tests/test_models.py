"""Unit tests of the MNIST convnets (fmbook.models, PyTorch and Keras); the device choice is tested in test_device.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fmbook.models import accuracy, count_parameters, make_mnist_cnn, predict_image_logits, to_image_tensor


def test_mnist_cnn_outputs_ten_logits_per_image():
    model = make_mnist_cnn().eval()
    with torch.no_grad():
        out = model(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 10)


def test_mnist_cnn_has_121930_parameters():
    assert count_parameters(make_mnist_cnn()) == 121_930


def test_mnist_cnn_with_batch_norm_adds_its_scale_and_shift():
    assert count_parameters(make_mnist_cnn(batch_norm=True)) == 121_930 + 2 * (32 + 64)


def test_mnist_cnn_dropout_is_off_in_eval_mode():
    torch.manual_seed(0)
    model = make_mnist_cnn(dropout=0.5).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x))


def test_to_image_tensor_scales_uint8_and_adds_channel():
    t = to_image_tensor(np.full((2, 28, 28), 255, np.uint8))
    assert t.shape == (2, 1, 28, 28) and t.dtype == torch.float32 and float(t.max()) == 1.0


def test_to_image_tensor_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        to_image_tensor(np.zeros((2, 3, 28, 28), np.float32))


def test_to_image_tensor_rejects_wrong_dtype():
    with pytest.raises(ValueError, match="dtype"):
        to_image_tensor(np.zeros((2, 28, 28), np.int64))


def test_accuracy_rejects_label_count_mismatch():
    with pytest.raises(ValueError, match="labels"):
        accuracy(make_mnist_cnn(), np.zeros((3, 28, 28), np.uint8), np.zeros(2))


def test_predict_image_logits_shape_matches_images():
    assert predict_image_logits(make_mnist_cnn(), np.zeros((7, 28, 28), np.uint8), batch_size=3).shape == (7, 10)


def test_count_parameters_counts_every_parameter_by_default():
    model = make_mnist_cnn()
    for p in model[0].parameters():
        p.requires_grad = False
    assert count_parameters(model) == 121_930


def test_count_parameters_counts_only_trainable_when_asked():
    model = make_mnist_cnn()
    for p in model[0].parameters():
        p.requires_grad = False
    assert count_parameters(model, trainable_only=True) == 121_930 - (32 * 9 + 32)


def test_keras_baseline_cnn_is_the_torch_convnet_in_keras():
    pytest.importorskip("keras")
    from fmbook.models import keras_baseline_cnn

    assert keras_baseline_cnn().count_params() == count_parameters(make_mnist_cnn())


def test_keras_reference_cnn_has_the_keras_io_parameter_count():
    pytest.importorskip("keras")
    from fmbook.models import keras_reference_cnn

    assert keras_reference_cnn().count_params() == 34_826


def test_keras_cnn_rejects_a_dropout_of_one():
    pytest.importorskip("keras")
    from fmbook.models import keras_cnn

    with pytest.raises(ValueError, match="dropout"):
        keras_cnn(dropout=1.0)


def test_importing_models_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, fmbook.models; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"