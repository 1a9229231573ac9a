# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 05: Adversarial examples and adversarial training
#
# A digit classifier that is 98% accurate can be made to fail on almost every digit by changes
# to the pixels that a person barely notices. In this chapter you **build** the attacks by hand,
# FGSM and then PGD, watch them break the convolutional network of chapter 02, and then
# **defend** the network with adversarial training, two ways: PGD training (Madry et al. 2018)
# and fast FGSM training with a random start (Wong et al. 2020). Then you **audit** the defence
# honestly: a strong attack with many steps and restarts, checked against a maintained library.
#
# All attacks here are *untargeted* and bounded in the L-infinity norm: every pixel (in [0, 1])
# may move by at most ε. The headline budget is ε = 0.3, the standard MNIST setting.
#
# What to expect (accuracy on MNIST test digits; "strong PGD" is PGD with many steps and random
# restarts at the profile's ε; the bands are checked below):
#
# | profile | ε | standard model: clean / under PGD | FGSM+RS model under strong PGD | PGD-trained model under strong PGD | time |
# | --- | --- | --- | --- | --- | --- |
# | `smoke` | 0.2 | ≥ 0.75 / ≤ 0.35 | 0.2 .. 0.85, at least 0.1 above the standard model | 0.2 .. 0.85 | under 2 min |
# | `fast` | 0.3 | ≥ 0.95 / ≤ 0.10 | 0.55 .. 0.85 (measured 0.69 to 0.74 over four runs) | 0.55 .. 0.85 | under 15 min on 2 CPU cores |
# | `full` | 0.3 | ≥ 0.98 / ≤ 0.05 | 0.70 .. 0.97 | ≥ 0.89 (Madry et al.: 0.896) | under 20 min on a T4 GPU |
#
# The upper ends of the bands are there too: a robust accuracy close to the clean accuracy at
# ε = 0.3 would mean the attack is broken, not that the model is robust.

# %%
# Set-up. In JupyterLab (`make lab`) fmbook is already installed and this does nothing.
# On Colab it installs fmbook from the repository; data sets then download on first use.
import importlib.util, subprocess, sys
if importlib.util.find_spec("fmbook") is None:
    if "google.colab" in sys.modules:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                               "fmbook[all] @ git+https://github.com/fmbook/fmbook.git"])
    else:
        raise ModuleNotFoundError("fmbook is not installed: run `make lab` in the repository, "
                                  "or `pip install -e .` in this environment")

# %% [markdown]
# ## Set-up
#
# PyTorch only in this chapter. `fmbook.start` seeds everything and prints the profile and the
# device; the settings give the subset sizes, the epochs and the attack strengths of this profile.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import fmbook
from fmbook import robust
from fmbook.data import load_mnist
from fmbook.device import torch_device
from fmbook.models import count_parameters, make_mnist_cnn, to_image_tensor

ch = fmbook.start("05_adversarial", seed=0)
cfg = ch.settings
device = torch_device()
EPS = cfg.eps
print(f"device: {device} | ε = {EPS} | settings: {dict(cfg)}")

# %% [markdown]
# ## Data: MNIST, as tensors on the device
#
# The same MNIST as chapters 00 and 02 (70,000 digits, checked against their checksums). A
# profile may use a subset; the cell prints what is used. Pixels become floats in [0, 1], so an
# ε of 0.3 means "each pixel may move by 30% of the full range".

# %%
(x_train_all, y_train_all), (x_test_all, y_test_all) = load_mnist()
n_train = cfg.n_train or len(x_train_all)
n_test = cfg.n_test or len(x_test_all)
x_train = to_image_tensor(x_train_all[:n_train]).to(device)
y_train = torch.as_tensor(y_train_all[:n_train], dtype=torch.long).to(device)
x_test = to_image_tensor(x_test_all[:n_test]).to(device)
y_test = torch.as_tensor(y_test_all[:n_test], dtype=torch.long).to(device)
# a small fixed slice of the test set to watch robustness during training
x_val, y_val = x_test[:cfg.n_val], y_test[:cfg.n_val]
print(f"data: MNIST (fmbook.data.load_mnist), {n_train:,} training and {n_test:,} test digits, "
      f"{len(x_val)} of them watched during training")

# %% [markdown]
# ## A training loop with a pluggable input
#
# Adversarial training changes one line of the ordinary loop: the batch the model learns from.
# So the loop takes a function `make_input(model, x, y, progress)` that returns the images to
# train on: the clean `x` for standard training, adversarial images for adversarial training
# (`progress`, the fraction of the training done so far, from 0 to 1, lets the budget grow at
# the start). A few times an epoch (`watch_per_epoch`) it can call `watch(model)` to record a
# number, such as the accuracy under attack. The learning rate rises and then falls once (a
# "one-cycle" schedule), which trains in few epochs, as in Wong et al.

# %%
def train(model, make_input, *, epochs, lr, batch_size=cfg.batch_size, desc="training",
          watch=None, watch_per_epoch=cfg.watch_per_epoch):
    """Train `model` with Adam and a one-cycle learning rate; return the model and its history.

    history["loss"]: mean training loss of each epoch; history["watched"]: what `watch(model)`
    returned, measured after history["watched_at"] epochs of training.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    batches = -(-len(x_train) // batch_size)                   # batches per epoch
    total_steps = epochs * batches
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps,
                                                pct_start=0.4, anneal_strategy="linear")
    watch_after = {round(batches * (k + 1) / watch_per_epoch) for k in range(watch_per_epoch)}
    history = {"loss": [], "watched": [], "watched_at": []}
    step = 0
    for epoch in range(epochs):
        order = torch.randperm(len(x_train), device=device)
        total = 0.0
        for b in tqdm(range(batches), desc=f"{desc} {epoch + 1}/{epochs}", leave=False):
            idx = order[b * batch_size:(b + 1) * batch_size]
            xb, yb = make_input(model, x_train[idx], y_train[idx], step / total_steps), y_train[idx]
            model.train()                        # make_input may have put the model in eval mode
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item() * len(idx)
            if watch is not None and b + 1 in watch_after:
                history["watched"].append(watch(model))
                history["watched_at"].append(step / batches)
        history["loss"].append(total / len(x_train))
    return model.eval(), history

# %% [markdown]
# ## The standard model
#
# First the model to attack: chapter 02's convnet (`fmbook.models.make_mnist_cnn`), trained on
# clean digits. `make_input` just returns the clean batch.

# %%
torch.manual_seed(ch.seed)
standard = make_mnist_cnn().to(device)
print(f"model: fmbook.models.make_mnist_cnn, {count_parameters(standard):,} parameters")
standard, hist_standard = train(standard, lambda model, x, y, progress: x,
                                epochs=cfg.epochs, lr=cfg.lr, desc="standard")

# %%
clean_standard = robust.robust_accuracy(standard, x_test, y_test)
ch.check("standard model: clean test accuracy", clean_standard,
         {"smoke": (0.75, 1.0), "fast": (0.95, 1.0), "full": (0.98, 1.0)})

# %% [markdown]
# ## FGSM: one step up the loss
#
# The fast gradient sign method (Goodfellow et al. 2015) asks which way each pixel should move
# to *increase* the loss, and moves it by ε that way:
#
# $$x_{adv} = \mathrm{clip}_{[0,1]}\big(x + \varepsilon \cdot \mathrm{sign}(\nabla_x \mathcal{L}(f(x), y))\big)$$
#
# The gradient is with respect to the **input**, not the weights: the model is fixed and the
# image is what we optimise.
#
# > **Common mistake.** Leaving the model in training mode while attacking (dropout or batch
# > norm then change the model you attack), or accumulating `.grad` on the weights: put the
# > model in `eval()` and ask autograd for the gradient of the input only.

# %%
def fgsm(model, x, y, eps):
    model.eval()
    x = x.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    grad, = torch.autograd.grad(loss, x)          # d loss / d pixels; the weights get no .grad
    return (x + eps * grad.sign()).clamp(0, 1).detach()

# %% [markdown]
# Two invariants every L-infinity attack must keep: no pixel moves by more than ε, and every pixel
# stays a valid intensity in [0, 1]. We check them on the whole test set, not by eye.

# %%
x_fgsm = fgsm(standard, x_test, y_test, EPS)
gap = (x_fgsm - x_test).abs().max().item()
assert gap <= EPS + 1e-6 and 0 <= x_fgsm.min() and x_fgsm.max() <= 1, "FGSM broke an invariant"
print(f"largest pixel change {gap:.3f} (ε = {EPS}); pixel range [{x_fgsm.min():.1f}, {x_fgsm.max():.1f}]")
acc_fgsm_standard = robust.robust_accuracy(standard, x_fgsm, y_test)
print(f"standard model: clean {clean_standard:.3f}, under FGSM at ε = {EPS}: {acc_fgsm_standard:.3f}")

# %% [markdown]
# What do these images look like? Clean digit, the perturbation (grey is zero, white +ε,
# black −ε) and the adversarial digit, with the model's prediction for each.

# %%
def gallery(model, x, x_adv, y, n=6, title=""):
    with torch.no_grad():
        p_clean = model(x[:n]).argmax(1).cpu()
        p_adv = model(x_adv[:n]).argmax(1).cpu()
    fig, axes = plt.subplots(3, n, figsize=(1.5 * n, 5))
    delta = (x_adv[:n] - x[:n]).cpu()
    eps = max(delta.abs().max().item(), 1e-8)
    for j in range(n):
        axes[0, j].imshow(x[j, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(f"label {y[j].item()}\npred {p_clean[j].item()}", fontsize=9)
        axes[1, j].imshow(delta[j, 0], cmap="gray", vmin=-eps, vmax=eps)
        axes[2, j].imshow(x_adv[j, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        axes[2, j].set_title(f"pred {p_adv[j].item()}", fontsize=9,
                             color="#b00020" if p_adv[j] != y[j].cpu() else "black")
    for ax in axes.flat:
        ax.axis("off")
    for row, name in enumerate(["clean", "perturbation", "adversarial"]):
        axes[row, 0].text(-8, 14, name, rotation=90, va="center", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


gallery(standard, x_test, x_fgsm, y_test, title=f"FGSM against the standard model, ε = {EPS}");

# %% [markdown]
# ## PGD: many small steps, projected back
#
# FGSM takes one step and trusts the gradient at the clean image. Projected gradient descent
# (Madry et al. 2018) takes many steps of size α, and after each step **projects** back into the
# allowed set: the ε-ball around the clean image, intersected with [0, 1]. It starts from a
# random point of the ball, so that it does not rely on the gradient exactly at `x`.
#
# > **Common mistake.** Projecting around the current iterate (`x_adv ± ε`) instead of the clean
# > image (`x ± ε`): the perturbation then grows by up to α every step and leaves the budget.
# > Another: clipping the *image* to [−ε, ε] instead of the *perturbation*.

# %%
def project(x_adv, x, eps):
    x_adv = torch.max(torch.min(x_adv, x + eps), x - eps)     # into the ε-ball around the clean x
    return x_adv.clamp(0, 1)                                   # and into the pixel range


def pgd(model, x, y, eps, alpha, steps, random_start=True, generator=None):
    """Untargeted L∞ PGD; returns the adversarial images and the mean loss before each step and at the end."""
    model.eval()
    x = x.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator).to(x.device)
        x_adv = project(x + (2 * noise - 1) * eps, x, eps)
    else:
        x_adv = x.clone()
    losses = []
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y, reduction="none")
        grad, = torch.autograd.grad(loss.sum(), x_adv)
        losses.append(loss.mean().item())
        x_adv = project(x_adv.detach() + alpha * grad.sign(), x, eps)
    with torch.no_grad():
        losses.append(F.cross_entropy(model(x_adv), y).item())
    return x_adv.detach(), losses

# %% [markdown]
# The attack should push the loss up step by step, and keep both invariants. We run it on the
# first 500 test digits and plot the mean loss after each step.

# %%
x_pgd, pgd_losses = pgd(standard, x_test[:500], y_test[:500], EPS, alpha=2.5 * EPS / cfg.curve_steps,
                        steps=cfg.curve_steps, generator=torch.Generator().manual_seed(ch.seed))
assert (x_pgd - x_test[:500]).abs().max() <= EPS + 1e-6 and 0 <= x_pgd.min() and x_pgd.max() <= 1
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(len(pgd_losses)), pgd_losses, marker="o")
ax.set(xlabel="PGD step", ylabel="mean cross-entropy", title=f"PGD climbs the loss (ε = {EPS})")
ax.grid(alpha=0.3)
print("loss before the first step and at the end:", round(pgd_losses[0], 3), round(pgd_losses[-1], 3))
assert pgd_losses[-1] > pgd_losses[0], "PGD did not increase the loss: check the sign and the projection"

# %% [markdown]
# ## Cross-check the hand-written attacks
#
# Before trusting numbers from our own attack code, we compare it with two other
# implementations of the same definitions: fmbook's tested reference (`fmbook.robust`, with unit
# tests for the invariants) and, when installed, the Adversarial Robustness Toolbox (ART, a
# maintained library from IBM). Without a random start both attacks are deterministic, so the
# adversarial images must agree pixel for pixel (up to float rounding).

# %%
xs, ys = x_test[:200], y_test[:200]
alpha_check = EPS / 4
mine = {"FGSM": fgsm(standard, xs, ys, EPS),
        "PGD-10": pgd(standard, xs, ys, EPS, alpha_check, 10, random_start=False)[0]}
ref = {"FGSM": robust.fgsm(standard, xs, ys, EPS),
       "PGD-10": robust.pgd(standard, xs, ys, EPS, alpha=alpha_check, steps=10, random_start=False)}


def agreement(a, b):
    """Fraction of pixels that agree to 1e-5."""
    return float(((a - b).abs() <= 1e-5).float().mean())


for name in mine:
    print(f"{name}: hand-written vs fmbook.robust: {agreement(mine[name], ref[name]):.5f} of pixels agree")
    assert agreement(mine[name], ref[name]) > 0.999, f"the hand-written {name} disagrees with the reference"

# %%
if importlib.util.find_spec("art") is None:
    print("ART (adversarial-robustness-toolbox) is not installed: the library cross-check is SKIPPED. "
          "The unit tests cross-check fmbook.robust against torch.func instead; install the pinned "
          "adversarial-robustness-toolbox to run this cell's check.")
    art_agreement = "not installed"
else:
    import importlib.metadata

    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(model=standard, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28),
                            nb_classes=10, clip_values=(0.0, 1.0), device_type=device.type)
    xn, yn = xs.cpu().numpy(), ys.cpu().numpy()
    theirs = {
        "FGSM": FastGradientMethod(clf, norm=np.inf, eps=EPS, batch_size=200).generate(xn, y=yn),
        "PGD-10": ProjectedGradientDescent(clf, norm=np.inf, eps=EPS, eps_step=alpha_check, max_iter=10,
                                           num_random_init=0, batch_size=200, verbose=False).generate(xn, y=yn),
    }
    for name in mine:
        agree = agreement(mine[name].cpu(), torch.from_numpy(theirs[name]))
        print(f"{name}: hand-written vs ART {importlib.metadata.version('adversarial-robustness-toolbox')}: "
              f"{agree:.5f} of pixels agree")
        assert agree > 0.999, f"the hand-written {name} disagrees with ART"
    art_agreement = agree
ch.note("fraction of pixels agreeing with ART's PGD-10", art_agreement)

# %% [markdown]
# ## How fast does accuracy fall with ε?
#
# Robust accuracy is the accuracy on the attacked images. We sweep ε on the watched slice of the
# test set and draw FGSM and PGD on one plot. PGD's curve should lie below FGSM's: it is the
# stronger attack.

# %%
def accuracy_under(model, attack, eps, x=x_test, y=y_test, **kw):
    """Robust accuracy of `model` under `attack` at `eps` (fmbook checks the invariants of every batch)."""
    return robust.robust_accuracy(model, x, y, attack, eps=eps, batch_size=500, **kw)


def pgd_images(model, x, y, eps, steps=cfg.curve_steps, seed=ch.seed):
    return pgd(model, x, y, eps, alpha=2.5 * eps / steps, steps=steps,
               generator=torch.Generator().manual_seed(seed))[0]


eps_grid = sorted({0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, EPS})
curve_standard = {
    "FGSM": [accuracy_under(standard, fgsm, e, x=x_val, y=y_val) for e in tqdm(eps_grid, desc="FGSM sweep")],
    "PGD": [accuracy_under(standard, pgd_images, e, x=x_val, y=y_val) for e in tqdm(eps_grid, desc="PGD sweep")],
}


def plot_eps_curves(curves, title):
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, accs in curves.items():
        ax.plot(eps_grid, accs, marker="o", label=name)
    ax.axvline(EPS, color="grey", ls=":", label=f"ε = {EPS}")
    ax.set(xlabel="ε (L∞ budget)", ylabel="accuracy under attack", ylim=(0, 1.02), title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


plot_eps_curves(curve_standard, "standard model");

# %% [markdown]
# At ε = 0.3 the standard model should be close to useless under PGD. The check uses the whole
# test subset, not just the watched slice.

# %%
pgd_standard = accuracy_under(standard, pgd_images, EPS)
print(f"standard model: clean {clean_standard:.3f} -> PGD-{cfg.curve_steps} at ε = {EPS}: {pgd_standard:.3f}")
ch.check(f"standard model: accuracy under PGD at eps={EPS}", pgd_standard,
         {"smoke": (0.0, 0.35), "fast": (0.0, 0.10), "full": (0.0, 0.05)})

# %% [markdown]
# ## Adversarial training
#
# The defence: train on the attacked images instead of the clean ones, a min–max problem
#
# $$\min_\theta \; \mathbb{E}_{(x,y)} \Big[\max_{\|\delta\|_\infty \le \varepsilon} \mathcal{L}(f_\theta(x+\delta), y)\Big].$$
#
# The inner maximum is approximated by an attack on every batch. Three ways, same budget:
#
# | method | inner attack | cost per batch |
# | --- | --- | --- |
# | PGD training (Madry et al. 2018) | PGD with random start, several steps | steps + 1 passes |
# | fast FGSM training (Wong et al. 2020) | **random start**, then one FGSM step of α (`rs_alpha` × ε) | 2 passes |
# | plain FGSM training | one FGSM step from the clean image | 2 passes |
#
# On MNIST a budget of 0.3 from the first batch can stop the model from learning at all, so ε
# grows linearly from 0 to its final value during the first `ramp_fraction` of each training
# (a third of it in `fast`).
#
# > **Common mistake.** Generating the adversarial batch with the model in training mode, or
# > letting the attack's gradient reach the optimiser: the attack uses `torch.autograd.grad` on the
# > input only, and `train` puts the model back in training mode before the update.

# %%
def ramped(progress):
    """ε for this point of training: linear from 0 to EPS over the first cfg.ramp_fraction of it."""
    return EPS * min(1.0, progress / cfg.ramp_fraction) if cfg.ramp_fraction else EPS


def fgsm_rs_input(model, x, y, progress):
    eps = ramped(progress)
    start = project(x + (2 * torch.rand_like(x) - 1) * eps, x, eps)      # random start in the ball
    return project(fgsm(model, start, y, cfg.rs_alpha * eps), x, eps)    # one step of α, projected


def fgsm_input(model, x, y, progress):
    return fgsm(model, x, y, ramped(progress))                           # no random start


def pgd_input(model, x, y, progress):
    eps = ramped(progress)
    return pgd(model, x, y, eps, alpha=2.5 * eps / cfg.pgd_train_steps, steps=cfg.pgd_train_steps)[0]


def watch(model):
    """Accuracy under PGD at the full ε on the watched slice: what catastrophic overfitting destroys."""
    return accuracy_under(model, pgd_images, EPS, x=x_val, y=y_val)

# %% [markdown]
# ### Fast FGSM training with a random start
#
# Adversarial training needs far more updates than ordinary training. Measured on `fast` (2 CPU
# cores, strong PGD at ε = 0.3): 10,000 digits for 5 epochs (50,000 examples seen) gave a robust
# accuracy of only 0.32, while all 60,000 digits for 3 epochs (180,000 seen, about 3 minutes)
# gave about 0.70; both passed the clean-accuracy check (at least 0.90). A model that is accurate is not yet
# a model that is robust.

# %%
torch.manual_seed(ch.seed + 1)
fast_rs, hist_fast_rs = train(make_mnist_cnn().to(device), fgsm_rs_input, epochs=cfg.adv_epochs,
                              lr=cfg.adv_lr, desc="FGSM+RS", watch=watch)
print("robust accuracy on the watched slice during training:", np.round(hist_fast_rs["watched"], 3))

# %% [markdown]
# ### Plain FGSM training: catastrophic overfitting
#
# Same budget and schedule, but without the random start. Wong et al. observed that such a model
# can suddenly learn to defeat the one FGSM step it is trained on, while its accuracy against
# PGD collapses: the attack's linear approximation stops describing the loss surface. The FGSM
# accuracy stays high, the PGD accuracy does not. Watch its PGD accuracy during training.

# %%
torch.manual_seed(ch.seed + 1)
fast_plain, hist_fast_plain = train(make_mnist_cnn().to(device), fgsm_input, epochs=cfg.adv_epochs,
                                    lr=cfg.adv_lr, desc="FGSM", watch=watch)
print("robust accuracy on the watched slice during training:", np.round(hist_fast_plain["watched"], 3))

# %% [markdown]
# ### PGD training (Madry et al.)
#
# The most expensive of the three: `pgd_train_steps` attack steps for every batch, so `fast`
# gives it a single epoch (about as long as three epochs of fast FGSM training).

# %%
torch.manual_seed(ch.seed + 1)
madry, hist_madry = train(make_mnist_cnn().to(device), pgd_input, epochs=cfg.pgd_train_epochs,
                          lr=cfg.adv_lr, desc=f"PGD-{cfg.pgd_train_steps} training", watch=watch)
print("robust accuracy on the watched slice during training:", np.round(hist_madry["watched"], 3))

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for name, h in [("FGSM + random start", hist_fast_rs), ("FGSM, no random start", hist_fast_plain),
                (f"PGD-{cfg.pgd_train_steps} training", hist_madry)]:
    ax.plot(h["watched_at"], h["watched"], marker="o", label=name)
ax.set(xlabel="epochs of training", ylabel=f"accuracy under PGD, ε = {EPS}", ylim=(0, 1), title="robustness during training")
ax.legend()
ax.grid(alpha=0.3)

# %% [markdown]
# ## Honest evaluation: a strong attack, and checking that it is strong
#
# A defence is only as good as the strongest attack it was tested against. A model can look
# robust because the attack failed (too few steps, a bad start, a masked gradient), not because
# the model is robust. So we evaluate with PGD with many steps **and** several random restarts,
# and check the attack itself: its success must not drop when we give it more steps or restarts.

# %%
def strong_pgd(model, x, y, eps, steps=cfg.eval_steps, restarts=cfg.eval_restarts, seed=ch.seed):
    return robust.pgd(model, x, y, eps, alpha=cfg.alpha_eval, steps=steps, restarts=restarts,
                      generator=torch.Generator().manual_seed(seed))


budgets = [(cfg.curve_steps, 1), (cfg.eval_steps, 1), (cfg.eval_steps, cfg.eval_restarts)]
strength = {f"PGD-{s} x{r}": accuracy_under(fast_rs, strong_pgd, EPS, x=x_val, y=y_val, steps=s, restarts=r)
            for s, r in tqdm(budgets, desc="attack strength")}
print("FGSM+RS model on the watched slice:", {k: round(v, 3) for k, v in strength.items()})
values = list(strength.values())
print("a weak attack (few, large steps) overstates robustness: compare the first number with the others")
assert values[2] <= values[1] + 1e-9, "more restarts made the attack weaker: restarts are broken"
assert values[1] <= values[0] + 0.05, "more steps made the attack clearly weaker: the step size is off"

# %% [markdown]
# Now every model on the whole test subset: clean, FGSM, PGD with few steps and the strong PGD.

# %%
models = {"standard": standard, "FGSM + random start": fast_rs, "FGSM, no random start": fast_plain,
          f"PGD-{cfg.pgd_train_steps} trained": madry}
rows = {}
for name, model in tqdm(models.items(), desc="evaluation"):
    rows[name] = {
        "clean": robust.robust_accuracy(model, x_test, y_test),
        f"FGSM ε={EPS}": accuracy_under(model, fgsm, EPS),
        f"PGD-{cfg.curve_steps} ε={EPS}": accuracy_under(model, pgd_images, EPS),
        f"PGD-{cfg.eval_steps} x{cfg.eval_restarts} restarts ε={EPS}": accuracy_under(model, strong_pgd, EPS),
    }
table = pd.DataFrame(rows).T
strong_col = table.columns[-1]
table.style.format("{:.3f}").background_gradient(cmap="RdYlGn", vmin=0, vmax=1)

# %% [markdown]
# The trade-off in one picture: clean accuracy against accuracy under the strong attack.

# %%
fig, ax = plt.subplots(figsize=(5, 4))
for name, row in table.iterrows():
    ax.scatter(row[strong_col], row["clean"], s=60)
    ax.annotate(name, (row[strong_col], row["clean"]), textcoords="offset points", xytext=(5, -12), fontsize=8)
ax.set(xlabel=f"accuracy under strong PGD, ε = {EPS}", ylabel="clean accuracy", xlim=(-0.02, 1),
       title="clean versus robust accuracy")
ax.grid(alpha=0.3)

# %% [markdown]
# The checks. The robust models must keep much of their clean accuracy *and* resist the strong
# attack; a model that learned nothing, or an attack that does nothing, fails them.

# %%
robust_fast_rs = float(table.loc["FGSM + random start", strong_col])
robust_madry = float(table.loc[f"PGD-{cfg.pgd_train_steps} trained", strong_col])
robust_plain = float(table.loc["FGSM, no random start", strong_col])
robust_standard = float(table.loc["standard", strong_col])
ch.check("FGSM+RS model: clean accuracy", float(table.loc["FGSM + random start", "clean"]),
         {"smoke": (0.5, 1.0), "fast": (0.90, 1.0), "full": (0.97, 1.0)})
ch.check(f"FGSM+RS model: accuracy under strong PGD at eps={EPS}", robust_fast_rs,
         {"smoke": (0.2, 0.85), "fast": (0.55, 0.85), "full": (0.70, 0.97)})
ch.check("robust-accuracy gain of FGSM+RS over the standard model", robust_fast_rs - robust_standard,
         {"smoke": (0.1, 1.0), "fast": (0.5, 1.0), "full": (0.65, 1.0)})
ch.check("PGD-trained model: clean accuracy", float(table.loc[f"PGD-{cfg.pgd_train_steps} trained", "clean"]),
         {"smoke": (0.5, 1.0), "fast": (0.90, 1.0), "full": (0.98, 1.0)})
ch.check(f"PGD-trained model: accuracy under strong PGD at eps={EPS}", robust_madry,
         {"smoke": (0.2, 0.85), "fast": (0.55, 0.85), "full": (0.89, 0.99)})
ch.note(f"FGSM (no random start) model: accuracy under strong PGD at eps={EPS}", robust_plain)
ch.note(f"FGSM (no random start) model: accuracy under FGSM at eps={EPS}",
        float(table.loc["FGSM, no random start", f"FGSM ε={EPS}"]))

# %% [markdown]
# Did plain FGSM training overfit catastrophically in this run? Its signature is a model that
# resists the FGSM step it was trained on but not PGD: a large gap between the FGSM and the
# strong-PGD columns, and a watched PGD accuracy that fell during training after a peak. Training
# runs are random and short here, so we measure it rather than assume it.

# %%
fgsm_col = f"FGSM ε={EPS}"
gap_plain = float(table.loc["FGSM, no random start", fgsm_col]) - robust_plain
gap_rs = float(table.loc["FGSM + random start", fgsm_col]) - robust_fast_rs
drop_plain = max(hist_fast_plain["watched"]) - hist_fast_plain["watched"][-1]
collapsed = robust_plain < 0.5 * robust_fast_rs and gap_plain > gap_rs + 0.1
print(f"FGSM-minus-PGD gap: no random start {gap_plain:.3f}, random start {gap_rs:.3f}; "
      f"watched PGD accuracy of the no-random-start model fell {drop_plain:.3f} from its peak")
print("In this run plain FGSM training", "DID collapse (catastrophic overfitting)" if collapsed else
      "did NOT collapse to below half the robust accuracy of FGSM+RS: this time its short training "
      "stayed clear of catastrophic overfitting, which is not the same as being safe")
ch.note("FGSM-minus-PGD accuracy gap, FGSM training without random start", gap_plain)
ch.note("FGSM-minus-PGD accuracy gap, FGSM training with random start", gap_rs)
ch.note("catastrophic overfitting of plain FGSM training observed", bool(collapsed))

# %% [markdown]
# ## Explorer: one digit, two models, a slider for ε
#
# Move ε and pick a digit. The attack (PGD-20) is run against each model separately; the titles
# show each model's prediction on its own adversarial image. Without a live kernel you see the
# default view (the middle of each slider: ε = 0.2, digit 24).

# %%
from fmbook.widgets import explore


def show_attack(eps=0.15, index=0):
    x, y = x_test[index:index + 1], y_test[index:index + 1]
    fig, axes = plt.subplots(1, 3, figsize=(7, 2.7))
    axes[0].imshow(x[0, 0].cpu(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(f"clean, label {y.item()}", fontsize=9)
    for ax, (name, model) in zip(axes[1:], [("standard", standard), ("FGSM+RS trained", fast_rs)]):
        x_adv = pgd(model, x, y, eps, alpha=2.5 * eps / 20, steps=20, generator=torch.Generator().manual_seed(ch.seed))[0] \
            if eps > 0 else x
        with torch.no_grad():
            probs = F.softmax(model(x_adv), 1)[0]
        pred = int(probs.argmax())
        ax.imshow(x_adv[0, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name}: {pred} ({probs[pred]:.0%})", fontsize=9,
                     color="#b00020" if pred != y.item() else "black")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"PGD-20 at ε = {eps:.2f}")
    fig.tight_layout()
    return fig


explore(show_attack, eps=(0.0, 0.4, 0.01), index=(0, 49, 1));

# %% [markdown]
# ## Society: what "robust" can and cannot mean
#
# The numbers of this run:

# %%
print(f"standard model: {clean_standard:.1%} clean, {robust_standard:.1%} under strong PGD at ε = {EPS}")
print(f"FGSM+RS model:  {table.loc['FGSM + random start', 'clean']:.1%} clean, {robust_fast_rs:.1%} under strong PGD")
print(f"PGD-trained:    {table.loc[f'PGD-{cfg.pgd_train_steps} trained', 'clean']:.1%} clean, {robust_madry:.1%} under strong PGD")
print(f"plain FGSM:     {table.loc['FGSM, no random start', f'FGSM ε={EPS}']:.1%} under FGSM, "
      f"but {robust_plain:.1%} under strong PGD")

# %% [markdown]
# * **Accuracy is not robustness.** The standard model is right on almost every clean digit and
#   wrong on almost every attacked one. A deployed system meets its inputs from people, some of
#   whom want it to fail: spam and phishing filters, content moderation (images and text edited
#   to slip past a classifier), fraud detection, malware scanners, and the vision of cars, where
#   stickers on a stop sign have been shown to change what a network sees (Eykholt et al. 2018).
# * **Robustness costs.** Adversarial training costs several times the compute of ordinary
#   training (two passes per batch for fast FGSM, `steps + 1` for PGD) and usually some clean
#   accuracy: compare the clean column of the table. Who pays for that, and who bears the errors
#   when it is not paid, is a decision, not a technical detail.
# * **"Robust to the attack I tried" is not robustness.** Every model in the table looks more
#   robust under FGSM than under the strong PGD (the gaps printed above), and a model trained on
#   FGSM alone can look robust to FGSM while failing PGD entirely (catastrophic overfitting,
#   Wong et al. 2020; whether it happened in this run is printed above). Many published
#   defences were later broken by stronger or adaptive attacks (Athalye, Carlini & Wagner 2018;
#   Tramèr et al. 2020). This chapter's evaluation uses many steps and restarts, checks that more
#   attack effort never helps the model, and cross-checks the attack code against a library; it
#   still only certifies robustness to *this* attack, in *this* threat model (L∞, ε = 0.3, pixel
#   changes). Rotations, a different font, a patch or a change of a few pixels by a lot are other
#   threat models entirely, and an arms race follows every defence.
# * **Claims should come with their threat model.** "Robust" means nothing without ε, the norm,
#   the attack, its budget, and whether the attacker knows the defence. The honest claim of this
#   run is the one the next cell prints, nothing more.

# %%
print(f"Claim: on {n_test:,} MNIST test digits, the FGSM+RS model keeps {robust_fast_rs:.1%} accuracy "
      f"against untargeted L∞ PGD with ε = {EPS}, {cfg.eval_steps} steps of {cfg.alpha_eval} and "
      f"{cfg.eval_restarts} random restarts, by an attacker who knows the model's weights.")

# %% [markdown]
# ## Exercises
#
# **Exercise 05.fgsm**: write FGSM. Given `model`, images `x` (N, 1, H, W) in [0, 1], labels `y`
# and `eps`, return the adversarial images.

# %%
from fmbook.exercises import check, hint, show_solution


def my_fgsm(model, x, y, eps):
    raise NotImplementedError  # your code here


check("05.fgsm", my_fgsm)

# %% [markdown]
# **Exercise 05.project**: write the projection of PGD: bring `x_adv` back into the ε-ball around
# the clean `x` and into the pixel range [0, 1].

# %%
def my_project(x_adv, x, eps):
    raise NotImplementedError  # your code here


check("05.project", my_project)

# %% [markdown]
# **Exercise 05.pgd_step**: one step of PGD: from the current `x_adv`, with the gradient `grad` of
# the loss at `x_adv`, step by `alpha` and project (around the clean `x`, radius `eps`).

# %%
def my_pgd_step(x_adv, x, grad, alpha, eps):
    raise NotImplementedError  # your code here


check("05.pgd_step", my_pgd_step)

# %% [markdown]
# Stuck? `hint("05.fgsm")`, `hint("05.fgsm", 2)`, and only then `show_solution("05.fgsm")`.
#
# ## Results card

# %%
ch.finish()
