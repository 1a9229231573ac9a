"""The book's small image models, in PyTorch and in Keras side by side, and their plumbing.

The MNIST convnet lives here so that chapter 02 (which builds it), chapter 05
(which attacks it) and chapter 07 (which explains it) use the same network:

* :func:`make_mnist_cnn`: the baseline convnet in PyTorch;
* :func:`keras_cnn`, :func:`keras_baseline_cnn`: the same network in Keras (with
  optional batch norm, dropout and augmentation), and :func:`keras_reference_cnn`,
  the keras.io "simple MNIST convnet" that chapter 02's benchmark compares with;
* :func:`count_parameters`, :func:`to_image_tensor`, :func:`image_label_tensors`,
  :func:`predict_image_logits`, :func:`accuracy` for torch modules.

Keras and TensorFlow are imported inside the Keras builders only, so a PyTorch
chapter that imports this module never loads TensorFlow.
"""

from __future__ import annotations

import numpy as np


def _torch():
    import torch

    return torch


def make_mnist_cnn(*, batch_norm: bool = False, dropout: float = 0.0):
    """The baseline convnet for 28x28 digits, in PyTorch (:func:`keras_baseline_cnn` in Keras).

    Conv(32, 3x3) -> ReLU -> MaxPool(2) -> Conv(64, 3x3) -> ReLU -> MaxPool(2)
    -> Flatten -> Dense(64) -> ReLU -> Dense(10) logits (no softmax: use
    ``CrossEntropyLoss``, which expects logits).

    Parameters
    ----------
    batch_norm : bool, default False
        Add batch normalisation after each convolution.
    dropout : float, default 0.0
        Dropout before the last layer.

    Returns
    -------
    torch.nn.Sequential
        Input (N, 1, 28, 28) float in [0, 1]; output (N, 10) logits.
        121,930 parameters without batch norm (the keras.io reference, with no
        Dense(64) layer, has 34,826).
    """
    from torch import nn

    def block(cin, cout):
        layers = [nn.Conv2d(cin, cout, 3)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        return layers

    return nn.Sequential(
        *block(1, 32), *block(32, 64), nn.Flatten(),
        nn.Linear(64 * 5 * 5, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 10),
    )


# --------------------------------------------------------------------------- the same convnets in Keras


def keras_cnn(*, batch_norm: bool = False, dropout: float = 0.0, augment: bool = False,
              name: str | None = None):
    """The baseline convnet in Keras (:func:`make_mnist_cnn` in PyTorch), with optional improvements.

    Conv(32, 3x3) -> [BN] -> ReLU -> MaxPool -> Conv(64, 3x3) -> [BN] -> ReLU -> MaxPool
    -> Flatten -> [Dropout] -> Dense(64, ReLU) -> [Dropout] -> Dense(10) logits.

    Parameters
    ----------
    batch_norm : bool
        Batch normalisation after each convolution (the convolution then has no bias).
    dropout : float
        Dropout rate before each dense layer (0 for none).
    augment : bool
        Light augmentation while training only: random shifts of up to 2 pixels and
        rotations of up to about 10 degrees (inactive in ``predict``/``evaluate``).
    name : str, optional

    Returns
    -------
    keras.Sequential
        Input ``(N, 28, 28, 1)`` floats in [0, 1]; output ``(N, 10)`` logits: compile
        with ``SparseCategoricalCrossentropy(from_logits=True)``.
    """
    import keras
    from keras import layers

    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    stack: list = [keras.Input((28, 28, 1))]
    if augment:
        stack += [layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
                  layers.RandomRotation(10 / 360, fill_mode="constant")]
    for filters in (32, 64):
        stack.append(layers.Conv2D(filters, 3, use_bias=not batch_norm))
        if batch_norm:
            stack.append(layers.BatchNormalization(momentum=0.9))
        stack += [layers.ReLU(), layers.MaxPooling2D(2)]
    stack.append(layers.Flatten())
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(64, activation="relu"))
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(10))
    return keras.Sequential(stack, name=name or "cnn")


def keras_baseline_cnn(name: str = "baseline_cnn"):
    """The baseline convnet: Conv 32 -> pool -> Conv 64 -> pool -> Dense 64 -> 10 logits (121,930 parameters).

    The same network as :func:`make_mnist_cnn` (PyTorch), with no batch norm, dropout or augmentation.
    """
    return keras_cnn(name=name)


def keras_reference_cnn(name: str = "keras_io_reference"):
    """The keras.io "simple MNIST convnet" (fchollet): the benchmark's reference.

    Conv(32, 3x3, ReLU) -> MaxPool -> Conv(64, 3x3, ReLU) -> MaxPool -> Flatten ->
    Dropout(0.5) -> Dense(10, softmax): 34,826 parameters. It outputs
    *probabilities*: compile with ``from_logits=False`` (the keras.io default).
    """
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ], name=name)


def count_parameters(model, trainable_only: bool = False) -> int:
    """Number of parameters of a torch module.

    Parameters
    ----------
    model : torch.nn.Module
    trainable_only : bool, default False
        Count only the parameters with ``requires_grad`` (those an optimiser would
        train); by default every parameter. Buffers (batch-norm running statistics)
        are never counted.

    Returns
    -------
    int
    """
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def to_image_tensor(x: np.ndarray, device=None):
    """Convert uint8 digits (N, 28, 28) or floats in [0, 1] to a float tensor (N, 1, 28, 28).

    Raises
    ------
    ValueError
        For any other shape, or values outside [0, 1] for a float array.
    """
    torch = _torch()
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected images of shape (N, 28, 28) or (N, 1, 28, 28), got {x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif np.issubdtype(x.dtype, np.floating):
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError("float images must lie in [0, 1]; divide uint8 pixels by 255")
        x = x.astype(np.float32)
    else:
        raise ValueError(f"expected uint8 or float images, got dtype {x.dtype}")
    return torch.from_numpy(x).to(device) if device is not None else torch.from_numpy(x)


def image_label_tensors(x, y, device=None):
    """Images and labels as tensors on ``device``: float images (N, 1, 28, 28) in [0, 1], int64 labels (N,).

    ``x`` is passed through :func:`to_image_tensor` unless it is already a tensor.

    Raises
    ------
    ValueError
        When the number of labels differs from the number of images.
    """
    torch = _torch()
    xt = x if isinstance(x, torch.Tensor) else to_image_tensor(x)
    yt = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y), dtype=torch.long)
    if len(yt) != len(xt):
        raise ValueError(f"{len(xt)} images but {len(yt)} labels")
    if device is not None:
        xt, yt = xt.to(device), yt.to(device)
    return xt, yt.long()


def predict_image_logits(model, x, *, batch_size: int = 1024, device=None) -> np.ndarray:
    """Logits of an image classifier for images ``x``, in eval mode, without gradients.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (N, 1, 28, 28) float images to (N, classes) logits.
    x : numpy.ndarray or torch.Tensor
        Images as accepted by :func:`to_image_tensor`, or a float tensor (N, 1, H, W).
    batch_size : int, default 1024
    device : torch.device, optional
        Defaults to the model's device.

    Returns
    -------
    numpy.ndarray, float32, shape (N, classes)

    See Also
    --------
    fmbook.bert.predict_sequence_logits : the same for token-id sequences.
    """
    torch = _torch()
    device = device or next(model.parameters()).device
    xt = x if isinstance(x, torch.Tensor) else to_image_tensor(x)
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(xt), batch_size):
            outs.append(model(xt[i:i + batch_size].to(device)).float().cpu())
    return torch.cat(outs).numpy() if outs else np.zeros((0, 10), np.float32)


def accuracy(model, x, y, *, batch_size: int = 1024, device=None) -> float:
    """Fraction of ``x`` whose arg-max logit equals the label ``y``."""
    logits = predict_image_logits(model, x, batch_size=batch_size, device=device)
    y = np.asarray(y)
    if len(y) != len(logits):
        raise ValueError(f"{len(logits)} images but {len(y)} labels")
    return float((logits.argmax(1) == y).mean())
