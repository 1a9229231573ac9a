"""Reusable PyTorch models and a plain training loop.

The MNIST convnet lives here so that chapter 02 (which builds it), chapter 05
(which attacks it) and chapter 07 (which explains it) use the same network.
"""

from __future__ import annotations

import numpy as np


def _torch():
    import torch

    return torch


def make_mnist_cnn(*, batch_norm: bool = False, dropout: float = 0.0):
    """The seed's convnet for 28x28 digits, in PyTorch.

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


def count_parameters(model, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of a torch module."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


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


def predict_logits(model, x, *, batch_size: int = 1024, device=None) -> np.ndarray:
    """Logits of ``model`` for images ``x`` (numpy or tensor), in eval mode, as a numpy array."""
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
    logits = predict_logits(model, x, batch_size=batch_size, device=device)
    y = np.asarray(y)
    if len(y) != len(logits):
        raise ValueError(f"{len(logits)} images but {len(y)} labels")
    return float((logits.argmax(1) == y).mean())
