"""The reference training loop for the book's small PyTorch classifiers.

Chapter 05 writes its training loop in the notebook (it is the lesson); the tested
reference loops built on :func:`fit` are :func:`fmbook.robust.adversarial_training`
(adversarial training, with a ``make_input`` hook that turns each clean batch into
adversarial examples) and chapter 07's small convnet trainer.

:func:`fit` draws the batch order of every epoch from one ``torch.Generator``
seeded with ``seed`` and passes the same generator to ``make_input``, so a run is
repeatable from its seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MakeInput = Callable[..., Any]
"""``make_input(model, x, y, progress, generator) -> x_train``: the training input of one batch.

``x``, ``y`` are the clean batch on the model's device; ``progress`` is the number of
epochs done after this batch (fractional: 0.5 half-way through the first epoch);
``generator`` is the loop's seeded ``torch.Generator``, for random starts."""


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def fit(model, x, y, *, epochs: int = 1, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
        make_input: MakeInput | None = None, one_cycle: bool = False, progress: bool = False,
        desc: str = "epoch") -> list[float]:
    """Train a classifier in place with Adam on the cross-entropy of its logits.

    Each epoch visits the examples in an order drawn with ``torch.randperm`` from a
    ``torch.Generator`` seeded with ``seed``, in batches of ``batch_size`` (the last
    one smaller). The model is put in training mode before each optimiser step
    (``make_input`` may switch it to evaluation mode) and in evaluation mode at the end.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to (batch, classes) logits. Its device is used for the data.
    x : numpy.ndarray or torch.Tensor
        Training images: uint8 digits (N, 28, 28), floats in [0, 1] (see
        :func:`fmbook.models.to_image_tensor`) or a float tensor.
    y : array-like or torch.Tensor
        Integer labels (N,).
    epochs : int, default 1
    batch_size : int, default 128
    lr : float, default 1e-3
        Adam's learning rate (its peak with ``one_cycle``).
    seed : int, default 0
        Seeds the batch order and the generator handed to ``make_input``.
    make_input : callable, optional
        ``make_input(model, x, y, progress, generator)`` returns the input to train
        on for the clean batch ``x`` (see :data:`MakeInput`); by default ``x`` itself.
    one_cycle : bool, default False
        A one-cycle learning rate (up to ``lr`` over the first 40% of the steps, then
        down to zero, linearly), as in Wong et al. 2020; otherwise constant.
    progress : bool, default False
        Show a tqdm bar per epoch with the running mean loss.
    desc : str, default "epoch"
        The bar's label.

    Returns
    -------
    list of float
        The mean training loss of each epoch.

    Raises
    ------
    ValueError
        For a non-positive ``epochs`` or ``batch_size``, no examples, or a number
        of labels other than the number of images.
    """
    import torch
    from tqdm.auto import tqdm

    from .models import image_label_tensors

    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    device = next(model.parameters()).device
    xt, yt = image_label_tensors(x, y, device)
    if len(xt) == 0:
        raise ValueError("fit got no training examples")
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_batches = math.ceil(len(xt) / batch_size)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * n_batches,
                                                 pct_start=0.4, anneal_strategy="linear")
             if one_cycle else None)
    history = []
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen).to(device)
        total, seen = 0.0, 0
        bar = tqdm(range(n_batches), desc=f"{desc} {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for b in bar:
            idx = order[b * batch_size:(b + 1) * batch_size]
            xb, yb = xt[idx], yt[idx]
            if make_input is not None:
                xb = make_input(model, xb, yb, epoch + (b + 1) / n_batches, gen)
            model.train()
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        history.append(total / len(xt))
    model.eval()
    return history


__all__ = ["MakeInput", "fit"]
