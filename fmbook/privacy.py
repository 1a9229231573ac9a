"""Privacy plumbing: membership inference, DP-SGD accounting, federated averaging.

Chapter 09 writes its attacks, its DP-SGD step and its FedAvg loop in the notebook; this
module holds the tested reference versions they are checked against, and the plumbing
around them:

* **Membership inference**: ROC curves from member / non-member scores, the true-positive
  rate at a fixed (low) false-positive rate, a log-log ROC plot, the logit-scaled
  confidence that LiRA models, and LiRA's online and offline scores (Carlini et al. 2022).
* **Differential privacy**: per-example gradient clipping and one noisy DP-SGD gradient
  (Abadi et al. 2016), ε from Opacus's RDP and PRV accountants, and a check that names the
  layers Opacus cannot train privately.
* **Federated learning**: IID, Dirichlet and label-shard client partitions, FedAvg's
  weighted average (McMahan et al. 2017) and a toy secure aggregation with pairwise
  masks that cancel in the sum (Bonawitz et al. 2017).

Importing this module filters two warnings Opacus is known to trigger on every run (see
:func:`filter_opacus_warnings`); other warnings are left alone.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- warnings

OPACUS_WARNINGS: tuple[str, ...] = (
    # PrivacyEngine(secure_mode=False): fine for teaching, the chapter says so in its text.
    r"Secure RNG turned off",
    # torch warns when Opacus's full backward hooks fire on a first layer whose input does not
    # require grad: every batch of every private model, and harmless.
    r"Full backward hook is firing when gradients are computed with respect to module outputs",
    # RDP accountant: the best Renyi order is at the edge of the default grid (small sigma, few steps).
    r"Optimal order is the (largest|smallest) alpha",
)
"""Regular expressions of the warning messages that :func:`filter_opacus_warnings` hides."""


def filter_opacus_warnings() -> None:
    """Hide the known, harmless warnings that Opacus 1.6 triggers (:data:`OPACUS_WARNINGS`).

    Each filter matches one specific message, so any other warning is still shown.
    """
    for message in OPACUS_WARNINGS:
        warnings.filterwarnings("ignore", message=message)


filter_opacus_warnings()


# --------------------------------------------------------------------------- errors


class PrivacyInputError(ValueError):
    """Bad input to a privacy function (the message says what to do)."""


class UnsupportedModelError(PrivacyInputError):
    """A model has layers that DP-SGD (Opacus) cannot train."""


class EmptyClientError(PrivacyInputError):
    """A federated partition left a client with no data."""


def _scores(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise PrivacyInputError(f"{name} is empty: an attack needs at least one score of each kind")
    if not np.all(np.isfinite(arr)):
        raise PrivacyInputError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite scores: "
                                "clip losses or use logit-scaled confidences, which stay finite")
    return arr


def check_disjoint(members, non_members) -> None:
    """Raise :class:`PrivacyInputError` when two index sets share an element.

    Parameters
    ----------
    members, non_members : array-like of int
        Indices of the examples treated as training members and as non-members.
    """
    shared = np.intersect1d(np.asarray(members).ravel(), np.asarray(non_members).ravel())
    if shared.size:
        raise PrivacyInputError(
            f"{shared.size} examples are both members and non-members (e.g. index {shared[:5].tolist()}): "
            "an attack evaluated on them is meaningless. Split the indices once, e.g. with a "
            "random permutation, and take members and non-members from disjoint parts.")


# --------------------------------------------------------------------------- membership inference


def roc(member_scores, non_member_scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of a membership attack whose score is higher for members.

    Parameters
    ----------
    member_scores, non_member_scores : array-like of float
        The attack's score of every member and of every non-member (higher = "member").

    Returns
    -------
    fpr, tpr, thresholds : ndarray
        From (0, 0) to (1, 1). At threshold ``t`` an example is called a member when its
        score is ``>= t``; every distinct score is a threshold (nothing is interpolated).
    """
    from sklearn.metrics import roc_curve

    m = _scores(member_scores, "member_scores")
    n = _scores(non_member_scores, "non_member_scores")
    labels = np.r_[np.ones(m.size), np.zeros(n.size)]
    fpr, tpr, thr = roc_curve(labels, np.r_[m, n], drop_intermediate=False)
    return fpr, tpr, thr


def auc(member_scores, non_member_scores) -> float:
    """Area under the ROC curve (0.5 = chance): the probability that a random member
    scores higher than a random non-member, ties counting one half."""
    from sklearn.metrics import roc_auc_score

    m = _scores(member_scores, "member_scores")
    n = _scores(non_member_scores, "non_member_scores")
    return float(roc_auc_score(np.r_[np.ones(m.size), np.zeros(n.size)], np.r_[m, n]))


def tpr_at_fpr(member_scores, non_member_scores, fpr: float) -> float:
    """True-positive rate of the best threshold whose false-positive rate is at most ``fpr``.

    No interpolation: among the thresholds actually realised on these scores (every
    distinct score), take those with FPR ``<= fpr`` and return the largest TPR. This is the
    conservative reading used by Carlini et al. (2022); interpolating between ROC points
    would credit the attack with a threshold it cannot set.

    Parameters
    ----------
    member_scores, non_member_scores : array-like of float
        Higher = more likely a member.
    fpr : float
        The false-positive rate allowed, in (0, 1), e.g. 0.001 or 0.01.

    Returns
    -------
    float
        The TPR; an attack at chance gives about ``fpr``.

    Raises
    ------
    PrivacyInputError
        When ``fpr`` is outside (0, 1), or there are fewer than ``1 / fpr`` non-members
        (then not even one false positive can be afforded, and the number means nothing).
    """
    if not 0 < fpr < 1:
        raise PrivacyInputError(f"fpr must lie in (0, 1), got {fpr}")
    n = _scores(non_member_scores, "non_member_scores")
    if n.size * fpr < 1 - 1e-9:
        raise PrivacyInputError(
            f"at FPR {fpr:g} the attack may call {n.size * fpr:.2f} of the {n.size} non-members members, "
            f"less than one: measure it on at least {math.ceil(1 / fpr)} non-members (pool several target "
            "models, or use more data)")
    fprs, tprs, _ = roc(member_scores, n)
    return float(tprs[fprs <= fpr + 1e-12].max())


def plot_roc_loglog(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], ax=None, *, floor: float | None = None,
                    title: str = "membership inference ROC"):
    """Plot ROC curves on log-log axes, with the chance diagonal.

    On linear axes every attack hugs the diagonal at low FPR and the region that matters
    (an attacker who is *sure* about a few people) is invisible; log-log axes show it.

    Parameters
    ----------
    curves : mapping of label to (fpr, tpr)
        E.g. ``{"LiRA online": roc(...)[:2]}``.
    ax : matplotlib Axes, optional
    floor : float, optional
        Lower limit of both axes (default: 1 / the largest number of points, at least 1e-5).
    title : str

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    if floor is None:
        longest = max((len(f) for f, _ in curves.values()), default=10)
        floor = max(1e-5, 0.5 / longest)
    for label, (fpr, tpr) in curves.items():
        ax.plot(np.maximum(fpr, floor), np.maximum(tpr, floor), label=label)
    ax.plot([floor, 1], [floor, 1], ls="--", c="grey", lw=1, label="chance")
    ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1), xlabel="false-positive rate",
           ylabel="true-positive rate", title=title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    return ax


def logit_confidence(logits, labels) -> np.ndarray:
    """Logit-scaled confidence in the true label: ``log p_y - log(1 - p_y)``.

    Computed from the logits as ``z_y - logsumexp(z_j, j != y)``, which stays finite where
    ``p_y`` rounds to 1. Carlini et al. (2022) model this quantity, approximately Gaussian
    over training runs, instead of the probability or the loss.

    Parameters
    ----------
    logits : array-like (n, classes) or (..., n, classes)
    labels : array-like of int, (n,)

    Returns
    -------
    ndarray of shape ``logits.shape[:-1]``
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    if z.shape[-2] != y.shape[0]:
        raise PrivacyInputError(f"{z.shape[-2]} rows of logits but {y.shape[0]} labels")
    if y.min() < 0 or y.max() >= z.shape[-1]:
        raise PrivacyInputError(f"labels must lie in [0, {z.shape[-1] - 1}]")
    onehot = np.eye(z.shape[-1], dtype=bool)[y]
    z_y = np.take_along_axis(z, np.broadcast_to(y[:, None], z.shape[:-1] + (1,)), axis=-1)[..., 0]
    others = np.where(onehot, -np.inf, z)
    top = others.max(axis=-1, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(others - top).sum(axis=-1))
    return z_y - lse


def lira_scores(target, shadow, shadow_in, *, online: bool = True, global_variance: bool = True,
                min_models: int = 1) -> np.ndarray:
    """Likelihood-ratio attack scores (LiRA, Carlini et al. 2022), one per example.

    For each example, the shadow models that trained on it (IN) and those that did not
    (OUT) give two samples of its statistic (e.g. :func:`logit_confidence`); each is fitted
    with a Gaussian. The online score is the log-likelihood ratio of the target model's
    statistic under IN versus OUT; the offline score needs no IN models: it is the
    one-sided ``log Pr[Z_out <= target]`` (large when the target is more confident than
    models that never saw the example).

    Parameters
    ----------
    target : array-like (n,)
        The statistic of each example under the attacked model.
    shadow : array-like (k, n)
        The statistic under each of k shadow models.
    shadow_in : array-like of bool (k, n)
        True where shadow model i trained on example j.
    online : bool, default True
        Online (IN and OUT fits) or offline (OUT fit only).
    global_variance : bool, default True
        Use one variance for all examples (per IN/OUT), as Carlini et al. advise with fewer
        than about 64 shadow models; False fits a variance per example.
    min_models : int, default 1
        An example with fewer IN (online) or OUT shadow models than this raises an error.

    Returns
    -------
    ndarray (n,)
        Higher = more likely a member of the target's training set.
    """
    from scipy.stats import norm

    t = np.asarray(target, dtype=np.float64).ravel()
    s = np.asarray(shadow, dtype=np.float64)
    mask = np.asarray(shadow_in, dtype=bool)
    if s.ndim != 2 or s.shape[1] != t.size or mask.shape != s.shape:
        raise PrivacyInputError(f"shadow must be (k, n) with n = {t.size} and shadow_in of the same shape; "
                                f"got {s.shape} and {mask.shape}")
    n_in, n_out = mask.sum(0), (~mask).sum(0)
    need = [("OUT", n_out)] + ([("IN", n_in)] if online else [])
    for what, counts in need:
        if counts.min() < max(min_models, 1):
            j = int(counts.argmin())
            raise PrivacyInputError(f"example {j} has {int(counts[j])} {what} shadow models: train more shadow "
                                    "models, each on a random half of the data, so every example is IN for "
                                    "some and OUT for others")

    def fit(sel):
        cnt = sel.sum(0)
        mu = np.where(sel, s, 0).sum(0) / cnt
        dev = np.where(sel, (s - mu) ** 2, 0)
        if global_variance:
            var = np.full_like(mu, dev.sum() / max(sel.sum() - 1, 1))
        else:
            var = dev.sum(0) / np.maximum(cnt - 1, 1)
        return mu, np.sqrt(np.maximum(var, 1e-12))

    mu_out, sd_out = fit(~mask)
    if not online:
        return norm.logcdf(t, mu_out, sd_out)
    mu_in, sd_in = fit(mask)
    return norm.logpdf(t, mu_in, sd_in) - norm.logpdf(t, mu_out, sd_out)


def train_stacked_mlps(x, y, member_mask, *, hidden: int = 256, epochs: int = 20, batch_size: int = 64,
                       lr: float = 1e-3, seed: int = 0, device=None, progress: bool = True):
    """Train k one-hidden-layer MLPs at once, model i on the rows where ``member_mask[i]`` is True.

    Shadow models for LiRA are many small models trained with one recipe. Trained one at a
    time on a CPU they spend their time in Python overhead; stacked, each step is one batched
    matrix product for all of them. The models are independent: the loss is a sum over
    models, and Adam's update is element-wise, so each model trains exactly as it would
    alone (its own initialisation, its own minibatches of its own members).

    Parameters
    ----------
    x : torch.Tensor (n, d)
        Inputs (e.g. flattened images in [0, 1]).
    y : torch.Tensor of int (n,)
    member_mask : array-like of bool (k, n)
        Every row must have the same number of members (a random half, in LiRA).
    hidden, epochs, batch_size, lr : training recipe (Adam, cross-entropy)
    seed : int
        Seeds the initialisation and the minibatch order.
    device : torch device, optional (default: x's)
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    callable
        ``logits(x) -> torch.Tensor (k, n, classes)``: every model's logits on ``x``.
    """
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    device = device or x.device
    mask = torch.as_tensor(np.asarray(member_mask), dtype=torch.bool)
    if mask.ndim != 2 or mask.shape[1] != len(x):
        raise PrivacyInputError(f"member_mask must be (k, {len(x)}), got {tuple(mask.shape)}")
    sizes = mask.sum(1)
    if int(sizes.min()) == 0 or int(sizes.max()) != int(sizes.min()):
        raise PrivacyInputError(f"every model needs the same, positive number of members; got {sizes.tolist()}")
    k, m, d = mask.shape[0], int(sizes[0]), x.shape[1]
    classes = int(y.max()) + 1
    members = torch.stack([torch.nonzero(row).ravel() for row in mask]).to(device)      # (k, m)
    gen = torch.Generator().manual_seed(int(seed))

    def init(fan_in, shape):  # torch.nn.Linear's default initialisation
        bound = 1 / math.sqrt(fan_in)
        return ((torch.rand(shape, generator=gen) * 2 - 1) * bound).to(device).requires_grad_(True)

    params = [init(d, (k, d, hidden)), init(d, (k, 1, hidden)), init(hidden, (k, hidden, classes)),
              init(hidden, (k, 1, classes))]

    def forward(xs):  # xs (k, b, d)
        w1, b1, w2, b2 = params
        return torch.baddbmm(b2, torch.relu(torch.baddbmm(b1, xs, w1)), w2)

    opt = torch.optim.Adam(params, lr=lr)
    steps = -(-m // batch_size)
    x, y = x.to(device), y.to(device)
    for _ in tqdm(range(epochs), desc=f"{k} stacked MLPs", leave=False, disable=not progress):
        order = torch.argsort(torch.rand(k, m, generator=gen), dim=1).to(device)
        for s in range(steps):
            idx = torch.gather(members, 1, order[:, s * batch_size:(s + 1) * batch_size])   # (k, b)
            logits = forward(x[idx])
            loss = F.cross_entropy(logits.reshape(-1, classes), y[idx].reshape(-1), reduction="none")
            loss = loss.reshape(k, -1).mean(1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()

    @torch.no_grad()
    def logits(xq, batch: int = 4096):
        xq = xq.to(device)
        return torch.cat([forward(xq[i:i + batch].expand(k, -1, -1)) for i in range(0, len(xq), batch)], 1)

    return logits


# --------------------------------------------------------------------------- DP-SGD


def clip_per_example(grads, max_norm: float):
    """Scale each example's gradient to L2 norm at most ``max_norm`` (DP-SGD's clipping).

    Parameters
    ----------
    grads : torch.Tensor (B, ...)
        One gradient per example (flattened or not).
    max_norm : float
        The clipping norm C > 0.

    Returns
    -------
    torch.Tensor, same shape: ``g_i * min(1, C / ||g_i||)``. Gradients already shorter
    than C are unchanged (never scaled up).
    """
    import torch

    if not max_norm > 0:
        raise PrivacyInputError(f"max_norm (the clipping norm C) must be > 0, got {max_norm}")
    flat = grads.reshape(grads.shape[0], -1)
    norms = flat.norm(dim=1)
    factor = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    return (flat * factor[:, None]).reshape(grads.shape)


def dp_sgd_gradient(per_example_grads: Mapping[str, Any], max_norm: float, noise_multiplier: float,
                    batch_size: int | None = None, generator=None) -> dict[str, Any]:
    """One DP-SGD gradient from per-example gradients, the way Opacus computes it.

    The per-example gradients of all parameters are clipped *jointly* (one norm over every
    parameter of the example), summed, Gaussian noise of standard deviation
    ``noise_multiplier * max_norm`` is added, and the sum is divided by ``batch_size``.

    Parameters
    ----------
    per_example_grads : mapping of parameter name to tensor (B, *param.shape)
    max_norm : float
        Clipping norm C.
    noise_multiplier : float
        σ >= 0 (0 = no noise: then this is the clipped average).
    batch_size : int, optional
        Divisor (Opacus uses the *expected* batch size under Poisson sampling); default B.
    generator : torch.Generator, optional

    Returns
    -------
    dict of parameter name to tensor of the parameter's shape.
    """
    import torch

    if noise_multiplier < 0:
        raise PrivacyInputError(f"noise_multiplier must be >= 0, got {noise_multiplier}")
    if not max_norm > 0:
        raise PrivacyInputError(f"max_norm must be > 0, got {max_norm}")
    names = list(per_example_grads)
    b = next(iter(per_example_grads.values())).shape[0]
    norms = torch.stack([per_example_grads[k].reshape(b, -1).norm(dim=1) for k in names], 1).norm(dim=1)
    factor = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    out = {}
    for k in names:
        g = per_example_grads[k]
        summed = torch.einsum("i,i...->...", factor, g)
        if noise_multiplier > 0:
            summed = summed + noise_multiplier * max_norm * torch.randn(
                summed.shape, generator=generator, device="cpu" if generator is None else generator.device,
                dtype=summed.dtype).to(summed.device)
        out[k] = summed / (batch_size or b)
    return out


def _check_privacy_args(delta: float, sample_rate: float, steps: int) -> None:
    if not 0 < delta < 1:
        raise PrivacyInputError(f"delta must lie in (0, 1), got {delta}; take it well below 1/n, e.g. 1e-5 "
                                "for 60,000 examples")
    if not 0 < sample_rate <= 1:
        raise PrivacyInputError(f"sample_rate (batch size / data set size) must lie in (0, 1], got {sample_rate}")
    if int(steps) != steps or steps < 1:
        raise PrivacyInputError(f"steps must be a positive integer, got {steps}")


def _accountant(name: str):
    from opacus.accountants import PRVAccountant, RDPAccountant

    key = str(name).lower()
    if key == "rdp":
        return RDPAccountant()
    if key == "prv":
        return PRVAccountant()
    raise PrivacyInputError(f"unknown accountant {name!r}: use 'rdp' (Renyi DP, Mironov 2017) or 'prv' "
                            "(privacy random variables, Gopi et al. 2021)")


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float, *,
            accountant: str = "rdp") -> float:
    """ε of DP-SGD with Poisson sampling, from one of Opacus's accountants.

    Parameters
    ----------
    noise_multiplier : float
        σ: noise standard deviation over the clipping norm. 0 gives ``inf`` (no privacy).
    sample_rate : float
        q = expected batch size / data set size.
    steps : int
        Optimiser steps.
    delta : float
        δ in (0, 1).
    accountant : {"rdp", "prv"}
        RDP gives an upper bound that is loose; PRV is numerically tighter. Both are valid
        upper bounds on the true ε for this mechanism.

    Returns
    -------
    float
    """
    _check_privacy_args(delta, sample_rate, steps)
    if noise_multiplier < 0:
        raise PrivacyInputError(f"noise_multiplier must be >= 0, got {noise_multiplier}")
    if noise_multiplier == 0:
        return math.inf
    acc = _accountant(accountant)
    acc.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    return float(acc.get_epsilon(delta=delta))


def noise_multiplier_for(target_epsilon: float, sample_rate: float, steps: int, delta: float, *,
                         accountant: str = "rdp", tolerance: float = 0.01) -> float:
    """The smallest σ (to ``tolerance``) whose ε after ``steps`` is at most ``target_epsilon``.

    Raises
    ------
    PrivacyInputError
        For ε <= 0 (no mechanism with noise this side of infinity reaches it), δ outside
        (0, 1), or a bad sample rate / number of steps. For ε = inf use σ = 0 (no DP-SGD).
    """
    from opacus.accountants.utils import get_noise_multiplier

    if not target_epsilon > 0:
        raise PrivacyInputError(f"target epsilon must be > 0, got {target_epsilon}: ε = 0 would need infinite "
                                "noise. Smaller ε is more private; common choices lie between 1 and 10")
    if math.isinf(target_epsilon):
        raise PrivacyInputError("target epsilon is infinite: that is training without DP-SGD (σ = 0)")
    _check_privacy_args(delta, sample_rate, steps)
    _accountant(accountant)
    return float(get_noise_multiplier(target_epsilon=target_epsilon, target_delta=delta, sample_rate=sample_rate,
                                      steps=int(steps), accountant=accountant.lower(), epsilon_tolerance=tolerance))


_WHY = {
    "BatchNorm": "it normalises each example with statistics of the whole batch, so one example's "
                 "gradient depends on the others and cannot be clipped on its own: replace it with "
                 "GroupNorm (opacus.validators.ModuleValidator.fix does this)",
    "LSTM": "torch's fused LSTM has no per-example gradients: use opacus.layers.DPLSTM",
    "GRU": "torch's fused GRU has no per-example gradients: use opacus.layers.DPGRU",
    "RNN": "torch's fused RNN has no per-example gradients: use opacus.layers.DPRNN",
    "MultiheadAttention": "use opacus.layers.DPMultiheadAttention",
}


def check_dp_compatible(model, example_input=None) -> None:
    """Raise :class:`UnsupportedModelError` naming every layer Opacus cannot train privately.

    Parameters
    ----------
    model : torch.nn.Module
        The model to check.
    example_input : torch.Tensor, optional
        A batch of inputs, batch dimension first. When given, the model is also run on it and
        every layer with trainable parameters must receive an input whose first dimension is
        that batch: Opacus computes per-example gradients from each layer's input, so a layer fed
        something shared by the whole batch (positions looked up with ``arange(T)``, say) breaks
        them although the layer type itself is supported. Use a batch size that differs from the
        model's other dimensions (e.g. 3), so that no other dimension is mistaken for it.

    Notes
    -----
    The layer types are checked with ``opacus.validators.ModuleValidator`` on each sub-module,
    so the message says *which* layer (by its name in the model) and why.
    """
    from opacus.validators import ModuleValidator

    problems = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # containers: their leaves are checked one by one
        errors = ModuleValidator.validate(module, strict=False)
        if errors:
            kind = type(module).__name__
            why = next((text for key, text in _WHY.items() if key in kind), str(errors[0]).split(".")[0])
            problems.append(f"layer {name or '(the model itself)'!r} ({kind}): {why}")
    if example_input is not None:
        problems += _layers_without_batch_input(model, example_input)
    if problems:
        raise UnsupportedModelError("Opacus cannot train this model with DP-SGD:\n  " + "\n  ".join(problems))


def _layers_without_batch_input(model, example_input) -> list[str]:
    """Leaf layers with trainable parameters whose input does not start with the batch dimension."""
    import torch

    batch = int(example_input.shape[0])
    seen: dict[str, tuple] = {}

    def record(name):
        def hook(module, inputs, output):
            first = inputs[0] if inputs else None
            seen.setdefault(name, tuple(first.shape) if isinstance(first, torch.Tensor) else ())
        return hook

    handles = [m.register_forward_hook(record(name)) for name, m in model.named_modules()
               if next(m.children(), None) is None and any(p.requires_grad for p in m.parameters(recurse=False))]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(example_input)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return [f"layer {name!r} ({type(model.get_submodule(name)).__name__}): its input has shape {shape}, "
            f"without the batch of {batch} first, so Opacus cannot tell the examples' gradients apart; "
            "give every example its own copy of that input (for positions: arange(T).expand(batch, T))"
            for name, shape in seen.items() if not shape or shape[0] != batch]


# --------------------------------------------------------------------------- federated learning


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_clients(parts: list[np.ndarray], hint: str) -> list[np.ndarray]:
    empty = [i for i, p in enumerate(parts) if len(p) == 0]
    if empty:
        raise EmptyClientError(f"{len(empty)} of {len(parts)} clients got no data (clients {empty[:10]}): {hint}")
    return parts


def partition_iid(n_examples: int, n_clients: int, seed=0) -> list[np.ndarray]:
    """Shuffle ``n_examples`` indices and deal them to ``n_clients`` clients in equal parts."""
    if n_clients < 1:
        raise PrivacyInputError(f"n_clients must be >= 1, got {n_clients}")
    order = _rng(seed).permutation(n_examples)
    return _check_clients([np.sort(p) for p in np.array_split(order, n_clients)],
                          f"{n_examples} examples cannot fill {n_clients} clients; use fewer clients")


def partition_dirichlet(labels, n_clients: int, alpha: float, seed=0) -> list[np.ndarray]:
    """Non-IID partition: each class is split over the clients in proportions drawn from
    Dirichlet(α) (Hsu et al. 2019). Small α (0.1) gives each client few classes; large α
    (100) approaches IID.

    Raises
    ------
    EmptyClientError
        When a client gets no example (raise α, use fewer clients or another seed).
    """
    if not alpha > 0:
        raise PrivacyInputError(f"alpha must be > 0, got {alpha}")
    if n_clients < 1:
        raise PrivacyInputError(f"n_clients must be >= 1, got {n_clients}")
    y = np.asarray(labels)
    rng = _rng(seed)
    parts: list[list[int]] = [[] for _ in range(n_clients)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        share = rng.dirichlet(np.full(n_clients, alpha))
        cuts = (np.cumsum(share)[:-1] * len(idx)).astype(int)
        for k, chunk in enumerate(np.split(idx, cuts)):
            parts[k].extend(chunk.tolist())
    return _check_clients([np.sort(np.array(p, dtype=int)) for p in parts],
                          f"Dirichlet alpha={alpha} is too small for {n_clients} clients; raise alpha, "
                          "use fewer clients or another random seed")


def partition_shards(labels, n_clients: int, shards_per_client: int = 2, seed=0) -> list[np.ndarray]:
    """McMahan et al.'s pathological non-IID partition: sort by label, cut into
    ``n_clients * shards_per_client`` shards, give each client ``shards_per_client`` of them
    at random (so most clients see only that many digits)."""
    if n_clients < 1 or shards_per_client < 1:
        raise PrivacyInputError("n_clients and shards_per_client must be >= 1")
    y = np.asarray(labels)
    rng = _rng(seed)
    order = np.argsort(y, kind="stable")
    shards = np.array_split(order, n_clients * shards_per_client)
    pick = rng.permutation(len(shards)).reshape(n_clients, shards_per_client)
    return _check_clients([np.sort(np.concatenate([shards[s] for s in row])) for row in pick],
                          f"{len(y)} examples cannot fill {n_clients * shards_per_client} shards; "
                          "use fewer clients or fewer shards per client")


def fedavg(states: Sequence[Mapping[str, Any]], sizes: Sequence[float]) -> dict[str, Any]:
    """FedAvg's server step: the average of client models weighted by client data size.

    Parameters
    ----------
    states : sequence of state dicts (parameter name -> tensor)
    sizes : sequence of float
        n_k, the number of training examples of each client.

    Returns
    -------
    dict: sum_k n_k / n * state_k for every floating-point entry (integer buffers, such as
    counters, are taken from the first client).
    """
    if len(states) == 0 or len(states) != len(sizes):
        raise PrivacyInputError(f"need one size per client state: {len(states)} states, {len(sizes)} sizes")
    w = np.asarray(sizes, dtype=np.float64)
    if np.any(w < 0) or w.sum() <= 0:
        raise EmptyClientError(f"client sizes must be >= 0 with a positive total, got {list(sizes)}")
    w = w / w.sum()
    out = {}
    for key, first in states[0].items():
        if getattr(first, "is_floating_point", lambda: True)():
            out[key] = sum(float(wk) * s[key] for wk, s in zip(w, states))
        else:
            out[key] = first.clone() if hasattr(first, "clone") else first
    return out


# --------------------------------------------------------------------------- secure aggregation (toy)

MODULUS = 2 ** 32
"""Arithmetic of the toy secure aggregation is modulo 2^32 on fixed-point integers."""


def encode_fixed(x, scale: float = 2 ** 16, modulus: int = MODULUS) -> np.ndarray:
    """Real numbers to integers modulo ``modulus`` (fixed point with ``scale`` steps per unit)."""
    q = np.rint(np.asarray(x, dtype=np.float64) * scale).astype(np.int64)
    if np.abs(q).max(initial=0) * 2 >= modulus:
        raise PrivacyInputError("values too large for the fixed-point range: lower scale or raise modulus")
    return np.mod(q, modulus).astype(np.uint64)


def decode_fixed(q, scale: float = 2 ** 16, modulus: int = MODULUS) -> np.ndarray:
    """Inverse of :func:`encode_fixed` (integers above modulus/2 are negative)."""
    q = np.asarray(q, dtype=np.uint64).astype(np.int64)
    q = np.where(q >= modulus // 2, q - modulus, q)
    return q.astype(np.float64) / scale


def pairwise_mask(client: int, n_clients: int, shape, pair_seeds: np.ndarray, modulus: int = MODULUS) -> np.ndarray:
    """Client ``client``'s total mask: + m_ij for every j > i, - m_ji for every j < i.

    ``m_ij`` is drawn from a generator seeded with ``pair_seeds[i, j]`` (a secret that only
    clients i and j share, agreed e.g. by Diffie-Hellman), so in the sum over all clients
    every mask appears once with + and once with - and cancels.
    """
    total = np.zeros(shape, dtype=np.uint64)
    for other in range(n_clients):
        if other == client:
            continue
        i, j = min(client, other), max(client, other)
        m = np.random.default_rng(int(pair_seeds[i, j])).integers(0, modulus, size=shape, dtype=np.uint64)
        total = (total + m) % modulus if client == i else (total + modulus - m) % modulus
    return total


def secure_average(updates: Sequence[np.ndarray], seed: int = 0, scale: float = 2 ** 16,
                   modulus: int = MODULUS) -> tuple[np.ndarray, list[np.ndarray]]:
    """Toy secure aggregation: the server learns the average, not any single update.

    Each client encodes its update in fixed point, adds its pairwise mask and sends the
    result; the server adds what it received modulo ``modulus``: the masks cancel and the
    sum of the encoded updates remains. No dropouts, no malicious parties, no key
    agreement: a sketch of the arithmetic of Bonawitz et al. (2017), not the protocol.

    Returns
    -------
    average : ndarray
        Equal to the mean of ``decode(encode(update))`` exactly.
    masked : list of ndarray
        What the server saw from each client (uniform-looking integers).
    """
    k = len(updates)
    if k < 2:
        raise PrivacyInputError("secure aggregation needs at least 2 clients (with 1, the sum is the update)")
    shape = np.shape(updates[0])
    seeds = np.random.default_rng(seed).integers(0, 2 ** 63, size=(k, k))
    masked = [(encode_fixed(u, scale, modulus) + pairwise_mask(i, k, shape, seeds, modulus)) % modulus
              for i, u in enumerate(updates)]
    total = np.zeros(shape, dtype=np.uint64)
    for m in masked:
        total = (total + m) % modulus
    return decode_fixed(total, scale, modulus) / k, masked


__all__ = [
    "OPACUS_WARNINGS", "filter_opacus_warnings", "PrivacyInputError", "UnsupportedModelError", "EmptyClientError",
    "check_disjoint", "roc", "auc", "tpr_at_fpr", "plot_roc_loglog", "logit_confidence", "lira_scores",
    "train_stacked_mlps", "clip_per_example", "dp_sgd_gradient", "epsilon", "noise_multiplier_for", "check_dp_compatible",
    "partition_iid", "partition_dirichlet", "partition_shards", "fedavg",
    "MODULUS", "encode_fixed", "decode_fixed", "pairwise_mask", "secure_average",
]
