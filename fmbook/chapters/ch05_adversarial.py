"""Chapter 05: adversarial examples.

The chapter's settings per profile (``SETTINGS``) and its exercises.

The checkers run the learner's function on small fixed inputs and name the common
mistakes: a missing sign, the wrong direction, a missing clip. FGSM is checked on a
linear model (behind dropout, seeded) against the closed-form gradient of its
cross-entropy, and again with the model left in training mode; the projection and
the PGD step are checked against the worked solutions, which
``tests/test_exercise_copies.py`` checks against :mod:`fmbook.robust`.
"""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
SETTINGS: dict[str, dict] = {
    # eps: the attack budget; epochs/lr: standard model; adv_*: fast FGSM training (with and
    # without random start; rs_alpha: its step as a multiple of eps); pgd_train_*: Madry PGD
    # training; ramp_fraction: eps grows from 0 over this fraction of each adversarial training;
    # curve_steps: PGD for the eps sweep and for the watch on n_val digits, done
    # watch_per_epoch times an epoch; eval_steps x eval_restarts with step alpha_eval: the
    # strong final attack. fast: measured on 2 CPU cores, FGSM+RS 3 epochs of 60,000 digits
    # take about 3 min and give about 0.7 under strong PGD (10,000 digits x 5 epochs gave 0.32).
    # full, measured on CPU with fmbook.robust.adversarial_training (1,000 test digits, PGD-100
    # x 3 restarts, step 0.01): PGD-10 training for 4 epochs gave 0.910 (clean 0.985), FGSM+RS
    # for 15 epochs 0.796 (clean 0.992); 8 PGD epochs are meant to keep the chapter
    # under 20 min on a T4 (an estimate: no GPU was available to time it).
    "smoke": {"n_train": 2000, "n_test": 200, "n_val": 100, "batch_size": 64, "eps": 0.2,
              "epochs": 2, "lr": 3e-3, "adv_epochs": 2, "adv_lr": 4e-3, "ramp_fraction": 0.25, "rs_alpha": 1.25,
              "pgd_train_epochs": 1, "pgd_train_steps": 3, "curve_steps": 10, "watch_per_epoch": 1,
              "eval_steps": 15, "eval_restarts": 2, "alpha_eval": 0.03},
    "fast": {"n_train": None, "n_test": 500, "n_val": 150, "batch_size": 128, "eps": 0.3,
             "epochs": 2, "lr": 3e-3, "adv_epochs": 3, "adv_lr": 4e-3, "ramp_fraction": 1 / 3, "rs_alpha": 1.25,
             "pgd_train_epochs": 1, "pgd_train_steps": 5, "curve_steps": 10, "watch_per_epoch": 3,
             "eval_steps": 30, "eval_restarts": 2, "alpha_eval": 0.02},
    "full": {"n_train": None, "n_test": None, "n_val": 1000, "batch_size": 128, "eps": 0.3,
             "epochs": 8, "lr": 3e-3, "adv_epochs": 15, "adv_lr": 5e-3, "ramp_fraction": 0.2, "rs_alpha": 1.25,
             "pgd_train_epochs": 8, "pgd_train_steps": 10, "curve_steps": 20, "watch_per_epoch": 1,
             "eval_steps": 100, "eval_restarts": 3, "alpha_eval": 0.01},
}


def _torch():
    import torch

    return torch


def _toy_problem():
    """A fixed linear model on 4x4 one-channel images (behind a dropout layer, so that training
    mode changes its gradients), 6 images (some pixels at 0 and 1) and labels."""
    torch = _torch()
    gen = torch.Generator().manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3))
    with torch.no_grad():
        model[2].weight.copy_(torch.randn(3, 16, generator=gen))
        model[2].bias.copy_(torch.randn(3, generator=gen))
    x = torch.rand(6, 1, 4, 4, generator=gen)
    x[0, 0, 0] = 0.0  # whole rows on the edges of the pixel range, so clipping matters
    x[1, 0, 0] = 1.0
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    return model.eval(), x, y


def _linear_input_gradient(model, x, y) -> np.ndarray:
    """The gradient of the cross-entropy of the toy model (in eval mode) with respect to x, in
    closed form: for logits z = W x + b, d loss / d x = W^T (softmax(z) - onehot(y)).

    Computed in float64 with NumPy, independently of autograd and of the worked solution."""
    W = model[2].weight.detach().double().numpy()
    b = model[2].bias.detach().double().numpy()
    flat = x.detach().double().numpy().reshape(len(x), -1)
    z = flat @ W.T + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    grad = (p - np.eye(W.shape[0])[y.numpy()]) @ W
    return grad.reshape(tuple(x.shape))


def _as_tensor(value, like, what: str):
    torch = _torch()
    if value is None:
        raise Hint(f"your function returned None: return the {what}")
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise Hint(f"return a torch.Tensor (the {what}), not {type(value).__name__}")
    if tuple(value.shape) != tuple(like.shape):
        raise Hint(f"the {what} must have the shape of x, {tuple(like.shape)}; yours is {tuple(value.shape)}")
    return value.detach().float()


def _fgsm(model, x, y, eps):
    import torch
    import torch.nn.functional as F

    model.eval()                             # dropout and batch norm as at test time
    x = x.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    x_adv = x + eps * x.grad.sign()          # one step of size eps, uphill in the loss
    return x_adv.clamp(0, 1).detach()        # stay a valid image


def _project(x_adv, x, eps):
    import torch

    x_adv = torch.max(torch.min(x_adv, x + eps), x - eps)   # back into the eps-ball around x
    return x_adv.clamp(0, 1)                                  # and into the pixel range


def _pgd_step(x_adv, x, grad, alpha, eps):
    import torch

    x_next = x_adv + alpha * grad.sign()                      # ascend the loss
    x_next = torch.max(torch.min(x_next, x + eps), x - eps)   # project onto the eps-ball
    return x_next.clamp(0, 1)                                 # and onto valid pixels


@exercise("05.fgsm", "the fast gradient sign method", solution=_fgsm,
          hints=("Put the model in eval mode (model.eval()), make x a leaf that requires grad, compute "
                 "the cross-entropy of model(x) with y, and backpropagate to get x.grad.",
                 "x_adv = x + eps * x.grad.sign(), then clamp to [0, 1] and detach."))
def _check_fgsm(fn) -> None:
    torch = _torch()
    model, x, y = _toy_problem()
    eps = 0.1
    got = _as_tensor(fn(model.eval(), x.clone(), y, eps), x, "adversarial images")
    grad = torch.from_numpy(_linear_input_gradient(model, x, y)).float()
    want = (x + eps * grad.sign()).clamp(0, 1)
    if torch.allclose(got, x):
        raise Hint("the images did not change: add eps * sign(gradient) to x")
    if torch.allclose(got, (x - eps * grad.sign()).clamp(0, 1), atol=1e-6):
        raise Hint("you stepped downhill: FGSM *increases* the loss, so add eps * sign(grad), do not subtract it")
    raw = [x + eps * grad * scale for scale in (1.0, 1.0 / len(x))]  # the mean loss scales grad by 1/N
    if any(torch.allclose(got, r, atol=1e-6) or torch.allclose(got, r.clamp(0, 1), atol=1e-6) for r in raw):
        raise Hint("you used the raw gradient: FGSM takes its sign, so every pixel moves by exactly eps")
    if float(got.min()) < -1e-6 or float(got.max()) > 1 + 1e-6:
        raise Hint("some pixels left [0, 1]: clamp the adversarial images to the pixel range")
    if float((got - x).abs().max()) > eps + 1e-6:
        raise Hint(f"a pixel moved by {float((got - x).abs().max()):.3f} > eps = {eps}")
    if not torch.allclose(got, want, atol=1e-6):
        raise Hint("close, but not FGSM: use the cross-entropy with the true labels y, "
                   "not the model's own predictions, and x.grad.sign()")
    # The same attack on the model left in training mode, as it is right after a training loop:
    # the gradient must be the one of the model as it is evaluated (dropout off).
    modes = []
    hook = model.register_forward_pre_hook(lambda module, inputs: modes.append(module.training))
    try:
        again = _as_tensor(fn(model.train(), x.clone(), y, eps), x, "adversarial images")
    finally:
        hook.remove()
    if any(modes) or not torch.allclose(again, want, atol=1e-6):
        raise Hint("the model was in training mode when you took the gradient, so dropout changed it: "
                   "call model.eval() first (the attack targets the model as it is evaluated)")


@exercise("05.project", "projection onto the eps-ball and the pixel range", solution=_project,
          hints=("Each pixel must end up within eps of the clean pixel: between x - eps and x + eps.",
                 "torch.max(torch.min(x_adv, x + eps), x - eps), then .clamp(0, 1)."))
def _check_project(fn) -> None:
    torch = _torch()
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(4, 1, 5, 5, generator=gen)
    x[0, 0, 0] = 0.02
    x[1, 0, 0] = 0.98
    x_adv = x + (torch.rand(x.shape, generator=gen) * 2 - 1) * 0.6
    eps = 0.2
    got = _as_tensor(fn(x_adv.clone(), x.clone(), eps), x, "projected images")
    want = _project(x_adv, x, eps)
    if torch.allclose(got, x_adv.clamp(-eps, eps), atol=1e-6):
        raise Hint("you clipped the *images* to [-eps, eps]; clip the *perturbation* x_adv - x, i.e. "
                   "keep x_adv between x - eps and x + eps")
    if torch.allclose(got, x_adv.clamp(0, 1), atol=1e-6):
        raise Hint("you only clipped to [0, 1]: the eps-ball around x is missing")
    if float((got - x).abs().max()) > eps + 1e-6:
        raise Hint(f"a pixel is {float((got - x).abs().max()):.3f} away from x, more than eps = {eps}")
    if float(got.min()) < -1e-6 or float(got.max()) > 1 + 1e-6:
        raise Hint("inside the eps-ball, but some pixels left [0, 1]: clamp to the pixel range too")
    if not torch.allclose(got, want, atol=1e-6):
        raise Hint("inside both sets but not the nearest point: a projection only moves pixels "
                   "that are outside, and only as far as the boundary")


@exercise("05.pgd_step", "one step of projected gradient descent", solution=_pgd_step,
          hints=("A PGD step is an FGSM step of size alpha from the current x_adv, followed by the "
                 "projection onto the eps-ball around the *clean* x.",
                 "x_next = x_adv + alpha * grad.sign(); then clip to [x - eps, x + eps] and to [0, 1]."))
def _check_pgd_step(fn) -> None:
    torch = _torch()
    gen = torch.Generator().manual_seed(11)
    x = torch.rand(3, 1, 6, 6, generator=gen)
    x[0, 0, :2] = 0.0
    x_adv = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * 0.25).clamp(0, 1)
    grad = torch.randn(x.shape, generator=gen)
    alpha, eps = 0.1, 0.25
    got = _as_tensor(fn(x_adv.clone(), x.clone(), grad.clone(), alpha, eps), x, "next iterate")
    want = _pgd_step(x_adv, x, grad, alpha, eps)
    if torch.allclose(got, _pgd_step(x, x, grad, alpha, eps), atol=1e-6) and not torch.allclose(want, got):
        raise Hint("you stepped from the clean x: PGD steps from the current x_adv")
    if torch.allclose(got, _project(x_adv + alpha * grad.sign(), x_adv, eps), atol=1e-6):
        raise Hint("you projected around x_adv: the eps-ball is centred on the clean image x")
    if torch.allclose(got, _project(x_adv + alpha * grad, x, eps), atol=1e-6):
        raise Hint("use the sign of the gradient: under an L-infinity bound every pixel steps by alpha")
    if torch.allclose(got, _project(x_adv - alpha * grad.sign(), x, eps), atol=1e-6):
        raise Hint("wrong direction: the attack climbs the loss, so add alpha * sign(grad)")
    if float((got - x).abs().max()) > eps + 1e-6:
        raise Hint("the step left the eps-ball: project back onto it after stepping")
    if float(got.min()) < -1e-6 or float(got.max()) > 1 + 1e-6:
        raise Hint("some pixels left [0, 1]: clamp to the pixel range after the projection")
    if not torch.allclose(got, want, atol=1e-6):
        raise Hint("not quite: step by alpha * grad.sign() from x_adv, then project onto the "
                   "eps-ball around x and onto [0, 1]")
