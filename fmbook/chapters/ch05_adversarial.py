"""Chapter 05: adversarial examples.

The chapter's settings per profile (``SETTINGS``) and its exercises.

None of the exercises repeats a cell of the notebook. The checkers run the learner's
function on inputs the notebook never shows and name the common mistakes. Targeted FGSM
is checked on a linear model (behind dropout, seeded) against the closed-form gradient
of its cross-entropy, and again with the model left in training mode; the DLR loss
against a NumPy formula; the masking decision on accuracy tables of made-up models,
each showing one sign of gradient masking or none.
"""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
#
# Data: n_val validation digits are held out from the training file (a random draw with the
# run's seed) and watched during training; the remaining digits (at most n_train) are trained
# on; n_test test digits are a random sample of the test file, used only for the final numbers.
# The training budgets (epochs) are set by each profile's time limit, not tuned on any accuracy.
#
# Bands (notebook's ch.check): measured with `fmbook run ... --profile P --seed S`, S = 0, 1, 2,
# set about twice the spread beyond the worst run. The values behind each band:
#   check                                   smoke seeds 0/1/2     fast seeds 0/1/2 -> fast band
#   standard: clean test accuracy           0.890/0.935/0.880     0.982/0.988/0.982 -> 0.95 .. 1
#   standard: PGD accuracy at eps           0.155/0.230/0.245     0.000/0.002/0.000 -> 0 .. 0.10
#   FGSM+RS: clean accuracy                 0.915/0.935/0.885     0.978/0.972/0.976 -> 0.96 .. 1
#   FGSM+RS: strong-PGD accuracy            0.530/0.615/0.550     0.586/0.642/0.450 -> 0.05 .. 0.85
#   gain of FGSM+RS over standard           0.385/0.410/0.305     0.586/0.640/0.450 -> 0.05 .. 1
#   PGD-trained: clean accuracy             0.820/0.785/0.810     0.962/0.954/0.958 -> 0.93 .. 1
#   PGD-trained: strong-PGD accuracy        0.415/0.470/0.460     0.682/0.660/0.628 -> 0.52 .. 0.85
#   audit failures: quantised/FGSM+RS/PGD   3,0,0 in every run    3,0,0 in every run
# fast lower ends: twice the spread below the worst run. The FGSM+RS model's robustness varies a
# lot between seeds (0.45 to 0.64: fast adversarial training at eps = 0.3 is fragile), so its band
# only separates it from an undefended model. Upper ends of the robust accuracies: 0.85, below every
# clean accuracy (0.95 to 0.99), so that an attack that does nothing fails. Seed 2 first ran with
# the earlier bands (0.55 .. 0.85, set on all 59,850 digits) and failed at 0.45; the bands were
# opened, all three seeds measured, and then set as above.
# fast time, seeds 0/1/2: 607 / 650 / 648 s CPU on one thread (10.1 to 10.8 min; 19 to 32 min wall
# with four other runs alongside).
# fast trains on 30,000 of the training digits (n_train): with all of them (seed 0: 1,078 s of
# CPU on one thread, 56 min wall under load 9-12) the chapter did not fit its 12-minute budget;
# three quarters of that time is the three adversarial trainings, which scale with n_train.
# Smoke seed 1 ran with the test sample in Smoke seed 1 ran with the test sample in
# sorted order (before the fix that keeps it in random order); seeds 0 and 2 with the fix.
# The smoke bands are the earlier ones; all three smoke runs lie inside them.
# `full` has not been run with these settings (no GPU): its measured bands are None (shown as
# "not measured"). The masking-audit checks are requirements, not measurements: a defended model
# must fail none of the audit's conditions (0, 0) and the deliberately masked model at least one
# (1, None), in every profile.
SETTINGS: dict[str, dict] = {
    # eps: the attack budget; epochs/lr: standard model; adv_*: fast FGSM training (with and
    # without random start; rs_alpha: its step as a multiple of eps); pgd_train_*: Madry PGD
    # training; ramp_fraction: eps grows from 0 over this fraction of each adversarial training;
    # curve_steps: PGD for the eps sweeps and for the watch on the n_val validation digits, done
    # watch_per_epoch times an epoch; eval_steps x eval_restarts with step alpha_eval: the
    # strong final attack. Masking audit (fmbook.robust.masking_audit) on the first n_audit test
    # digits: PGD with audit_steps steps (cross-entropy and margin loss, and at each eps of
    # audit_sweep, which must reach 0.5), transfer from the standard model, ART's Square attack
    # with square_iter queries on n_gradient_free digits; audit_tol: how much another attack may
    # beat the white-box one (0.05: with 100 to 300 digits, one attack beating another on a few
    # digits is noise; the masked model of tests/test_robust_audit.py loses by 0.32 to Square and
    # 0.58 to transfer). audit_margin_tol, the same for margin-loss against cross-entropy PGD, was
    # first 0.05 and is 0.1 after a failing smoke run (seed 0): margin PGD beat cross-entropy PGD by
    # 0.07 on smoke's weakly trained PGD-3 model (0.32 against 0.39 on 100 test digits, and by 0.06
    # to 0.08 on its validation sweep), as it did by 0.058 and 0.067 on two PGD-trained MLPs while
    # developing the unit tests. There the cross-entropy attack is somewhat weaker, not blind: the
    # audit compares the other attacks with the worst case of both losses, and reports it
    # (white_box). A cross-entropy attack blinded by saturated gradients misses most of what the
    # margin attack finds, far more than 0.1.
    "smoke": {"n_train": 2000, "n_test": 200, "n_val": 100, "batch_size": 64, "eps": 0.2,
              "epochs": 2, "lr": 3e-3, "adv_epochs": 2, "adv_lr": 4e-3, "ramp_fraction": 0.25, "rs_alpha": 1.25,
              "pgd_train_epochs": 1, "pgd_train_steps": 3, "curve_steps": 10, "watch_per_epoch": 1,
              "eval_steps": 15, "eval_restarts": 2, "alpha_eval": 0.03,
              "n_audit": 100, "audit_steps": 10, "audit_sweep": (0.1, 0.2, 0.3, 0.5), "n_gradient_free": 50,
              "square_iter": 100, "audit_tol": 0.05, "audit_margin_tol": 0.1},
    "fast": {"n_train": 30000, "n_test": 500, "n_val": 150, "batch_size": 128, "eps": 0.3,
             "epochs": 2, "lr": 3e-3, "adv_epochs": 3, "adv_lr": 4e-3, "ramp_fraction": 1 / 3, "rs_alpha": 1.25,
             "pgd_train_epochs": 1, "pgd_train_steps": 5, "curve_steps": 10, "watch_per_epoch": 3,
             "eval_steps": 30, "eval_restarts": 2, "alpha_eval": 0.02,
             "n_audit": 300, "audit_steps": 20, "audit_sweep": (0.1, 0.2, 0.3, 0.4, 0.5), "n_gradient_free": 100,
             "square_iter": 300, "audit_tol": 0.05, "audit_margin_tol": 0.1},
    "full": {"n_train": None, "n_test": None, "n_val": 1000, "batch_size": 128, "eps": 0.3,
             "epochs": 8, "lr": 3e-3, "adv_epochs": 15, "adv_lr": 5e-3, "ramp_fraction": 0.2, "rs_alpha": 1.25,
             "pgd_train_epochs": 8, "pgd_train_steps": 10, "curve_steps": 20, "watch_per_epoch": 1,
             "eval_steps": 100, "eval_restarts": 3, "alpha_eval": 0.01,
             "n_audit": 1000, "audit_steps": 50, "audit_sweep": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
             "n_gradient_free": 500, "square_iter": 1000, "audit_tol": 0.05, "audit_margin_tol": 0.1},
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


def _targeted_fgsm(model, x, target, eps):
    import torch.nn.functional as F

    model.eval()                             # dropout and batch norm as at test time
    x = x.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), target)  # the loss of the class we want
    loss.backward()
    x_adv = x - eps * x.grad.sign()          # one step *down* that loss, towards the target
    return x_adv.clamp(0, 1).detach()        # stay a valid image


def _dlr_loss(logits, y):
    import torch

    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.masked_fill(torch.nn.functional.one_hot(y, logits.shape[1]).bool(), -float("inf"))
    top = logits.sort(1, descending=True).values
    return -(true - others.max(1).values) / (top[:, 0] - top[:, 2] + 1e-12)


def _shows_masking(row):
    tol = 0.05
    white_box = min(row["pgd"], row["margin_pgd"])
    sweep = sorted(row["sweep"].items())
    return bool(
        any(acc > 0.1 for eps, acc in sweep if eps >= 0.5)                    # the attack never wins
        or any(b > a + tol for (_, a), (_, b) in zip(sweep, sweep[1:]))        # more budget, less success
        or row["margin_pgd"] < row["pgd"] - 2 * tol                            # the CE gradient is saturated
        or row["transfer"] < white_box - tol                                   # another model's gradients do better
        or row["square"] < white_box - tol)                                    # no gradients do better


@exercise("05.targeted_fgsm", "targeted FGSM: make the model say a chosen class", solution=_targeted_fgsm,
          hints=("Put the model in eval mode, take the cross-entropy of model(x) with the *target* labels, "
                 "and step so that this loss goes *down*: the model should grow more sure of the target.",
                 "x_adv = x - eps * grad.sign(), where grad is the gradient of cross_entropy(model(x), target) "
                 "with respect to x; then clamp to [0, 1] and detach."))
def _check_targeted_fgsm(fn) -> None:
    torch = _torch()
    model, x, _ = _toy_problem()
    target = torch.tensor([2, 2, 0, 1, 0, 1])
    eps = 0.1
    got = _as_tensor(fn(model.eval(), x.clone(), target.clone(), eps), x, "adversarial images")
    grad = torch.from_numpy(_linear_input_gradient(model, x, target)).float()
    want = (x - eps * grad.sign()).clamp(0, 1)
    if torch.allclose(got, x):
        raise Hint("the images did not change: subtract eps * sign(gradient) from x")
    if torch.allclose(got, (x + eps * grad.sign()).clamp(0, 1), atol=1e-6):
        raise Hint("you climbed the target's loss: that pushes the model *away* from the target. A targeted "
                   "attack descends the cross-entropy of the target class: x - eps * sign(grad)")
    y_true = torch.tensor([0, 1, 2, 0, 1, 2])
    grad_true = torch.from_numpy(_linear_input_gradient(model, x, y_true)).float()
    if any(torch.allclose(got, (x + sign * eps * grad_true.sign()).clamp(0, 1), atol=1e-6) for sign in (1, -1)):
        raise Hint("you used the true labels: this function is given only the target classes; the "
                   "gradient is the one of cross_entropy(model(x), target)")
    raw = [x - eps * grad * scale for scale in (1.0, 1.0 / len(x))]
    if any(torch.allclose(got, r, atol=1e-6) or torch.allclose(got, r.clamp(0, 1), atol=1e-6) for r in raw):
        raise Hint("you used the raw gradient: FGSM takes its sign, so every pixel moves by exactly eps")
    if float(got.min()) < -1e-6 or float(got.max()) > 1 + 1e-6:
        raise Hint("some pixels left [0, 1]: clamp the adversarial images to the pixel range")
    if float((got - x).abs().max()) > eps + 1e-6:
        raise Hint(f"a pixel moved by {float((got - x).abs().max()):.3f} > eps = {eps}")
    if not torch.allclose(got, want, atol=1e-6):
        raise Hint("close, but not targeted FGSM: x - eps * sign of the gradient of "
                   "cross_entropy(model(x), target), clamped to [0, 1]")
    modes = []
    hook = model.register_forward_pre_hook(lambda module, inputs: modes.append(module.training))
    try:
        again = _as_tensor(fn(model.train(), x.clone(), target.clone(), eps), x, "adversarial images")
    finally:
        hook.remove()
    if any(modes) or not torch.allclose(again, want, atol=1e-6):
        raise Hint("the model was in training mode when you took the gradient, so dropout changed it: "
                   "call model.eval() first (the attack targets the model as it is evaluated)")


def _dlr_reference(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The DLR loss in float64 NumPy, independently of the worked solution."""
    rows = np.arange(len(z))
    true = z[rows, y]
    others = z.copy()
    others[rows, y] = -np.inf
    top = -np.sort(-z, axis=1)
    return -(true - others.max(1)) / (top[:, 0] - top[:, 2] + 1e-12)


@exercise("05.dlr_loss", "the DLR loss, an attack objective that ignores the scale of the logits",
          solution=_dlr_loss,
          hints=("The numerator is the margin of the notebook, z_y minus the largest *other* logit, with a minus "
                 "sign in front; the denominator is the largest logit minus the third largest (sort each row).",
                 "true = logits.gather(1, y[:, None]).squeeze(1); others = logits with the true class set to "
                 "-inf; top = logits.sort(1, descending=True).values; "
                 "return -(true - others.max(1).values) / (top[:, 0] - top[:, 2] + 1e-12)"))
def _check_dlr_loss(fn) -> None:
    torch = _torch()
    gen = torch.Generator().manual_seed(23)
    logits = torch.randn(12, 10, generator=gen) * 3
    y = torch.randint(0, 10, (12,), generator=gen)
    y[:4] = logits[:4].argmax(1)               # some examples classified correctly, some not
    got = _as_tensor(fn(logits.clone(), y.clone()), y, "per-example losses")
    z, yy = logits.double().numpy(), y.numpy()
    want = torch.from_numpy(_dlr_reference(z, yy)).float()
    if torch.allclose(got, -want, atol=1e-5):
        raise Hint("wrong sign: the loss must *grow* as the attack succeeds, so it is minus (z_y - max other)")
    rows = np.arange(len(z))
    margin = z[rows, yy] - np.where(np.eye(10)[yy].astype(bool), -np.inf, z).max(1)
    top = -np.sort(-z, axis=1)
    if torch.allclose(got, torch.from_numpy(-margin).float(), atol=1e-5):
        raise Hint("that is the margin without the denominator: divide by the largest logit minus the third largest")
    if torch.allclose(got, torch.from_numpy(-margin / (top[:, 0] - top[:, 1] + 1e-12)).float(), atol=1e-4):
        raise Hint("divide by the largest minus the *third* largest logit (the second largest is often the "
                   "true class or the best wrong one, and the denominator would then vanish)")
    if torch.allclose(got, torch.from_numpy(-(z[rows, yy] - top[:, 0]) / (top[:, 0] - top[:, 2] + 1e-12)).float(),
                      atol=1e-5):
        raise Hint("the maximum must run over the *other* classes: where the true class has the largest logit, "
                   "your numerator is 0 instead of the margin to the runner-up")
    if not torch.allclose(got, want, atol=1e-5):
        raise Hint("not the DLR loss: -(z_y - max_{j != y} z_j) / (z_(1) - z_(3) + 1e-12), one value per row")
    if not torch.allclose(fn(logits * 50, y), want, atol=1e-4):
        raise Hint("scaling every logit by 50 changed your loss: the point of DLR is that it does not")


# Accuracy tables of made-up models: (row, shows masking?, what a wrong answer misses).
_SWEEP_OK = {0.1: 0.93, 0.2: 0.86, 0.3: 0.71, 0.4: 0.35, 0.5: 0.03}
_MASKING_CASES = [
    ({"clean": 0.99, "pgd": 0.71, "margin_pgd": 0.70, "transfer": 0.90, "square": 0.78, "sweep": _SWEEP_OK},
     False, "an honest table (every other attack weaker than PGD, accuracy 0.03 at eps 0.5)"),
    ({"clean": 0.99, "pgd": 0.00, "margin_pgd": 0.00, "transfer": 0.05, "square": 0.12,
      "sweep": {0.1: 0.30, 0.2: 0.01, 0.3: 0.0, 0.5: 0.0}},
     False, "a model that is simply not robust (PGD reaches 0 and nothing beats it)"),
    ({"clean": 0.98, "pgd": 0.64, "margin_pgd": 0.62, "transfer": 0.61, "square": 0.66, "sweep": _SWEEP_OK},
     False, "an honest table where transfer is within 0.05 of the white box (0.61 against 0.62: noise, not masking)"),
    ({"clean": 0.99, "pgd": 0.88, "margin_pgd": 0.87, "transfer": 0.93, "square": 0.90,
      "sweep": {0.1: 0.95, 0.2: 0.92, 0.3: 0.88, 0.4: 0.70, 0.5: 0.42, 0.6: 0.40}},
     True, "a table whose accuracy at eps = 0.5 is still 0.42: every digit can become the same grey image at "
           "eps 0.5, so an attack that works must reach about 0.1 or less"),
    ({"clean": 0.99, "pgd": 0.80, "margin_pgd": 0.79, "transfer": 0.91, "square": 0.85,
      "sweep": {0.1: 0.90, 0.2: 0.70, 0.3: 0.80, 0.4: 0.20, 0.5: 0.0}},
     True, "a table where accuracy *rose* from 0.70 to 0.80 as eps grew from 0.2 to 0.3: a larger budget "
           "contains every smaller one, so a working attack can only do better"),
    ({"clean": 0.99, "pgd": 0.75, "margin_pgd": 0.52, "transfer": 0.90, "square": 0.80, "sweep": _SWEEP_OK},
     True, "a table where margin-loss PGD (0.52) beats cross-entropy PGD (0.75) by far: the cross-entropy "
           "gradients were saturated"),
    ({"clean": 0.99, "pgd": 0.83, "margin_pgd": 0.82, "transfer": 0.40, "square": 0.85, "sweep": _SWEEP_OK},
     True, "a table where the transfer attack (0.40) beats the white box (0.82): images made on *another* "
           "model should never do better than the attacker who sees this one's gradients"),
    ({"clean": 0.97, "pgd": 0.90, "margin_pgd": 0.89, "transfer": 0.92, "square": 0.31, "sweep": _SWEEP_OK},
     True, "a table where the gradient-free Square attack (0.31) beats PGD (0.89): the gradients mislead PGD"),
]


@exercise("05.masking", "decide from an accuracy table whether a defence masks its gradients",
          solution=_shows_masking,
          hints=("Go through the audit's four checks: accuracy at eps >= 0.5 at most 0.1; accuracy never rising "
                 "by more than 0.05 as eps grows; margin PGD not more than 0.1 below cross-entropy PGD; "
                 "transfer and Square not more than 0.05 below the white box (the lower of the two PGDs).",
                 "white_box = min(row['pgd'], row['margin_pgd']); sweep = sorted(row['sweep'].items()); return True "
                 "if any eps >= 0.5 has accuracy > 0.1, any consecutive pair rises by > 0.05, "
                 "row['margin_pgd'] < row['pgd'] - 0.1, or row['transfer'] or row['square'] < white_box - 0.05."))
def _check_masking(fn) -> None:
    import copy

    for row, masked, what in _MASKING_CASES:
        got = fn(copy.deepcopy(row))
        if not isinstance(got, (bool, np.bool_)):
            raise Hint(f"return True or False, not {type(got).__name__}")
        if bool(got) != masked:
            verdict = "called it masked" if got else "called it honest"
            raise Hint(f"you {verdict}, on {what}.")
