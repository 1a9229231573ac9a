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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


LOSSES: tuple[str, ...] = ("ce", "margin", "dlr")
"""The attack objectives :func:`pgd` can climb: cross-entropy, the Carlini-Wagner margin, the DLR loss."""


def margin_loss(logits, y):
    """Carlini and Wagner's margin, per example: the best wrong logit minus the true one.

    Positive exactly when the example is misclassified. Unlike the cross-entropy it does
    not saturate when the softmax is confident, so it still has a useful gradient where
    the cross-entropy's has vanished (one sign of gradient masking).

    Parameters
    ----------
    logits : torch.Tensor, shape (N, K)
    y : torch.Tensor, shape (N,)

    Returns
    -------
    torch.Tensor, shape (N,)
    """
    torch = _torch()
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.masked_fill(torch.nn.functional.one_hot(y, logits.shape[1]).bool(), -float("inf"))
    return others.max(1).values - true


def dlr_loss(logits, y):
    """Croce and Hein's difference-of-logits-ratio loss, per example (untargeted, K >= 3).

    ``-(z_y - max_{j != y} z_j) / (z_(1) - z_(3) + 1e-12)``, with ``z_(i)`` the i-th largest
    logit: the margin divided by a spread of the logits, so that it does not change when
    every logit is scaled (a model cannot hide behind large logits).
    """
    if logits.shape[1] < 3:
        raise ValueError(f"the DLR loss needs at least 3 classes, got {logits.shape[1]}")
    top = logits.sort(1, descending=True).values
    return margin_loss(logits, y) / (top[:, 0] - top[:, 2] + 1e-12)


def attack_loss(logits, y, loss: str = "ce"):
    """Per-example attack objective ``loss`` (one of :data:`LOSSES`); higher is better for the attacker."""
    torch = _torch()
    if loss == "ce":
        return torch.nn.functional.cross_entropy(logits, y, reduction="none")
    if loss == "margin":
        return margin_loss(logits, y)
    if loss == "dlr":
        return dlr_loss(logits, y)
    raise ValueError(f"unknown attack loss {loss!r}: choose one of {', '.join(LOSSES)}")


def input_gradient(model, x, y, loss: str = "ce"):
    """Per-example attack losses and the gradient of their sum with respect to ``x``.

    Parameters
    ----------
    loss : {"ce", "margin", "dlr"}, default "ce"
        The objective (:func:`attack_loss`).

    Returns
    -------
    losses : torch.Tensor, shape (N,)
    grad : torch.Tensor, shape of ``x``
    """
    torch = _torch()
    x = x.detach().clone().requires_grad_(True)
    losses = attack_loss(model(x), y, loss)
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
        return_losses: bool = False, loss: str = "ce"):
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
    loss : {"ce", "margin", "dlr"}, default "ce"
        The objective the attack climbs (:func:`attack_loss`).
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
    if loss not in LOSSES:
        raise ValueError(f"unknown attack loss {loss!r}: choose one of {', '.join(LOSSES)}")
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
                losses, grad = input_gradient(model, x_adv, ys, loss)
                history[r, t] = float(losses.mean())
                x_adv = project_linf(x_adv + alpha * grad.sign(), xs, eps)
            with torch.no_grad():
                logits = model(x_adv)
                losses = attack_loss(logits, ys, loss)
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


# --------------------------------------------------------------------------- gradient-masking audit


def square_attack(model, x, y, eps: float, *, max_iter: int = 300, p_init: float = 0.8,
                  seed: int = 0, batch_size: int = 500):
    """The Square attack (Andriushchenko et al. 2020), L-infinity, from the Adversarial Robustness Toolbox.

    A score-based attack: it only queries the model's outputs, never its gradients,
    so a model whose gradients are masked (zero, random or wrong) does not stop it.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits.
    x, y : torch.Tensor
        Images (N, C, H, W) in [0, 1] and labels (N,).
    eps : float
        L-infinity budget in [0, 1].
    max_iter : int, default 300
        Queries per example (at most).
    p_init : float, default 0.8
        Initial fraction of pixels changed per square.
    seed : int, default 0
        Seeds the attack's random squares (NumPy's global generator, restored afterwards).
    batch_size : int, default 500

    Returns
    -------
    torch.Tensor
        Adversarial images on ``x``'s device.

    Raises
    ------
    ModuleNotFoundError
        If ``adversarial-robustness-toolbox`` is not installed.
    """
    torch = _torch()
    eps = check_epsilon(eps)
    max_iter = _positive_int(max_iter, "max_iter")
    check_batch(x, y)
    try:
        from art.attacks.evasion import SquareAttack
        from art.estimators.classification import PyTorchClassifier
    except ModuleNotFoundError as exc:  # pragma: no cover - the pinned environment has ART
        raise ModuleNotFoundError("the Square attack needs adversarial-robustness-toolbox: "
                                  "pip install the version pinned in requirements-lock.txt") from exc
    device = x.device
    with _EvalMode(model):
        clf = PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                                nb_classes=int(model(x[:1]).shape[1]), clip_values=(0.0, 1.0),
                                device_type="gpu" if device.type == "cuda" else "cpu")
        attack = SquareAttack(clf, norm=np.inf, eps=eps, max_iter=max_iter, p_init=p_init, nb_restarts=1,
                              batch_size=batch_size, verbose=False)
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            x_adv = attack.generate(x.detach().cpu().numpy(), y=y.detach().cpu().numpy())
        finally:
            np.random.set_state(state)
    x_adv = torch.from_numpy(x_adv).to(device=device, dtype=x.dtype)
    return project_linf(x_adv, x, eps)   # ART works in float32: undo rounding beyond the ball


@dataclass
class MaskingAudit:
    """The numbers of :func:`masking_audit` and the conditions the model failed.

    Accuracies are fractions of the audited examples still classified correctly.
    ``white_box`` is the per-example worst case of cross-entropy and margin PGD;
    ``gradient_free`` and ``white_box_on_subset`` are on the first ``n_gradient_free``
    examples; ``sweep`` maps each eps to the accuracy under cross-entropy PGD.
    """

    eps: float
    n: int
    clean: float
    pgd_ce: float
    pgd_margin: float
    white_box: float
    sweep: dict[float, float]
    transfer: float | None = None
    gradient_free: float | None = None
    white_box_on_subset: float | None = None
    n_gradient_free: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no condition failed."""
        return not self.failed

    def summary(self) -> dict[str, float | None]:
        """The headline numbers as a flat dict (for a table row)."""
        return {"clean": self.clean, f"PGD (CE) eps={self.eps:g}": self.pgd_ce,
                f"PGD (margin) eps={self.eps:g}": self.pgd_margin, "white box (worst of both)": self.white_box,
                "transfer": self.transfer, "gradient-free (subset)": self.gradient_free,
                "white box (same subset)": self.white_box_on_subset,
                **{f"PGD eps={e:g}": a for e, a in self.sweep.items()}}


def _correct(model, x, y, batch_size: int = 500):
    torch = _torch()
    out = []
    with _EvalMode(model), torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size])
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool, device=x.device)


def masking_audit(model, x, y, eps: float, *, sweep_eps: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
                  steps: int = 40, restarts: int = 1, alpha: float | None = None, source_model=None,
                  n_gradient_free: int = 100, square_iter: int = 300, tol: float = 0.05,
                  margin_tol: float | None = None,
                  max_acc_at_large_eps: float = 0.1, large_eps: float = 0.5, seed: int = 0,
                  batch_size: int = 500) -> MaskingAudit:
    """Audit a model's robust accuracy for signs of gradient masking (Carlini et al. 2019).

    A gradient-based attack that fails only because the model's gradients are useless
    (zero, noisy, saturated) makes a model look robust when it is not. The audit runs
    attacks that do not rely on those gradients beside PGD, and fails the model when:

    * ``large eps``: PGD leaves more than ``max_acc_at_large_eps`` accuracy at some
      eps >= ``large_eps`` of the sweep (at eps = 0.5 every MNIST digit can be turned into
      the same grey image, so an attack that works must reach about 0);
    * ``monotone``: accuracy under PGD rises by more than ``tol`` as eps grows along the sweep;
    * ``margin``: margin-loss PGD beats cross-entropy PGD by more than ``margin_tol``
      (saturated cross-entropy gradients);
    * ``transfer``: PGD images made on ``source_model`` (given) beat white-box PGD on
      this model by more than ``tol``;
    * ``gradient-free``: the Square attack (:func:`square_attack`, on the first
      ``n_gradient_free`` examples) beats white-box PGD on the same examples by more
      than ``tol``.

    "Beats" compares accuracies: a lower accuracy is a stronger attack. The white-box
    accuracy is the per-example worst case of cross-entropy and margin PGD.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits; audited in eval mode.
    x, y : torch.Tensor
        Images (N, C, H, W) in [0, 1] and labels (N,): held-out data.
    eps : float
        The budget the robustness claim is made at.
    sweep_eps : sequence of float
        Budgets of the accuracy-versus-eps sweep (should reach ``large_eps``).
    steps, restarts, alpha
        PGD's steps, random restarts and step size (default ``2.5 * eps / steps``).
    source_model : torch.nn.Module, optional
        A separately trained model for the transfer attack (e.g. the standard model).
    n_gradient_free : int, default 100
        Examples for the Square attack; 0 skips it.
    square_iter : int, default 300
        Queries of the Square attack per example.
    tol : float, default 0.05
        How much one attack may beat another before the audit fails.
    margin_tol : float, optional
        The same for margin-loss against cross-entropy PGD (default ``tol``).
    max_acc_at_large_eps : float, default 0.1
    large_eps : float, default 0.5
    seed : int, default 0
        Seeds the random starts and the Square attack.
    batch_size : int, default 500

    Returns
    -------
    MaskingAudit
        The numbers and ``failed``, the conditions that failed (empty when it passed).
    """
    torch = _torch()
    eps = check_epsilon(eps)
    check_batch(x, y)
    if len(x) == 0:
        raise ValueError("masking_audit needs at least one example")
    sweep_eps = sorted({check_epsilon(e, name="sweep_eps") for e in sweep_eps})
    if not sweep_eps or max(sweep_eps) < large_eps:
        raise ValueError(f"sweep_eps must reach large_eps = {large_eps} (the budget where accuracy must be "
                         f"about 0), got {sweep_eps}")
    n_gradient_free = min(int(n_gradient_free), len(x))

    def attack(m, e, loss, k):
        gen = torch.Generator().manual_seed(seed + k)
        a = None if alpha is None else alpha * e / eps
        return torch.cat([pgd(m, x[i:i + batch_size], y[i:i + batch_size], e, alpha=a, steps=steps,
                              restarts=restarts, generator=gen, loss=loss) for i in range(0, len(x), batch_size)])

    clean = _correct(model, x, y, batch_size)
    ok_ce = _correct(model, attack(model, eps, "ce", 0), y, batch_size) & clean
    ok_margin = _correct(model, attack(model, eps, "margin", 1), y, batch_size) & clean
    ok_white = ok_ce & ok_margin
    sweep = {e: float(ok_ce.float().mean()) if e == eps else   # the budget of the claim: already attacked
             float((_correct(model, attack(model, e, "ce", 2 + k), y, batch_size) & clean).float().mean())
             for k, e in enumerate(sweep_eps)}
    result = MaskingAudit(eps=eps, n=len(x), clean=float(clean.float().mean()), pgd_ce=float(ok_ce.float().mean()),
                          pgd_margin=float(ok_margin.float().mean()), white_box=float(ok_white.float().mean()),
                          sweep=sweep)
    failed = result.failed
    big = {e: a for e, a in sweep.items() if e >= large_eps}
    if max(big.values()) > max_acc_at_large_eps:
        failed.append(f"large eps: PGD leaves {max(big.values()):.3f} accuracy at eps = "
                      f"{max(big, key=big.get):g} (must be <= {max_acc_at_large_eps:g}): the attack does not work")
    for (e0, a0), (e1, a1) in zip(list(sweep.items()), list(sweep.items())[1:]):
        if a1 > a0 + tol:
            failed.append(f"monotone: accuracy rose from {a0:.3f} at eps = {e0:g} to {a1:.3f} at eps = {e1:g}")
    margin_tol = tol if margin_tol is None else float(margin_tol)
    if result.pgd_margin < result.pgd_ce - margin_tol:
        failed.append(f"margin: margin-loss PGD ({result.pgd_margin:.3f}) beats cross-entropy PGD "
                      f"({result.pgd_ce:.3f}) by more than {margin_tol:g}")
    if source_model is not None:
        x_transfer = attack(source_model, eps, "ce", 100)
        result.transfer = float((_correct(model, x_transfer, y, batch_size) & clean).float().mean())
        if result.transfer < result.white_box - tol:
            failed.append(f"transfer: PGD images of another model ({result.transfer:.3f}) beat white-box PGD "
                          f"({result.white_box:.3f}) by more than {tol:g}")
    if n_gradient_free > 0:
        xs, ys = x[:n_gradient_free], y[:n_gradient_free]
        x_sq = square_attack(model, xs, ys, eps, max_iter=square_iter, seed=seed, batch_size=batch_size)
        ok_sq = _correct(model, x_sq, ys, batch_size) & clean[:n_gradient_free]
        result.gradient_free = float(ok_sq.float().mean())
        result.white_box_on_subset = float(ok_white[:n_gradient_free].float().mean())
        result.n_gradient_free = n_gradient_free
        if result.gradient_free < result.white_box_on_subset - tol:
            failed.append(f"gradient-free: the Square attack ({result.gradient_free:.3f}) beats white-box PGD "
                          f"({result.white_box_on_subset:.3f}) on the same {n_gradient_free} examples by more "
                          f"than {tol:g}")
    return result


__all__ = [
    "check_epsilon", "check_batch", "project_linf", "input_gradient", "fgsm", "pgd",
    "robust_accuracy", "TRAINING_METHODS", "LOSSES", "margin_loss", "dlr_loss", "attack_loss",
    "square_attack", "MaskingAudit", "masking_audit", "adversarial_example_for_training", "adversarial_training",
]
