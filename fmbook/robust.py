"""Adversarial attacks and adversarial training: tested reference implementations.

Chapter 05 has the learner write FGSM and PGD by hand; the notebook's versions are
cross-checked against the functions here (and against the Adversarial Robustness
Toolbox when it is installed). The evaluation helpers here are also what the tests
hold to their invariants:

* every adversarial image stays inside the L-infinity ball of radius ``eps`` around
  the clean image and inside the pixel range [0, 1];
* with a seeded ``torch.Generator`` an attack with a random start is repeatable;
* on a fixed model, PGD is at least as strong as FGSM.

All functions take images as float tensors of shape (N, C, H, W) with values in
[0, 1] and labels as integer tensors of shape (N,). They leave the model's
parameters and its train/eval mode as they found them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .models import image_label_tensors
from .training import _positive_int, fit

Attack = Callable[..., Any]
"""An attack: ``attack(model, x, y) -> x_adv`` (keyword arguments bound beforehand)."""


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------- validation


def check_epsilon(eps: float, *, name: str = "eps") -> float:
    """Return ``eps`` as a float after checking it is an L-infinity radius for [0, 1] pixels.

    Raises
    ------
    ValueError
        If ``eps`` is not a finite number in [0, 1].
    """
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {eps!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] for pixels in [0, 1], got {eps!r} "
            f"(on a 0..255 scale, divide by 255: 0.3 is about 76/255)")
    return value


def check_batch(x, y=None) -> None:
    """Check that ``x`` is a batch of images in [0, 1] and ``y`` its integer labels.

    Parameters
    ----------
    x : torch.Tensor
        Float images, shape (N, C, H, W), values in [0, 1].
    y : torch.Tensor, optional
        Integer labels, shape (N,).

    Raises
    ------
    TypeError
        If ``x`` or ``y`` is not a tensor, or has the wrong dtype.
    ValueError
        For wrong shapes, mismatched lengths or pixels outside [0, 1].
    """
    torch = _torch()
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of images, got {type(x).__name__}; "
                        "use fmbook.models.to_image_tensor for NumPy arrays")
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor in [0, 1], got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError("pixels of x must lie in [0, 1]; divide uint8 pixels by 255")
    if y is None:
        return
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor of labels, got {type(y).__name__}")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must have shape ({len(x)},) to match x, got {tuple(y.shape)}")


class _EvalMode:
    """Context manager: model in eval mode, parameters frozen, both restored afterwards."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.flags = [p.requires_grad for p in self.model.parameters()]
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        return self.model

    def __exit__(self, *exc):
        for p, flag in zip(self.model.parameters(), self.flags):
            p.requires_grad_(flag)
        self.model.train(self.was_training)
        return False


# --------------------------------------------------------------------------- attacks


def project_linf(x_adv, x, eps: float):
    """Project ``x_adv`` onto the L-infinity ball of radius ``eps`` around ``x``, then onto [0, 1].

    Parameters
    ----------
    x_adv, x : torch.Tensor
        Same shape.
    eps : float
        The radius, in [0, 1].

    Returns
    -------
    torch.Tensor
        ``clamp(clamp(x_adv, x - eps, x + eps), 0, 1)``; since ``x`` is in [0, 1]
        the result is in both sets.
    """
    torch = _torch()
    eps = check_epsilon(eps)
    if x_adv.shape != x.shape:
        raise ValueError(f"x_adv has shape {tuple(x_adv.shape)} but x has {tuple(x.shape)}")
    return torch.clamp(torch.minimum(torch.maximum(x_adv, x - eps), x + eps), 0.0, 1.0)


def input_gradient(model, x, y):
    """Per-example cross-entropy losses and the gradient of their sum with respect to ``x``.

    Returns
    -------
    losses : torch.Tensor, shape (N,)
    grad : torch.Tensor, shape of ``x``
    """
    torch = _torch()
    x = x.detach().clone().requires_grad_(True)
    losses = torch.nn.functional.cross_entropy(model(x), y, reduction="none")
    (grad,) = torch.autograd.grad(losses.sum(), x)
    return losses.detach(), grad.detach()


def fgsm(model, x, y, eps: float):
    """Fast gradient sign method (Goodfellow et al. 2015), untargeted, L-infinity.

    ``x_adv = clip(x + eps * sign(grad_x loss(model(x), y)), 0, 1)``.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits.
    x : torch.Tensor
        Images (N, C, H, W) in [0, 1].
    y : torch.Tensor
        True labels (N,).
    eps : float
        L-infinity budget in [0, 1].

    Returns
    -------
    torch.Tensor
        Adversarial images, detached, same shape as ``x``.
    """
    eps = check_epsilon(eps)
    check_batch(x, y)
    with _EvalMode(model):
        _, grad = input_gradient(model, x, y)
    return project_linf(x + eps * grad.sign(), x, eps).detach()


def pgd(model, x, y, eps: float, *, alpha: float | None = None, steps: int = 10,
        random_start: bool = True, restarts: int = 1, generator=None,
        return_losses: bool = False):
    """Projected gradient descent under an L-infinity bound (Madry et al. 2018).

    Each step: ``x <- project(x + alpha * sign(grad))``. With ``restarts > 1``
    (which needs ``random_start``) each example keeps its worst case over the
    restarts: a misclassified example beats a correctly classified one, then the
    higher loss wins. Examples already misclassified are not attacked again by
    later restarts (the result is the same, the work is less). The noise for each
    restart is drawn for the whole batch, so a seeded generator gives the same
    starts whatever earlier restarts achieved.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits.
    x, y : torch.Tensor
        Images (N, C, H, W) in [0, 1] and labels (N,).
    eps : float
        L-infinity budget in [0, 1].
    alpha : float, optional
        Step size; defaults to ``2.5 * eps / steps`` (Madry et al.'s choice).
    steps : int, default 10
        Gradient steps per restart.
    random_start : bool, default True
        Start from a uniform random point of the eps-ball.
    restarts : int, default 1
        Independent random starts.
    generator : torch.Generator, optional
        Random source of the starts, for repeatable attacks.
    return_losses : bool, default False
        Also return the mean loss before the first step and after each step,
        an array of shape (restarts, steps + 1) (for later restarts, over the
        examples they attack).

    Returns
    -------
    torch.Tensor or (torch.Tensor, numpy.ndarray)
        The adversarial images (and the loss history).
    """
    torch = _torch()
    eps = check_epsilon(eps)
    steps = _positive_int(steps, "steps")
    restarts = _positive_int(restarts, "restarts")
    alpha = 2.5 * eps / steps if alpha is None else check_epsilon(alpha, name="alpha")
    if restarts > 1 and not random_start:
        raise ValueError("restarts > 1 only makes sense with random_start=True "
                         "(without it every restart is the same deterministic attack)")
    check_batch(x, y)
    x = x.detach()
    history = np.zeros((restarts, steps + 1))
    best = x.clone()
    best_loss = torch.full((len(x),), -float("inf"), device=x.device)
    best_wrong = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    with _EvalMode(model):
        for r in range(restarts):
            # later restarts only attack the examples no earlier restart has fooled
            todo = torch.arange(len(x), device=x.device) if r == 0 else (~best_wrong).nonzero().flatten()
            if len(todo) == 0:
                history[r] = history[r - 1, -1]
                continue
            xs, ys = x[todo], y[todo]
            if random_start:
                noise = torch.rand(x.shape, generator=generator, dtype=x.dtype,
                                   device=generator.device if generator is not None else x.device)
                x_adv = project_linf(xs + (2 * noise.to(x.device)[todo] - 1) * eps, xs, eps)
            else:
                x_adv = xs.clone()
            for t in range(steps):
                losses, grad = input_gradient(model, x_adv, ys)
                history[r, t] = float(losses.mean())
                x_adv = project_linf(x_adv + alpha * grad.sign(), xs, eps)
            with torch.no_grad():
                logits = model(x_adv)
                losses = torch.nn.functional.cross_entropy(logits, ys, reduction="none")
                wrong = logits.argmax(1) != ys
            history[r, steps] = float(losses.mean())
            better = (wrong & ~best_wrong[todo]) | ((wrong == best_wrong[todo]) & (losses > best_loss[todo]))
            chosen = todo[better]
            best[chosen] = x_adv[better]
            best_loss[chosen] = losses[better]
            best_wrong[chosen] = best_wrong[chosen] | wrong[better]
    best = best.detach()
    return (best, history) if return_losses else best


# --------------------------------------------------------------------------- evaluation


def robust_accuracy(model, x, y, attack: Attack | None = None, *, batch_size: int = 500,
                    device=None, **attack_kwargs) -> float:
    """Accuracy of ``model`` on ``attack(model, x, y, **attack_kwargs)``, batch by batch.

    Parameters
    ----------
    model : torch.nn.Module
    x, y : array or tensor
        Images (uint8 or floats in [0, 1]) and labels.
    attack : callable, optional
        ``attack(model, x_batch, y_batch, **attack_kwargs) -> x_adv``; ``None``
        gives the clean accuracy.
    batch_size : int, default 500
    device : torch.device, optional
        Defaults to the model's device.

    Returns
    -------
    float
        Fraction of examples still classified correctly.

    Raises
    ------
    ValueError
        If an attack returns a batch that leaves the eps-ball (when ``eps`` is
        among ``attack_kwargs``) or the pixel range.
    """
    torch = _torch()
    batch_size = _positive_int(batch_size, "batch_size")
    device = device or next(model.parameters()).device
    xt, yt = image_label_tensors(x, y, device)
    check_batch(xt, yt)
    correct = 0
    for i in range(0, len(xt), batch_size):
        xb, yb = xt[i:i + batch_size], yt[i:i + batch_size]
        if attack is not None:
            xa = attack(model, xb, yb, **attack_kwargs)
            if "eps" in attack_kwargs:
                gap = float((xa - xb).abs().max()) if len(xb) else 0.0
                if gap > float(attack_kwargs["eps"]) + 1e-5:
                    raise ValueError(f"the attack left the eps-ball: max |x_adv - x| = {gap:.4f} "
                                     f"> eps = {attack_kwargs['eps']}")
            if len(xa) and (float(xa.min()) < 0 or float(xa.max()) > 1):
                raise ValueError("the attack left the pixel range [0, 1]")
            xb = xa
        with _EvalMode(model), torch.no_grad():
            correct += int((model(xb).argmax(1) == yb).sum())
    return correct / max(len(xt), 1)


# --------------------------------------------------------------------------- training

TRAINING_METHODS: tuple[str, ...] = ("standard", "fgsm", "fgsm_rs", "pgd")


def adversarial_example_for_training(model, x, y, method: str, eps: float, *, alpha: float | None = None,
                                     steps: int = 7, generator=None):
    """The training input of one batch for each method of :data:`TRAINING_METHODS`.

    ``standard``: ``x`` itself. ``fgsm``: FGSM from ``x`` with step ``alpha``
    (default ``eps``). ``fgsm_rs``: FGSM from a uniform random point of the
    eps-ball with step ``alpha`` (default ``1.25 * eps``), projected (Wong et al.
    2020). ``pgd``: PGD with random start, ``steps`` steps of ``alpha`` (default
    ``2.5 * eps / steps``).
    """
    torch = _torch()
    if method not in TRAINING_METHODS:
        raise ValueError(f"unknown training method {method!r}: choose one of {', '.join(TRAINING_METHODS)}")
    eps = check_epsilon(eps)
    if method == "standard" or eps == 0:
        return x
    if method == "pgd":
        return pgd(model, x, y, eps, alpha=alpha, steps=steps, random_start=True, generator=generator)
    if method == "fgsm":
        step = eps if alpha is None else check_epsilon(alpha, name="alpha")
        start = x
    else:
        step = 1.25 * eps if alpha is None else check_epsilon(alpha, name="alpha")
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype,
                           device=generator.device if generator is not None else x.device)
        start = project_linf(x + (2 * noise.to(x.device) - 1) * eps, x, eps)
    with _EvalMode(model):
        _, grad = input_gradient(model, start, y)
    return project_linf(start + step * grad.sign(), x, eps).detach()


def adversarial_training(model, x, y, *, method: str = "fgsm_rs", eps: float = 0.3,
                         epochs: int = 1, batch_size: int = 128, lr: float = 1e-3,
                         alpha: float | None = None, steps: int = 7, ramp_epochs: float = 0.0,
                         cyclic: bool = False, seed: int = 0, progress: bool = False) -> list[float]:
    """Train ``model`` in place on adversarial examples: :func:`fmbook.training.fit` with an attack as its input.

    Parameters
    ----------
    model : torch.nn.Module
    x, y : array or tensor
        Training images and labels.
    method : {"standard", "fgsm", "fgsm_rs", "pgd"}
        How the training input of each batch is made
        (see :func:`adversarial_example_for_training`).
    eps : float, default 0.3
        The training budget.
    epochs : int, default 1
    batch_size : int, default 128
    lr : float, default 1e-3
        Adam's learning rate.
    alpha, steps
        Attack step size and (PGD) number of steps.
    ramp_epochs : float, default 0
        Grow the budget linearly from 0 to ``eps`` over this many epochs.
    cyclic : bool, default False
        A one-cycle learning rate (up to ``lr`` over the first 40% of the steps,
        then down to zero), as in Wong et al. 2020; otherwise constant.
    seed : int, default 0
        Seeds the batch order and the random starts.
    progress : bool, default False
        Show a tqdm progress bar.

    Returns
    -------
    list of float
        The mean training loss of each epoch.
    """
    eps = check_epsilon(eps)
    if method not in TRAINING_METHODS:
        raise ValueError(f"unknown training method {method!r}: choose one of {', '.join(TRAINING_METHODS)}")
    xt, yt = image_label_tensors(x, y, next(model.parameters()).device)
    check_batch(xt, yt)

    def make_input(model, xb, yb, done: float, generator):
        eps_now = eps * min(1.0, done / ramp_epochs) if ramp_epochs > 0 else eps
        return adversarial_example_for_training(
            model, xb, yb, method, eps_now, alpha=None if alpha is None or eps == 0 else alpha * eps_now / eps,
            steps=steps, generator=generator)

    return fit(model, xt, yt, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, make_input=make_input,
               one_cycle=cyclic, progress=progress, desc=method)


__all__ = [
    "check_epsilon", "check_batch", "project_linf", "input_gradient", "fgsm", "pgd",
    "robust_accuracy", "TRAINING_METHODS", "adversarial_example_for_training", "adversarial_training",
]
