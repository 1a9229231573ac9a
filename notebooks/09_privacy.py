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
# # Chapter 09: Privacy: what a model remembers about its training data, and how to limit it
#
# A trained model is a summary of its training data, and sometimes the summary keeps too much.
# In this chapter you **attack** models to find out whether a given person's record was in their
# training set (membership inference: a loss threshold, then the likelihood-ratio attack LiRA with
# shadow models), **measure** who is exposed and how leakage follows overfitting, **defend** with
# differentially private training (DP-SGD: one step by hand, then Opacus) and pay for it in
# accuracy (and see who pays), and **distribute** training with federated averaging, then break
# its privacy promise by reconstructing a digit from one client's gradient.
#
# What to expect (MNIST; "TPR at 1% FPR" is the share of members an attack finds while wrongly
# accusing 1% of non-members; chance is 0.01; the bands are checked below):
#
# | profile | LiRA TPR at 1% FPR (overfit MLP) | DP-SGD test accuracy at ε = 1 (ε = 8 at least as high) | FedAvg IID − centralised / non-IID − IID | time |
# | --- | --- | --- | --- | --- |
# | `smoke` | ≥ 0.02 (measured 0.139) | ≥ 0.3 (measured 0.623; 94 steps only) | −0.15 .. 0.05 / ≤ 0 (measured −0.048 / −0.227) | under 2 min |
# | `fast` | 0.08 .. 0.3 (measured 0.14 to 0.17, seeds 0, 1, 2) | 0.74 .. 0.95 (measured 0.82 to 0.86) | −0.04 .. 0.02 / −0.3 .. −0.05 (measured −0.016 to −0.014 / −0.18 to −0.14) | under 15 min on 2 CPU cores |
# | `full` | not measured | not measured (Opacus: 94.6% at ε ≈ 1.2, 97.1% at ε ≈ 7.1, 98.9% without DP) | not measured | GPU |
#
# Canaries in a small language model (section "Canaries in a language model"): the exposure of the
# most-repeated canary without DP minus with DP-SGD at ε = 8 is shown, not checked, in `smoke`
# (measured 6.2 bits on one thread, 0.6 on two) and DP's validation loss must be higher (measured +0.50 nats per token); in `fast`
# the gap must be ≥ 2.5 bits (measured 8.6 to 11.6, seeds 0, 1, 2) and the DP model's validation
# loss 0.25 to 1.95 nats higher (measured 0.93 to 1.26). The whole chapter took 5.4 to 5.9 min of
# CPU on one thread in `fast` and about 70 s in `smoke`.
#
# Chance for a membership attack at 1% FPR is 0.01. The `fast` runs took about 13 minutes each with
# one thread on a shared, busy 2-core machine.

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
# PyTorch and Opacus (Meta's library for differentially private training in PyTorch).
# `fmbook.privacy` holds tested reference versions of what this notebook writes by hand, and the
# plumbing around it (ROC curves, privacy accountants, data partitions).

# %%
import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.stats import norm, spearmanr
from tqdm.auto import tqdm

import fmbook
from fmbook import privacy
from fmbook.data import load_mnist
from fmbook.device import torch_device

ch = fmbook.start("09_privacy", seed=0)
cfg = ch.settings
device = torch_device()
rng = np.random.default_rng(ch.seed)
print(f"device: {device} | settings: {dict(cfg)}")

# %% [markdown]
# ## Data
#
# MNIST (`fmbook.data.load_mnist`, 60,000 training and 10,000 test digits). The membership
# attacks use a small **pool** of training digits: each model trains on a random half of the
# pool, so every digit of the pool is a member of some models and a non-member of others. The
# attacker knows the pool (for example, records that might be in a hospital's data) but not
# which half a given model saw. Small data and many epochs make an overfit model: the setting in
# which leakage is easiest to see.

# %%
(x_train_all, y_train_all), (x_test_all, y_test_all) = load_mnist()
n_test = cfg.n_test or len(x_test_all)


def flat(x):
    """uint8 digits (n, 28, 28) -> float tensor (n, 784) in [0, 1]."""
    return torch.tensor(x.reshape(len(x), -1) / 255.0, dtype=torch.float32)


order = rng.permutation(len(x_train_all))
pool_idx = order[:cfg.mi_pool]                                       # the attacker's candidates
attacker_idx = order[cfg.mi_pool:2 * cfg.mi_pool]                   # digits the attacker owns
x_pool, y_pool = flat(x_train_all[pool_idx]), torch.tensor(y_train_all[pool_idx], dtype=torch.long)
x_own, y_own = flat(x_train_all[attacker_idx]), torch.tensor(y_train_all[attacker_idx], dtype=torch.long)
x_test, y_test = flat(x_test_all[:n_test]), torch.tensor(y_test_all[:n_test], dtype=torch.long)

half = rng.permutation(cfg.mi_pool)
members, non_members = np.sort(half[:cfg.mi_pool // 2]), np.sort(half[cfg.mi_pool // 2:])
privacy.check_disjoint(members, non_members)      # an error if any digit were both
print(f"data: MNIST pool of {cfg.mi_pool:,} training digits ({len(members):,} members, {len(non_members):,} "
      f"non-members of the target); {len(x_own):,} other digits owned by the attacker; {n_test:,} test digits")

# %% [markdown]
# ## The target: a small MLP, trained to memorise
#
# One hidden layer, Adam, many epochs on few digits: training accuracy reaches 100% and the
# test accuracy stays well below. The training loop takes an `on_epoch` callback so that we can
# watch the model while it overfits.

# %%
def make_mlp(hidden=cfg.mi_hidden):
    return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_mlp(model, x, y, *, epochs=cfg.mi_epochs, batch_size=cfg.mi_batch, lr=cfg.mi_lr, seed=None,
              optimizer=None, loader=None, on_epoch=None, desc="MLP"):
    """Train with Adam and cross-entropy; `optimizer`/`loader` replace them (Opacus passes its own).
    The batch order is drawn from `seed` (default: the chapter's seed)."""
    model.to(device)
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(ch.seed if seed is None else seed)
    for epoch in tqdm(range(epochs), desc=desc, leave=False):
        model.train()
        batches = loader if loader is not None else (
            (x[i], y[i]) for i in torch.randperm(len(x), generator=gen).split(batch_size))
        for xb, yb in batches:
            if len(xb) == 0:                       # Poisson sampling can draw an empty batch
                continue
            loss = F.cross_entropy(model(xb.to(device)), yb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
        if on_epoch is not None:
            on_epoch(epoch + 1, model)
    return model.eval()


@torch.no_grad()
def losses_of(model, x, y):
    """Per-example cross-entropy loss, as a numpy array."""
    model.eval()
    return F.cross_entropy(model(x.to(device)), y.to(device), reduction="none").cpu().numpy()


@torch.no_grad()
def accuracy_of(model, x, y):
    model.eval()
    return float((model(x.to(device)).argmax(1).cpu() == y).float().mean())


torch.manual_seed(ch.seed)
target = train_mlp(make_mlp(), x_pool[members], y_pool[members], seed=ch.seed, desc="target")
acc_members = accuracy_of(target, x_pool[members], y_pool[members])
acc_non_members = accuracy_of(target, x_pool[non_members], y_pool[non_members])
print(f"target: accuracy {acc_members:.3f} on its {len(members)} training digits, {acc_non_members:.3f} on the "
      f"{len(non_members)} non-members, {accuracy_of(target, x_test, y_test):.3f} on the test digits")
ch.check("target MLP: train minus held-out accuracy", acc_members - acc_non_members,
         {"smoke": (0.03, 0.5), "fast": (0.05, 0.3), "full": None})

# %% [markdown]
# ## Attack 1: a loss threshold
#
# The simplest membership attack (Yeom et al. 2018): a model's loss is lower on the digits it
# trained on, so call a digit a member when its loss is below a threshold. With the score
# `−loss` ("higher = more likely a member"), every threshold gives a true-positive rate (members
# found) and a false-positive rate (non-members wrongly accused): the ROC curve.
#
# **Why TPR at a low FPR, not AUC or accuracy.** An attack that is right 60% of the time on
# average may be useless against everyone, or certain about a few people and clueless about the
# rest. Privacy is about the individuals who are exposed, so the question is: *how many members
# can the attacker identify while almost never accusing a non-member?* That is the TPR at FPR
# 0.1% or 1% (Carlini et al. 2022), and a log-log ROC plot shows it. At chance, TPR = FPR.

# %%
score_in, score_out = -losses_of(target, x_pool[members], y_pool[members]), \
    -losses_of(target, x_pool[non_members], y_pool[non_members])
loss_auc = privacy.auc(score_in, score_out)
loss_tpr1 = privacy.tpr_at_fpr(score_in, score_out, 0.01)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].hist(-score_in, bins=50, alpha=0.6, label="members", log=True)
axes[0].hist(-score_out, bins=50, alpha=0.6, label="non-members", log=True)
axes[0].set(xlabel="loss", ylabel="digits", title="loss of the target model")
axes[0].legend()
fpr_l, tpr_l, _ = privacy.roc(score_in, score_out)
axes[1].plot(fpr_l, tpr_l, label=f"loss threshold (AUC {loss_auc:.2f})")
axes[1].plot([0, 1], [0, 1], "--", c="grey")
axes[1].set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC, linear axes")
axes[1].legend()
fig.tight_layout()
print(f"loss-threshold attack: AUC {loss_auc:.3f}, TPR at 1% FPR {loss_tpr1:.3f} (chance: 0.010)")
ch.check("loss attack on the target: AUC", loss_auc, {"smoke": (0.55, 1.0), "fast": (0.53, 0.7), "full": None})

# %% [markdown]
# The TPR above uses the *best* threshold for 1% FPR, which needs the target's non-members to
# find. A real attacker has to set the threshold without them: here, on a model they train
# themselves on digits they own (the "attacker's" digits), calling a digit a member when its loss
# is below what 99% of their own model's non-members exceed. Does the threshold transfer?

# %%
torch.manual_seed(ch.seed + 1)
own_half = rng.permutation(len(x_own))
own_in, own_out = own_half[:len(members)], own_half[len(members):2 * len(members)]
own_model = train_mlp(make_mlp(), x_own[own_in], y_own[own_in], seed=ch.seed + 1, desc="attacker's model")
threshold = np.quantile(losses_of(own_model, x_own[own_out], y_own[own_out]), 0.01)
realised_fpr = float(np.mean(-score_out <= threshold))
realised_tpr = float(np.mean(-score_in <= threshold))
print(f"threshold set on the attacker's own model: loss <= {threshold:.2e}; on the target it accuses "
      f"{realised_fpr:.2%} of non-members (aimed at 1%) and finds {realised_tpr:.2%} of members")
ch.note("loss attack, threshold from the attacker's own model: realised FPR", realised_fpr)
ch.note("loss attack, threshold from the attacker's own model: realised TPR", realised_tpr)

# %% [markdown]
# ## Attack 2: LiRA, a likelihood ratio with shadow models
#
# A single threshold treats every digit alike, but a badly written 8 has a high loss even when
# it was trained on, and a clean 1 a low loss even when it was not. LiRA (Carlini et al. 2022)
# calibrates per example: the attacker trains **shadow models** on random halves of the pool,
# and for each digit looks at its statistic under the shadows that trained on it (IN) and those
# that did not (OUT). The statistic is the logit-scaled confidence in the true label,
# φ = log p_y − log(1 − p_y), which is close to Gaussian over training runs. Fit one Gaussian to
# the IN values and one to the OUT values; the score of the target's φ is the log-likelihood
# ratio (online LiRA), or, with OUT models only, how far above the OUT Gaussian it lies (offline).
#
# We train all models at once (`privacy.train_stacked_mlps`: the same MLP and recipe as the
# target, stacked so that one matrix product serves all of them on a CPU). Models come in
# complementary pairs (one trains on a random half, the next on the other half), so every digit
# is IN for exactly half of them. Each of the first few models in turn plays the target, the
# others are its shadows; pooling their scores gives enough non-members to measure 0.1% FPR.

# %%
K = cfg.mi_models
masks = np.zeros((K, cfg.mi_pool), dtype=bool)
for pair in range(K // 2):
    chosen = rng.permutation(cfg.mi_pool)[:cfg.mi_pool // 2]
    masks[2 * pair, chosen] = True
    masks[2 * pair + 1] = ~masks[2 * pair]
shadow_logits = privacy.train_stacked_mlps(x_pool, y_pool, masks, hidden=cfg.mi_hidden, epochs=cfg.mi_epochs,
                                           batch_size=cfg.mi_batch, lr=cfg.mi_lr, seed=ch.seed + 2,
                                           device=device)
logits_all = shadow_logits(x_pool).cpu().numpy()                      # (K, pool, 10)
phi = privacy.logit_confidence(logits_all, y_pool.numpy())            # (K, pool)
loss_all = -(torch.log_softmax(torch.tensor(logits_all), -1)
             .gather(2, y_pool.view(1, -1, 1).expand(K, -1, 1))[..., 0].numpy())
print(f"{K} models: mean train accuracy {np.mean([(logits_all[k][masks[k]].argmax(1) == y_pool.numpy()[masks[k]]).mean() for k in range(K)]):.3f}, "
      f"held-out {np.mean([(logits_all[k][~masks[k]].argmax(1) == y_pool.numpy()[~masks[k]]).mean() for k in range(K)]):.3f}")

# %% [markdown]
# LiRA written out: per digit, the mean of φ over its IN shadows and over its OUT shadows, and a
# variance shared by all digits (Carlini et al. advise one global variance when there are fewer
# than about 64 shadow models: a per-digit variance from a handful of values is too noisy).

# %%
def lira(phi_target, phi_shadow, in_shadow, online=True):
    mu_in = (phi_shadow * in_shadow).sum(0) / in_shadow.sum(0)
    mu_out = (phi_shadow * ~in_shadow).sum(0) / (~in_shadow).sum(0)
    sd_in = np.sqrt(((phi_shadow - mu_in) ** 2)[in_shadow].sum() / (in_shadow.sum() - 1))
    sd_out = np.sqrt(((phi_shadow - mu_out) ** 2)[~in_shadow].sum() / ((~in_shadow).sum() - 1))
    if not online:                                          # one-sided: above the OUT Gaussian?
        return norm.logcdf(phi_target, mu_out, sd_out)
    return norm.logpdf(phi_target, mu_in, sd_in) - norm.logpdf(phi_target, mu_out, sd_out)


scores = {"loss threshold": ([], []), "LiRA offline": ([], []), "LiRA online": ([], [])}
for t in range(cfg.mi_targets):
    shadows = [k for k in range(K) if k != t]
    mine_online = lira(phi[t], phi[shadows], masks[shadows])
    ref_online = privacy.lira_scores(phi[t], phi[shadows], masks[shadows], online=True)
    assert np.allclose(mine_online, ref_online), "the hand-written LiRA disagrees with fmbook.privacy.lira_scores"
    for name, s in [("loss threshold", -loss_all[t]), ("LiRA offline", lira(phi[t], phi[shadows], masks[shadows], False)),
                    ("LiRA online", mine_online)]:
        scores[name][0].append(s[masks[t]])
        scores[name][1].append(s[~masks[t]])
scores = {name: (np.concatenate(a), np.concatenate(b)) for name, (a, b) in scores.items()}
print(f"hand-written LiRA equals fmbook.privacy.lira_scores on {cfg.mi_targets} targets")
attack_table = pd.DataFrame({name: {"AUC": privacy.auc(a, b), "TPR at 0.1% FPR": privacy.tpr_at_fpr(a, b, 0.001),
                                    "TPR at 1% FPR": privacy.tpr_at_fpr(a, b, 0.01)}
                             for name, (a, b) in scores.items()}).T
print(f"{cfg.mi_targets} targets pooled: {len(scores['LiRA online'][0]):,} member and "
      f"{len(scores['LiRA online'][1]):,} non-member scores")
attack_table.round(4)

# %%
privacy.plot_roc_loglog({name: privacy.roc(a, b)[:2] for name, (a, b) in scores.items()},
                        title=f"membership inference, {cfg.mi_targets} targets pooled");

# %%
lira_tpr1 = float(attack_table.loc["LiRA online", "TPR at 1% FPR"])
lira_tpr01 = float(attack_table.loc["LiRA online", "TPR at 0.1% FPR"])
ch.check("LiRA online: TPR at 1% FPR", lira_tpr1, {"smoke": (0.02, 1.0), "fast": (0.08, 0.3), "full": None})
ch.note("LiRA online: TPR at 0.1% FPR", lira_tpr01)
ch.note("loss threshold (same targets): TPR at 1% FPR", float(attack_table.loc["loss threshold", "TPR at 1% FPR"]))
print(f"LiRA online finds {lira_tpr1:.1%} of members at 1% FPR ({lira_tpr1 / 0.01:.1f} times chance) and "
      f"{lira_tpr01:.2%} at 0.1% FPR ({lira_tpr01 / 0.001:.1f} times chance); the loss threshold "
      f"{attack_table.loc['loss threshold', 'TPR at 1% FPR']:.1%} at 1% FPR.")
print("Carlini et al. 2022 (CIFAR-10, 256 shadow models, wide ResNets): LiRA online reaches about 8% TPR at "
      "0.1% FPR where the loss attack stays near chance; a small MLP on MNIST with "
      f"{K} shadow models is a much smaller setting.")

# %% [markdown]
# ### Cross-check with ART
#
# The Adversarial Robustness Toolbox (ART, pinned in this book) has membership attacks too. Its
# rule-based attack calls a digit a member when the model classifies it correctly: the same
# rule written by hand must give the same answers, digit for digit. Its black-box attack learns
# a classifier on the loss; on held-out digits its AUC should be close to our threshold's.

# %%
import importlib.metadata

from art.attacks.inference.membership_inference import (MembershipInferenceBlackBox,
                                                        MembershipInferenceBlackBoxRuleBased)
from art.estimators.classification import PyTorchClassifier

art_clf = PyTorchClassifier(model=target, loss=nn.CrossEntropyLoss(), input_shape=(784,), nb_classes=10,
                            clip_values=(0.0, 1.0), device_type=device.type)
xm, ym = x_pool[members].numpy(), y_pool[members].numpy()
xn, yn = x_pool[non_members].numpy(), y_pool[non_members].numpy()
art_rule = MembershipInferenceBlackBoxRuleBased(art_clf)
theirs = np.r_[art_rule.infer(xm, ym), art_rule.infer(xn, yn)].astype(int)
with torch.no_grad():
    mine = np.r_[target(x_pool[members].to(device)).argmax(1).cpu().numpy() == ym,
                 target(x_pool[non_members].to(device)).argmax(1).cpu().numpy() == yn].astype(int)
agree = float((mine == theirs).mean())
print(f"ART {importlib.metadata.version('adversarial-robustness-toolbox')} rule-based attack vs the hand-written "
      f"'correct means member' rule: {agree:.4f} of {len(mine)} answers agree")
assert agree == 1.0, "the hand-written rule disagrees with ART's"

h_in, h_out = len(members) // 2, len(non_members) // 2              # fit on one half, score the other
art_bb = MembershipInferenceBlackBox(art_clf, input_type="loss", attack_model_type="rf")
art_bb.fit(xm[:h_in], ym[:h_in], xn[:h_out], yn[:h_out])
art_in = art_bb.infer(xm[h_in:], ym[h_in:], probabilities=True).ravel()
art_out = art_bb.infer(xn[h_out:], yn[h_out:], probabilities=True).ravel()
art_auc, ours_auc = privacy.auc(art_in, art_out), privacy.auc(score_in[h_in:], score_out[h_out:])
print(f"on the held-out halves: ART's learned loss attack AUC {art_auc:.3f}, our loss threshold AUC {ours_auc:.3f}")
ch.check("AUC: ART's learned loss attack minus our loss threshold", art_auc - ours_auc,
         {"smoke": (-0.1, 0.1), "fast": (-0.05, 0.05), "full": None})

# %% [markdown]
# ## Leakage follows overfitting
#
# Train on less data, or for longer, and the gap between training and held-out accuracy grows;
# so does the attack's success. We train one model per training-set size and measure, after
# several numbers of epochs, the generalisation gap and the loss attack against the same
# non-members.

# %%
sweep = []
for size in cfg.overfit_sizes:
    train_part = members[:size]

    def watch(epoch, model, size=size, train_part=train_part):
        if epoch in cfg.overfit_epochs:
            s_in = -losses_of(model, x_pool[train_part], y_pool[train_part])
            s_out = -losses_of(model, x_pool[non_members], y_pool[non_members])
            sweep.append({"members": size, "epochs": epoch,
                          "gap": accuracy_of(model, x_pool[train_part], y_pool[train_part])
                          - accuracy_of(model, x_pool[non_members], y_pool[non_members]),
                          "attack AUC": privacy.auc(s_in, s_out),
                          "TPR at 1% FPR": privacy.tpr_at_fpr(s_in, s_out, 0.01)})

    torch.manual_seed(ch.seed + 3)
    train_mlp(make_mlp(), x_pool[train_part], y_pool[train_part], epochs=max(cfg.overfit_epochs),
              seed=ch.seed + 3, on_epoch=watch, desc=f"{size} members")
sweep = pd.DataFrame(sweep)
rho = spearmanr(sweep["gap"], sweep["attack AUC"]).statistic
fig, ax = plt.subplots(figsize=(5, 4))
for size, group in sweep.groupby("members"):
    ax.plot(group["gap"], group["attack AUC"], marker="o", label=f"{size} members")
    for _, r in group.iterrows():
        ax.annotate(f"{r['epochs']:.0f} ep", (r["gap"], r["attack AUC"]), fontsize=7, xytext=(3, -9),
                    textcoords="offset points")
ax.set(xlabel="generalisation gap (train − held-out accuracy)", ylabel="loss attack AUC",
       title=f"leakage follows overfitting (Spearman {rho:.2f})")
ax.legend()
ax.grid(alpha=0.3)
ch.check("Spearman correlation of generalisation gap and attack AUC", rho,
         {"smoke": (0.3, 1.0), "fast": (0.4, 1.0), "full": None})
sweep.round(3)

# %% [markdown]
# ## Who is exposed?
#
# Average over all models the confidence φ of each digit when IN minus when OUT: how much
# training on a digit changes what the model says about it (Feldman's memorisation). The most
# memorised digits are the ones LiRA finds. Are they unusual? We measure "unusual" by the OUT
# confidence: how well models that never saw the digit do on it.

# %%
mem_score = (phi * masks).sum(0) / masks.sum(0) - (phi * ~masks).sum(0) / (~masks).sum(0)
typicality = (phi * ~masks).sum(0) / (~masks).sum(0)
top = np.argsort(-mem_score)[:max(10, cfg.mi_pool // 10)]
rest = np.setdiff1d(np.arange(cfg.mi_pool), top)
typ_gap = float(typicality[rest].mean() - typicality[top].mean())
fig, axes = plt.subplots(1, 8, figsize=(11, 1.9))
for ax, j in zip(axes, top[:8]):
    ax.imshow(x_pool[j].view(28, 28), cmap="gray")
    ax.set_title(f"label {y_pool[j].item()}\nmem {mem_score[j]:.1f}", fontsize=8)
    ax.axis("off")
fig.suptitle("the most memorised digits of the pool")
by_class = pd.Series(mem_score).groupby(y_pool.numpy()).mean()
print(f"most exposed tenth: mean OUT confidence {typicality[top].mean():.2f}, the rest {typicality[rest].mean():.2f}: "
      f"exposed digits are the ones models get wrong unless they saw them. By class, the most memorised is "
      f"{by_class.idxmax()} ({by_class.max():.2f}), the least {by_class.idxmin()} ({by_class.min():.2f}).")
ch.check("OUT confidence: rest minus most-exposed tenth", typ_gap, {"smoke": (0.5, None), "fast": (6.0, None), "full": None})

# %% [markdown]
# ## DP-SGD, one step by hand
#
# Differential privacy bounds how much any single training example can change what training
# outputs: with (ε, δ)-DP, for any two data sets differing in one person, the probability of any
# outcome changes by at most a factor e^ε (plus δ). DP-SGD (Abadi et al. 2016) gets there in
# three moves per step: compute **each example's** gradient, **clip** each to norm at most C (so
# no one can move the model by more than C), add **Gaussian noise** of standard deviation σC to
# the sum, and divide by the batch size. An accountant turns σ, the sampling rate and the number
# of steps into ε.
#
# The model: the small convnet of Opacus's MNIST example. BatchNorm is not allowed (it mixes
# examples within a batch, so no example has a gradient of its own); `privacy.check_dp_compatible`
# says which layer and why:

# %%
from fmbook.models import make_mnist_cnn

try:
    privacy.check_dp_compatible(make_mnist_cnn(batch_norm=True))
except privacy.UnsupportedModelError as err:
    print(err)


def make_dp_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 8, 2, padding=3), nn.ReLU(), nn.MaxPool2d(2, 1),
                         nn.Conv2d(16, 32, 4, 2), nn.ReLU(), nn.MaxPool2d(2, 1), nn.Flatten(),
                         nn.Linear(32 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10))


privacy.check_dp_compatible(make_dp_cnn())
print(f"make_dp_cnn: {sum(p.numel() for p in make_dp_cnn().parameters()):,} parameters, no BatchNorm")

# %% [markdown]
# Per-example gradients with `torch.func`: `grad` of the loss of one example, `vmap` over the
# batch. Then clipping, noise and averaging, exactly as described.

# %%
from torch.func import functional_call, grad, vmap

torch.manual_seed(ch.seed + 4)
cnn = make_dp_cnn().to(device)
xb = torch.tensor(x_train_all[:32, None] / 255.0, dtype=torch.float32, device=device)
yb = torch.tensor(y_train_all[:32], dtype=torch.long, device=device)
C = cfg.clip


def dp_sgd_step_gradient(model, x, y, C, sigma, generator=None):
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_one(p, xi, yi):
        return F.cross_entropy(functional_call(model, p, (xi[None],)), yi[None])

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y)    # each (B, *shape)
    B = len(x)
    norms = torch.sqrt(sum(g.reshape(B, -1).pow(2).sum(1) for g in per_example.values()))
    factor = (C / (norms + 1e-6)).clamp(max=1.0)                               # clip each example to C
    out = {}
    for k, g in per_example.items():
        summed = torch.einsum("i,i...->...", factor, g)
        noise = sigma * C * torch.randn(summed.shape, generator=generator).to(summed.device)
        out[k] = (summed + noise) / B
    return out, norms


mine, norms = dp_sgd_step_gradient(cnn, xb, yb, C, sigma=0.0)
print(f"per-example gradient norms: median {norms.median():.2f}, max {norms.max():.2f}; "
      f"{(norms > C).float().mean():.0%} of them are clipped at C = {C}")

# %% [markdown]
# The same batch through Opacus: `GradSampleModule` computes the per-example gradients with hooks,
# `DPOptimizer` clips, adds noise (σ = 0 here, so that the two can be compared exactly) and
# averages. With noise off the results must agree to 1e-6.

# %%
from opacus import GradSampleModule, PrivacyEngine
from opacus.optimizers import DPOptimizer

gsm = GradSampleModule(copy.deepcopy(cnn))
dp_opt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=0.0), noise_multiplier=0.0, max_grad_norm=C,
                     expected_batch_size=len(xb))
F.cross_entropy(gsm(xb), yb).backward()
dp_opt.pre_step()                                              # clip, add noise, average: p.grad
opacus_grad = {k.removeprefix("_module."): p.grad for k, p in gsm.named_parameters()}
hand_vs_opacus = max((mine[k] - opacus_grad[k]).abs().max().item() for k in mine)
print(f"largest difference between the hand-written clipped average and Opacus's: {hand_vs_opacus:.2e}")
ch.check("hand DP-SGD step vs Opacus: largest difference", hand_vs_opacus,
         {"smoke": (0.0, 1e-6), "fast": (0.0, 1e-6), "full": (0.0, 1e-6)})
noisy, _ = dp_sgd_step_gradient(cnn, xb, yb, C, sigma=1.0, generator=torch.Generator().manual_seed(ch.seed))
signal = math.sqrt(sum(v.pow(2).sum().item() for v in mine.values()))
noise_norm = math.sqrt(sum((noisy[k] - mine[k]).pow(2).sum().item() for k in mine))
print(f"with σ = 1: the noise added to this batch's average gradient has norm {noise_norm:.3f}, the clipped "
      f"average itself {signal:.3f}. Over many steps the signal adds up and the noise averages out.")

# %% [markdown]
# ## DP-SGD with Opacus: the privacy-utility curve
#
# Now whole training runs at several ε (with δ = 1e-5, below 1 / 60,000). Opacus's
# `make_private_with_epsilon` picks the noise multiplier σ that reaches the target ε after the
# planned epochs, and samples each batch with Poisson sampling (each digit joins a batch with
# probability q = batch size / n), which the accounting assumes. ε = ∞ is ordinary training of
# the same model trained the usual way (Adam); the DP runs use plain SGD with a large step, which
# works better than Adam under DP-SGD's noise (measured here: 92% against 85% at ε = 1).
#
# **Two accountants, one run.** ε is an upper bound, and how tight depends on the accountant.
# Opacus's RDP accountant (Rényi DP, Mironov 2017) is the classic; the PRV accountant (Gopi et al.
# 2021) computes the privacy loss distribution numerically and gives a tighter bound for the
# *same* σ, q and steps. We calibrate σ with RDP and report both.

# %%
n_dp = cfg.dp_n_train or len(x_train_all)
x_dp = torch.tensor(x_train_all[:n_dp, None] / 255.0, dtype=torch.float32)
y_dp = torch.tensor(y_train_all[:n_dp], dtype=torch.long)
x_test_img = x_test.view(-1, 1, 28, 28)
dp_runs = []
for eps in list(cfg.dp_epsilons) + [math.inf]:
    torch.manual_seed(ch.seed + 5)
    model = make_dp_cnn().to(device)
    opt = (torch.optim.SGD(model.parameters(), lr=cfg.dp_lr) if math.isfinite(eps)
           else torch.optim.Adam(model.parameters(), lr=cfg.lr_no_dp))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_dp, y_dp), batch_size=cfg.dp_batch,
                                         shuffle=True, generator=torch.Generator().manual_seed(ch.seed))
    sigma, steps = 0.0, cfg.dp_epochs * len(loader)
    if math.isfinite(eps):
        engine = PrivacyEngine(accountant="rdp")
        model, opt, loader = engine.make_private_with_epsilon(
            module=model, optimizer=opt, data_loader=loader, target_epsilon=eps, target_delta=cfg.delta,
            epochs=cfg.dp_epochs, max_grad_norm=C)
        sigma = opt.noise_multiplier
    train_mlp(model, None, None, epochs=cfg.dp_epochs, optimizer=opt, loader=loader, desc=f"ε = {eps}")
    with torch.no_grad():
        pred = torch.cat([model(x_test_img[i:i + 2000].to(device)).argmax(1).cpu() for i in range(0, n_test, 2000)])
    q = cfg.dp_batch / n_dp
    run = {"target ε": eps, "σ": sigma, "steps": steps,
           "ε (RDP)": privacy.epsilon(sigma, q, steps, cfg.delta, accountant="rdp"),
           "ε (PRV)": privacy.epsilon(sigma, q, steps, cfg.delta, accountant="prv"),
           "accuracy": float((pred == y_test).float().mean())}
    run.update({f"class_{c}": float((pred[y_test == c] == c).float().mean()) for c in range(10)})
    dp_runs.append(run)
dp_table = pd.DataFrame(dp_runs)
dp_table[["target ε", "σ", "steps", "ε (RDP)", "ε (PRV)", "accuracy"]].round(3)

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
finite = dp_table[np.isfinite(dp_table["target ε"])]
ax.plot(finite["ε (RDP)"], finite["accuracy"], marker="o", label="DP-SGD (this run, ε by RDP)")
ax.axhline(dp_table["accuracy"].iloc[-1], ls="--", c="grey", label="no DP (this run)")
ax.scatter([1.2, 7.1], [0.946, 0.971], marker="x", c="k", label="Opacus MNIST example")
ax.axhline(0.989, ls=":", c="k", lw=1, label="Opacus example, no DP")
ax.set(xscale="log", xlabel="ε (δ = 1e-5)", ylabel="test accuracy", title="privacy-utility curve")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
acc_by_eps = dict(zip(dp_table["target ε"], dp_table["accuracy"]))
eps_lo, eps_hi = min(cfg.dp_epsilons), max(cfg.dp_epsilons)
print(f"this run ({cfg.dp_epochs} epochs on {n_dp:,} digits): " +
      ", ".join(f"ε = {e:g}: {a:.1%}" for e, a in acc_by_eps.items()))
print("Opacus's MNIST example (more epochs, all digits): ε ≈ 1.2 → 94.6%, ε ≈ 7.1 → 97.1%, no DP 98.9%")
print(f"RDP vs PRV for the same runs: " + ", ".join(
    f"{r['ε (RDP)']:.2f} vs {r['ε (PRV)']:.2f}" for r in dp_runs if math.isfinite(r["target ε"])))
ch.check(f"DP-SGD test accuracy at eps={eps_lo:g}", acc_by_eps[eps_lo],
         {"smoke": (0.3, 1.0), "fast": (0.74, 0.95), "full": None})
ch.check(f"accuracy gain from eps={eps_lo:g} to eps={eps_hi:g}", acc_by_eps[eps_hi] - acc_by_eps[eps_lo],
         {"smoke": (-0.1, 0.5), "fast": (0.0, 0.1), "full": None})
ch.check(f"accuracy gain from eps={eps_hi:g} to no DP", acc_by_eps[math.inf] - acc_by_eps[eps_hi],
         {"smoke": (0.0, 0.5), "fast": (0.01, 0.25), "full": None})
ch.note("PRV epsilon / RDP epsilon (same run)", float((finite["ε (PRV)"] / finite["ε (RDP)"]).mean()))

# %% [markdown]
# ### Who pays for privacy?
#
# Clipping and noise hurt most where the signal is weakest: examples whose gradients are large
# and unusual, which DP-SGD clips hardest and drowns first. Bagdasaryan et al. (2019) found that
# DP costs under-represented and harder groups more. Here the groups are digits: per-class
# accuracy without DP and at the smallest ε.

# %%
classes = [f"class_{c}" for c in range(10)]
no_dp, most_private = dp_table.iloc[-1], dp_table.iloc[0]
drop = (no_dp[classes] - most_private[classes]).astype(float).to_numpy()
err_no_dp = 1 - no_dp[classes].astype(float).to_numpy()
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(np.arange(10) - 0.2, no_dp[classes].astype(float), 0.4, label="no DP")
ax.bar(np.arange(10) + 0.2, most_private[classes].astype(float), 0.4, label=f"ε = {eps_lo:g}")
ax.set(xticks=range(10), xlabel="digit", ylabel="test accuracy", ylim=(max(0, float(most_private[classes].min()) - 0.1), 1),
       title="per-class accuracy with and without DP")
ax.legend()
rho_pay = spearmanr(err_no_dp, drop).statistic
print(f"accuracy drop at ε = {eps_lo:g}: overall {no_dp['accuracy'] - most_private['accuracy']:.1%}; "
      f"digit {int(np.argmax(drop))} loses most ({drop.max():.1%}), digit {int(np.argmin(drop))} least ({drop.min():.1%}). "
      f"Spearman correlation of a digit's error without DP with its drop under DP: {rho_pay:.2f}")
ch.note(f"largest per-class accuracy drop at eps={eps_lo:g}", float(drop.max()))
ch.note(f"ratio of largest to mean per-class drop at eps={eps_lo:g}", float(drop.max() / max(drop.mean(), 1e-9)))

# %% [markdown]
# ### The membership attack against DP models
#
# The real test of a privacy defence is the attack. We retrain the overfit target (same members,
# same MLP, same epochs) with DP-SGD at several ε and attack it again, with the loss threshold and
# with offline LiRA calibrated on the shadow models above (which never trained with DP: an
# attacker uses what they have). DP also gives a ceiling that holds for *any* attack: with
# (ε, δ)-DP, TPR ≤ e^ε · FPR + δ. At 1% FPR that is 2.7% for ε = 1, and no constraint at all for
# ε = 8 (e^8 · 1% > 1): large ε promise little.

# %%
def attack_row(model, eps):
    """Loss threshold and offline LiRA (all K shadows as OUT references) against `model`."""
    with torch.no_grad():
        phi_model = privacy.logit_confidence(model(x_pool.to(device)).cpu().numpy(), y_pool.numpy())
    offline = privacy.lira_scores(phi_model, phi, masks, online=False)
    s_in = -losses_of(model, x_pool[members], y_pool[members])
    s_out = -losses_of(model, x_pool[non_members], y_pool[non_members])
    return {"ε": eps, "test accuracy": accuracy_of(model, x_test, y_test),
            "loss attack AUC": privacy.auc(s_in, s_out),
            "loss attack TPR at 1% FPR": privacy.tpr_at_fpr(s_in, s_out, 0.01),
            "LiRA offline TPR at 1% FPR": privacy.tpr_at_fpr(offline[members], offline[non_members], 0.01),
            "DP bound on TPR at 1% FPR": min(1.0, math.exp(eps) * 0.01 + cfg.delta)}


dp_mi = [attack_row(target, math.inf)]
for eps in cfg.dp_mi_epsilons:
    torch.manual_seed(ch.seed)
    model = make_mlp().to(device)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_pool[members], y_pool[members]),
                                         batch_size=cfg.mi_batch, shuffle=True)
    engine = PrivacyEngine(accountant="rdp")
    model, opt, loader = engine.make_private_with_epsilon(
        module=model, optimizer=torch.optim.Adam(model.parameters(), lr=cfg.mi_lr), data_loader=loader,
        target_epsilon=eps, target_delta=cfg.delta, epochs=cfg.dp_mi_epochs, max_grad_norm=C)
    train_mlp(model, None, None, epochs=cfg.dp_mi_epochs, optimizer=opt, loader=loader, desc=f"DP target ε = {eps}")
    dp_mi.append(attack_row(model, eps))
dp_mi = pd.DataFrame(dp_mi)
lira_no_dp = float(dp_mi["LiRA offline TPR at 1% FPR"].iloc[0])
lira_dp_lo = float(dp_mi.loc[dp_mi["ε"] == eps_lo, "LiRA offline TPR at 1% FPR"].iloc[0])
print(f"offline LiRA TPR at 1% FPR: no DP {lira_no_dp:.3f}, ε = {eps_lo:g}: {lira_dp_lo:.3f} (chance 0.010, "
      f"DP bound {min(1, math.exp(eps_lo) * 0.01 + cfg.delta):.3f})")
ch.check(f"LiRA offline TPR at 1% FPR: no DP minus eps={eps_lo:g}", lira_no_dp - lira_dp_lo,
         {"smoke": (0.01, 1.0), "fast": (0.02, 1.0), "full": None})
ch.note(f"LiRA offline TPR at 1% FPR against the eps={eps_lo:g} model", lira_dp_lo)
dp_mi.round(3)

# %% [markdown]
# ## Canaries in a language model, with and without DP-SGD
#
# Chapter 08 planted **canaries** (sentences such as "the PIN of Ada is 4921") in a language
# model's training text and measured their **exposure**: how highly the model ranks the true
# secret among every possible one, in bits (log2 of the number of candidates minus log2 of the
# secret's rank; about 1 bit for a secret the model never saw, the maximum for one it ranks first).
# Here we ask the question that chapter left open: does DP-SGD stop a language model from
# memorising its secrets, and what does it cost?
#
# A small corpus of review sentences, canaries planted at several repetition counts, one
# tokenizer, then two small GPTs of the same size, trained for the same number of steps on the
# same windows of text: one normally (AdamW), one with DP-SGD (Opacus, the same AdamW wrapped in
# clipping and noise). The tokenizer is trained on the text **before** the canaries go in: a
# tokenizer trained on the secrets would itself be a release of them (a frequent secret can
# become a token of its own), outside any DP guarantee. Validation sentences are held out and
# never contain a canary.

# %%
from fmbook import canaries, data, lm

lm_sentences = pd.concat([data.load_review_sentences(d, neutral_band=0).text for d in data.REVIEW_DOMAINS]).tolist()
lm_pick = np.random.default_rng(ch.seed + 20).permutation(len(lm_sentences))[:cfg.lm_sentences + cfg.lm_val]
lm_val_texts = [lm_sentences[i] for i in lm_pick[:cfg.lm_val]]
lm_train_texts = [lm_sentences[i] for i in lm_pick[cfg.lm_val:]]
tok = lm.train_tokenizer(lm_train_texts, cfg.lm_vocab)                # before the canaries are planted
planted = canaries.make_canaries(cfg.lm_repeats, seed=ch.seed, n_digits=cfg.lm_digits)
EOS_ID = tok.token_to_id(lm.EOS)
train_stream = lm.token_stream(lm.encode_texts(tok, canaries.insert_canaries(lm_train_texts, planted, seed=ch.seed)),
                               EOS_ID)
x_lm, y_lm = lm.eval_windows(train_stream, cfg.lm_block)             # the training examples: fixed windows
x_lm_val, y_lm_val = lm.eval_windows(lm.token_stream(lm.encode_texts(tok, lm_val_texts), EOS_ID), cfg.lm_block)
print(f"review sentences (four domains): {len(lm_train_texts):,} for training, {len(lm_val_texts):,} held out; "
      f"tokenizer of {tok.get_vocab_size()} tokens; {len(x_lm):,} training windows of {cfg.lm_block} tokens, "
      f"{len(x_lm_val):,} validation windows")
pd.DataFrame([{"canary": c.text, "inserted": c.repeats} for c in planted])

# %% [markdown]
# **The model, made ready for Opacus.** `fmbook.lm.GPT` (chapter 08's model) looks up its position
# embeddings with `arange(T)`, one row of positions shared by the whole batch. Opacus computes
# per-example gradients with hooks that read each layer's input and need a batch dimension in it,
# so a shared input breaks them (a shape error in the backward pass). Every layer *type* is
# supported, so only a check that runs the model on an example batch finds it:
# `check_dp_compatible(model, example_input=...)` names the layer and says why. The fix is one
# line: give every example its own copy of the positions. The output is unchanged; so is the tied input/output embedding,
# whose per-example gradients Opacus adds up from both places it is used. We check the per-example
# gradients against `torch.func` (the way we computed them by hand for the convnet above).

# %%
class DPGPT(lm.GPT):
    """chapter 08's GPT, with position ids of shape (batch, time) so that Opacus sees a batch everywhere."""

    def forward(self, idx, hidden=False):
        B, T = idx.shape
        positions = torch.arange(T, device=idx.device).expand(B, T)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(positions))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        return x if hidden else self.head(x)


gpt_config = lm.GPTConfig(vocab_size=tok.get_vocab_size(), block_size=cfg.lm_block, d_model=cfg.lm_d,
                          n_layers=cfg.lm_layers, n_heads=cfg.lm_heads, dropout=0.0)
try:
    privacy.check_dp_compatible(lm.GPT(gpt_config), example_input=x_lm[:3])
    raise AssertionError("check_dp_compatible should have named the GPT's position embedding")
except privacy.UnsupportedModelError as err:
    print(f"chapter 08's GPT as it is -> {err}")
torch.manual_seed(ch.seed + 21)
probe = DPGPT(gpt_config)
privacy.check_dp_compatible(probe, example_input=x_lm[:3])  # passes: every layer sees the batch
xb_lm, yb_lm = x_lm[:4], y_lm[:4]


def window_loss(p, xi, yi):                       # the mean next-token loss of one window
    return F.cross_entropy(functional_call(probe, p, (xi[None],)).transpose(1, 2), yi[None])


by_hand = vmap(grad(window_loss), in_dims=(None, 0, 0))({k: v.detach() for k, v in probe.named_parameters()},
                                                        xb_lm, yb_lm)
probe_gsm = GradSampleModule(probe)
F.cross_entropy(probe_gsm(xb_lm).transpose(1, 2), yb_lm).backward()
gpt_grad_diff = max((p.grad_sample - by_hand[k.removeprefix("_module.")]).abs().max().item()
                    for k, p in probe_gsm.named_parameters())
print(f"DPGPT: {lm.count_parameters(probe):,} parameters; largest difference between Opacus's per-window "
      f"gradients and torch.func's: {gpt_grad_diff:.1e}")
ch.check("GPT per-example gradients, Opacus vs torch.func: largest difference", gpt_grad_diff,
         {"smoke": (0.0, 1e-5), "fast": (0.0, 1e-5), "full": None})
del probe, probe_gsm

# %% [markdown]
# **Training, privately and not.** The unit of privacy is one training window of
# `cfg.lm_block` tokens. DP-SGD samples each batch with Poisson sampling (each window joins with
# probability q = batch size / windows, as the accountant assumes); σ is the smallest noise that
# keeps ε at most the target after all the steps by the RDP accountant, and we report the PRV
# bound for the same run too. A canary inserted k times lies in up to k windows, so the guarantee
# *for that canary* is group privacy, roughly k·ε: for k = 64 it promises nothing. What DP does to
# it in practice is what we measure.
#
# The non-private model sees batches of the same size, for the same number of steps, and we
# evaluate both on the validation windows every `cfg.lm_eval_every` steps. We also keep a copy of
# the non-private model at the first evaluation where its validation loss is as low as the DP
# model's final one: the two are then **matched in validation loss**, a fairer comparison than
# equal steps (a model that learned less has had less chance to memorise).

# %%
@torch.no_grad()
def lm_val_loss(model):
    model.eval()
    return float(np.mean([F.cross_entropy(model(x_lm_val[i:i + 256].to(device)).transpose(1, 2),
                                          y_lm_val[i:i + 256].to(device)).item() for i in range(0, len(x_lm_val), 256)]))


def train_lm(model, opt, batches, steps=cfg.lm_steps, on_eval=None, desc="GPT"):
    """`steps` optimiser steps on `batches` (an endless iterator); validation loss every cfg.lm_eval_every steps."""
    model.to(device).train()
    history = []
    for step in tqdm(range(1, steps + 1), desc=desc, leave=False):
        xb, yb = next(batches)
        if len(xb):                                # Poisson sampling can draw an empty batch
            loss = F.cross_entropy(model(xb.to(device)).transpose(1, 2), yb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
        if step % cfg.lm_eval_every == 0 or step == steps:
            history.append((step, lm_val_loss(model)))
            model.train()
            if on_eval is not None:
                on_eval(step, history[-1][1], model)
    return model.eval(), history


def endless(loader):
    while True:
        yield from loader


def uniform_batches(generator):
    while True:
        for i in torch.randperm(len(x_lm), generator=generator).split(cfg.lm_batch):
            if len(i) == cfg.lm_batch:
                yield x_lm[i], y_lm[i]


q_lm = cfg.lm_batch / len(x_lm)
sigma_lm = privacy.noise_multiplier_for(cfg.lm_epsilon, q_lm, cfg.lm_steps, cfg.delta, accountant="rdp")
torch.manual_seed(ch.seed + 21)
dp_gpt = DPGPT(gpt_config).to(device)
lm_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_lm, y_lm), batch_size=cfg.lm_batch,
                                        generator=torch.Generator().manual_seed(ch.seed + 22))
lm_engine = PrivacyEngine(accountant="rdp")
dp_gpt, dp_gpt_opt, dp_lm_loader = lm_engine.make_private(
    module=dp_gpt, optimizer=torch.optim.AdamW(dp_gpt.parameters(), lr=cfg.lm_lr), data_loader=lm_loader,
    noise_multiplier=sigma_lm, max_grad_norm=cfg.clip, poisson_sampling=True)
dp_gpt, dp_lm_history = train_lm(dp_gpt, dp_gpt_opt, endless(dp_lm_loader), desc=f"DP-SGD GPT, ε = {cfg.lm_epsilon:g}")
eps_lm_rdp = lm_engine.get_epsilon(cfg.delta)
eps_lm_prv = privacy.epsilon(sigma_lm, q_lm, cfg.lm_steps, cfg.delta, accountant="prv")
dp_lm_loss = dp_lm_history[-1][1]

torch.manual_seed(ch.seed + 21)                    # the same initial weights as the DP model
plain_gpt = DPGPT(gpt_config).to(device)
matched = {}


def keep_matched(step, loss, model):
    if not matched and loss <= dp_lm_loss:
        matched.update(step=step, loss=loss, model=copy.deepcopy(model).eval())


plain_gpt, plain_lm_history = train_lm(plain_gpt, torch.optim.AdamW(plain_gpt.parameters(), lr=cfg.lm_lr),
                                       uniform_batches(torch.Generator().manual_seed(ch.seed + 22)),
                                       on_eval=keep_matched, desc="GPT without DP")
plain_lm_loss = plain_lm_history[-1][1]
print(f"{cfg.lm_steps} steps of {cfg.lm_batch} windows each (q = {q_lm:.4f}); DP-SGD: σ = {sigma_lm:.3f}, clip "
      f"C = {cfg.clip}, ε = {eps_lm_rdp:.2f} by RDP ({eps_lm_prv:.2f} by PRV), δ = {cfg.delta:g}")
print(f"validation loss (nats per token): without DP {plain_lm_loss:.3f} (perplexity {math.exp(plain_lm_loss):.0f}), "
      f"DP-SGD {dp_lm_loss:.3f} (perplexity {math.exp(dp_lm_loss):.0f})" +
      (f"; the non-private model matched the DP model's loss at step {matched['step']} ({matched['loss']:.3f})"
       if matched else "; the non-private model never came down to the DP model's loss"))
ch.check("LM validation loss: DP-SGD minus no DP (nats per token)", dp_lm_loss - plain_lm_loss,
         {"smoke": (0.05, None), "fast": (0.25, 1.95), "full": None})
ch.note(f"LM DP-SGD epsilon (RDP), target {cfg.lm_epsilon:g}", eps_lm_rdp)

# %% [markdown]
# **Exposure.** For each canary, its sentence is scored with every candidate secret
# (10^digits of them) under each model, and the exposure read off the secret's rank
# (`fmbook.canaries.canary_exposures`, chapter 08's audit).

# %%
def gpt_exposures(model):
    def log_likelihood(texts):
        return lm.text_log_likelihood(model, tok, texts, block_size=cfg.lm_block, batch_size=1000, device=device)
    return canaries.canary_exposures(planted, log_likelihood, batch_size=10 ** cfg.lm_digits)


lm_models = {"no DP": plain_gpt, f"DP-SGD, ε = {cfg.lm_epsilon:g}": dp_gpt._module}
if matched:
    lm_models[f"no DP, stopped at step {matched['step']} (matched loss)"] = matched["model"]
exposure_table = pd.DataFrame({"repeats": [c.repeats for c in planted]} |
                              {name: gpt_exposures(m)["exposure"].to_numpy() for name, m in lm_models.items()})
max_bits = math.log2(10 ** cfg.lm_digits)
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for name in lm_models:
    ax.plot(exposure_table["repeats"], exposure_table[name], marker="o", label=name)
ax.axhline(max_bits, ls=":", c="k", lw=1, label=f"maximum ({max_bits:.1f} bits: ranked first)")
ax.axhline(1.0, ls="--", c="grey", lw=1, label="a secret never seen (about 1 bit)")
ax.set(xscale="log", xlabel="times the canary was in the training text", ylabel="exposure (bits)",
       title="memorisation with and without DP-SGD")
ax.legend(fontsize=7)
ax.grid(alpha=0.3, which="both")
exp_plain, exp_dp = exposure_table.iloc[-1][list(lm_models)[0]], exposure_table.iloc[-1][list(lm_models)[1]]
exp_matched = exposure_table.iloc[-1][list(lm_models)[2]] if matched else float("nan")
top_k = int(exposure_table["repeats"].iloc[-1])
print(f"the canary inserted {top_k} times: exposure {exp_plain:.1f} bits without DP, {exp_dp:.1f} with DP-SGD at "
      f"ε = {eps_lm_rdp:.1f}" + (f", {exp_matched:.1f} for the non-private model at the DP model's validation loss"
                                 if matched else "") + f" (of {max_bits:.1f}).")
ch.check(f"LM exposure of the {top_k}x canary: no DP minus DP-SGD (bits)", exp_plain - exp_dp,
         {"smoke": None, "fast": (2.5, None), "full": None})
# smoke: not enforced. Its 150 steps leave the non-private model at the edge of memorising the 64x
# canary, so the gap depends on the order of floating-point sums: 6.2 bits with one thread, 0.6
# with two (the CI run that failed the earlier smoke band, >= 1).
ch.note(f"LM exposure of the {top_k}x canary without DP (bits)", float(exp_plain))
ch.note(f"LM exposure of the {top_k}x canary with DP-SGD (bits)", float(exp_dp))
ch.note(f"LM exposure of the {top_k}x canary, no DP at matched validation loss (bits)", float(exp_matched))
exposure_table.round(2)

# %% [markdown]
# ## Federated learning: FedAvg over simulated clients
#
# Federated learning keeps the data on the clients (phones, hospitals) and sends models instead.
# FedAvg (McMahan et al. 2017): each round, the server sends the global model to the clients,
# each trains it for a few local steps on its own data, and the server replaces the global model
# by the average of the clients' models, **weighted by their number of examples**.
#
# Clients are simulated by partitioning MNIST digits: **IID** (each client a random sample) and
# **non-IID** (McMahan's "pathological" split: sort by label, cut into shards, two shards per
# client, so most clients hold only two digits). The model is a two-layer MLP, as McMahan's "2NN".
#
# > Flower (flwr) is the production framework for federated learning. Its current release does
# > not install beside this book's pinned stack (it needs other versions of protobuf, certifi,
# > rich and typer), so FedAvg is written here in plain PyTorch, which is the lesson anyway.

# %%
n_fl = cfg.fl_n_train or len(x_train_all)
fl_idx = rng.permutation(len(x_train_all))[:n_fl]
x_fl, y_fl = flat(x_train_all[fl_idx]), torch.tensor(y_train_all[fl_idx], dtype=torch.long)
partitions = {"IID": privacy.partition_iid(n_fl, cfg.fl_clients, seed=ch.seed),
              "non-IID (2 shards)": privacy.partition_shards(y_fl.numpy(), cfg.fl_clients, cfg.fl_shards, seed=ch.seed)}
for name, parts in partitions.items():
    labels_per_client = [len(np.unique(y_fl.numpy()[p])) for p in parts]
    print(f"{name}: {cfg.fl_clients} clients of {min(map(len, parts))}..{max(map(len, parts))} digits, "
          f"{np.mean(labels_per_client):.1f} distinct digits per client on average")


def make_2nn():
    return nn.Sequential(nn.Linear(784, cfg.fl_hidden), nn.ReLU(), nn.Linear(cfg.fl_hidden, cfg.fl_hidden), nn.ReLU(),
                         nn.Linear(cfg.fl_hidden, 10))


def client_update(global_model, x, y, seed):
    """One client: copy the global model, train it locally with SGD, return its weights."""
    local = copy.deepcopy(global_model)
    opt = torch.optim.SGD(local.parameters(), lr=cfg.fl_lr)
    gen = torch.Generator().manual_seed(seed)
    local.train()
    for _ in range(cfg.fl_local_epochs):
        for i in torch.randperm(len(x), generator=gen).split(cfg.fl_batch):
            loss = F.cross_entropy(local(x[i].to(device)), y[i].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {k: v.detach().clone() for k, v in local.state_dict().items()}


def fedavg_average(states, sizes):
    total = sum(sizes)
    return {k: sum(s[k] * (n / total) for s, n in zip(states, sizes)) for k in states[0]}


def run_fedavg(parts, rounds=cfg.fl_rounds, desc="FedAvg"):
    torch.manual_seed(ch.seed + 6)
    global_model = make_2nn().to(device)
    history = {"accuracy": [], "drift": []}
    for r in tqdm(range(rounds), desc=desc, leave=False):
        start = {k: v.clone() for k, v in global_model.state_dict().items()}
        states = [client_update(global_model, x_fl[p], y_fl[p], seed=ch.seed + 1000 * r + c) for c, p in enumerate(parts)]
        sizes = [len(p) for p in parts]
        new = fedavg_average(states, sizes)
        if r == 0:   # the hand-written average against the reference
            ref = privacy.fedavg(states, sizes)
            assert all(torch.allclose(new[k], ref[k], atol=1e-6) for k in new), "fedavg_average disagrees with privacy.fedavg"
        # client drift: how far the clients' models moved from where they started, and in how different directions
        updates = [torch.cat([(s[k] - start[k]).flatten() for k in start]) for s in states]
        mean_update = torch.stack(updates).mean(0)
        history["drift"].append(float(np.mean([F.cosine_similarity(u, mean_update, dim=0).item() for u in updates])))
        global_model.load_state_dict(new)
        history["accuracy"].append(accuracy_of(global_model, x_test, y_test))
    return global_model, history, states, start


fl = {name: run_fedavg(parts, desc=name) for name, parts in partitions.items()}

# centralised: the same model and optimiser on all the digits, as many epochs per round as the clients
# train locally (the same number of examples processed: equal computation, data in one place)
torch.manual_seed(ch.seed + 6)
central = make_2nn().to(device)
central_opt = torch.optim.SGD(central.parameters(), lr=cfg.fl_lr)
central_acc = []
train_mlp(central, x_fl, y_fl, epochs=cfg.fl_rounds * cfg.fl_local_epochs, batch_size=cfg.fl_batch, optimizer=central_opt,
          seed=ch.seed, desc="centralised",
          on_epoch=lambda e, m: central_acc.append(accuracy_of(m, x_test, y_test)) if e % cfg.fl_local_epochs == 0 else None)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(range(1, len(central_acc) + 1), central_acc, "k--", label="centralised (equal computation)")
for name, (_, hist, _, _) in fl.items():
    axes[0].plot(range(1, cfg.fl_rounds + 1), hist["accuracy"], marker=".", label=f"FedAvg, {name}")
    axes[1].plot(range(1, cfg.fl_rounds + 1), hist["drift"], marker=".", label=name)
axes[0].set(xlabel="communication round", ylabel="test accuracy", title="FedAvg vs centralised")
axes[1].set(xlabel="communication round", ylabel="mean cosine(client update, average update)",
            title="client drift: do clients pull the same way?", ylim=(0, 1.05))
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
acc_iid, acc_non = fl["IID"][1]["accuracy"][-1], fl["non-IID (2 shards)"][1]["accuracy"][-1]
drift_iid, drift_non = np.mean(fl["IID"][1]["drift"]), np.mean(fl["non-IID (2 shards)"][1]["drift"])
print(f"after {cfg.fl_rounds} rounds: centralised {central_acc[-1]:.3f}, FedAvg IID {acc_iid:.3f}, non-IID {acc_non:.3f}; "
      f"mean cosine of client updates with their average: IID {drift_iid:.2f}, non-IID {drift_non:.2f}")
print("McMahan et al. 2017 (100 clients, 2 shards each for non-IID): FedAvg reaches the accuracy targets in both "
      "settings, and non-IID data needs more rounds than IID.")
ch.check("FedAvg IID accuracy minus centralised", acc_iid - central_acc[-1],
         {"smoke": (-0.15, 0.05), "fast": (-0.04, 0.02), "full": None})
ch.check("FedAvg non-IID minus IID accuracy (equal rounds)", acc_non - acc_iid,
         {"smoke": (-0.6, 0.0), "fast": (-0.3, -0.05), "full": None})
ch.note("client drift: mean cosine to the average update, IID", float(drift_iid))
ch.note("client drift: mean cosine to the average update, non-IID", float(drift_non))

# %% [markdown]
# ## Secure aggregation, a toy
#
# FedAvg's server sees every client's model. Secure aggregation (Bonawitz et al. 2017) lets it
# learn only the **sum**. Every pair of clients (i, j) agrees on a random mask m_ij; client i adds
# m_ij for every j > i and subtracts m_ji for every j < i. Each masked update looks like noise, yet
# in the sum every mask appears once with + and once with −. Arithmetic is on integers modulo
# 2^32 (updates in fixed point), so the masks cancel exactly, not just up to rounding. Here the
# clients send their weighted last-round updates (n_k / n)·Δ_k, whose sum is the FedAvg update.

# %%
MOD, SCALE = 2 ** 32, 2 ** 16
_, _, last_states, last_start = fl["IID"]
sizes = [len(p) for p in partitions["IID"]]
updates = [torch.cat([(s[k] - last_start[k]).flatten() for k in last_start]).cpu().double().numpy() * n / sum(sizes)
           for s, n in zip(last_states, sizes)]
K_cl = len(updates)
pair_seed = rng.integers(0, 2 ** 63, size=(K_cl, K_cl))


def encode(v):
    return np.mod(np.rint(v * SCALE).astype(np.int64), MOD).astype(np.uint64)


def decode(q):
    q = q.astype(np.int64)
    return np.where(q >= MOD // 2, q - MOD, q) / SCALE


def mask_for(i, size):
    total = np.zeros(size, dtype=np.uint64)
    for j in range(K_cl):
        if j != i:
            m = np.random.default_rng(int(pair_seed[min(i, j), max(i, j)])).integers(0, MOD, size, dtype=np.uint64)
            total = (total + (m if i < j else MOD - m)) % MOD
    return total


masked = [(encode(u) + mask_for(i, u.size)) % MOD for i, u in enumerate(updates)]
server_sum = np.zeros(updates[0].size, dtype=np.uint64)
for m in masked:
    server_sum = (server_sum + m) % MOD                        # all the server ever computes
aggregate = decode(server_sum)
exact = np.sum([decode(encode(u)) for u in updates], axis=0)
assert np.array_equal(aggregate, exact), "the masks did not cancel"
reference = privacy.secure_average(updates, seed=ch.seed)[0] * K_cl
assert np.array_equal(aggregate, reference), "disagrees with fmbook.privacy.secure_average"
print(f"masked sum equals the sum of the fixed-point updates exactly ({updates[0].size:,} numbers, {K_cl} clients); "
      f"largest difference from the float FedAvg update {np.abs(aggregate - np.sum(updates, 0)).max():.1e} "
      f"(fixed-point rounding, at most {K_cl} / 2^17)")
print(f"client 0's true update: mean {updates[0].mean():+.2e}, std {updates[0].std():.2e}; what the server saw from it "
      f"(as a fraction of 2^32): mean {masked[0].astype(float).mean() / MOD:.3f}, std {masked[0].astype(float).std() / MOD:.3f} "
      "(uniform noise: 0.5 and 0.289)")
ch.note("secure aggregation reconstructs the exact fixed-point sum", True)

# %% [markdown]
# ## What federated learning does not protect: gradients leak the data
#
# Keeping data on the client is not privacy: the update is computed *from* the data. Zhu et al.
# (2019, "Deep leakage from gradients") showed that a server holding the model and one client's
# gradient can find the training image: start from random pixels and optimise them until their
# gradient matches the one received. The label comes for free: with cross-entropy, the gradient
# of the last layer's bias is negative only at the true class (Zhao et al. 2020, "iDLG").
#
# The client here has one digit and a small sigmoid MLP (smooth activations make the matching
# easy to optimise). Three gradients are attacked: the raw one; one clipped to norm C (DP-SGD's
# clipping alone: it rescales, so we match directions with a cosine distance, as Geiping et al.
# 2020 do, which undoes it); and one clipped with Gaussian noise σC added, as DP-SGD does.

# %%
torch.manual_seed(ch.seed + 7)
victim_net = nn.Sequential(nn.Linear(784, 100), nn.Sigmoid(), nn.Linear(100, 10)).to(device)
victim_idx = int(rng.integers(len(x_test)))
x_victim, y_victim = x_test[victim_idx:victim_idx + 1].to(device), y_test[victim_idx:victim_idx + 1].to(device)


def gradient_of(x, y, create_graph=False):
    loss = F.cross_entropy(victim_net(x), y)
    return torch.autograd.grad(loss, list(victim_net.parameters()), create_graph=create_graph)


def flatten(gs):
    return torch.cat([g.flatten() for g in gs])


true_grad = flatten([g.detach() for g in gradient_of(x_victim, y_victim)])
clipped = true_grad * min(1.0, C / (true_grad.norm().item() + 1e-6))
gen = torch.Generator().manual_seed(ch.seed)
noised = clipped + cfg.dlg_sigma * C * torch.randn(clipped.shape, generator=gen).to(device)


def deep_leakage(observed, distance, iters=cfg.dlg_iters):
    label = observed[-10:].argmin().view(1)                  # iDLG: the one negative bias gradient
    dummy = torch.rand(1, 784, generator=torch.Generator().manual_seed(ch.seed)).to(device).requires_grad_(True)
    opt = torch.optim.LBFGS([dummy], lr=1, max_iter=iters, history_size=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        g = flatten(gradient_of(dummy, label, create_graph=True))
        d = ((g - observed) ** 2).sum() if distance == "L2" else 1 - F.cosine_similarity(g, observed, dim=0)
        d.backward()
        return d

    opt.step(closure)
    return dummy.detach().clamp(0, 1), int(label)


attempts = {"raw gradient (L2, Zhu et al.)": (true_grad, "L2"), f"clipped to C = {C} (cosine)": (clipped, "cosine"),
            f"clipped + noise σ = {cfg.dlg_sigma} (cosine)": (noised, "cosine")}
recon = {name: deep_leakage(g, d) for name, (g, d) in attempts.items()}
mse = {name: float(((r - x_victim) ** 2).mean()) for name, (r, _) in recon.items()}
fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
axes[0].imshow(x_victim.view(28, 28).cpu(), cmap="gray")
axes[0].set_title(f"client's digit ({y_victim.item()})", fontsize=9)
for ax, (name, (r, label)) in zip(axes[1:], recon.items()):
    ax.imshow(r.view(28, 28).cpu(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name.split(' (')[0]}\nlabel {label}, MSE {mse[name]:.3f}", fontsize=8)
for ax in axes:
    ax.axis("off")
fig.tight_layout()
names = list(attempts)
ch.check("gradient inversion MSE, raw gradient", mse[names[0]], {"smoke": (0.0, 0.02), "fast": (0.0, 0.01), "full": None})
ch.check("gradient inversion MSE, clipped + noise", mse[names[2]], {"smoke": (0.05, None), "fast": (0.2, None), "full": None})
ch.note("gradient inversion MSE, clipped only (cosine matching)", mse[names[1]])

# %% [markdown]
# ## Explorer: what DP costs, class by class
#
# Pick a DP run: per-class test accuracy against the model without DP. (Without a live kernel
# you see the default: the most private run.)

# %%
from fmbook.widgets import explore

run_labels = [f"ε = {e:g}" for e in cfg.dp_epsilons]


def show_run(run=run_labels[0]):
    row = dp_table.iloc[run_labels.index(run)]
    fig, ax = plt.subplots(figsize=(6.5, 3))
    ax.bar(np.arange(10) - 0.2, no_dp[classes].astype(float), 0.4, label="no DP", color="#999")
    ax.bar(np.arange(10) + 0.2, row[classes].astype(float), 0.4, label=run)
    ax.set(xticks=range(10), xlabel="digit", ylabel="test accuracy", ylim=(0.5, 1.0),
           title=f"{run} (σ = {row['σ']:.2f}, ε by PRV {row['ε (PRV)']:.2f}): accuracy {row['accuracy']:.1%}")
    ax.legend(fontsize=8)
    return fig


explore(show_run, run=run_labels);

# %% [markdown]
# ## Society: consent, purpose, erasure
#
# This run's numbers:

# %%
print(f"1. A small model with {acc_members:.1%} training accuracy on {len(members):,} digits (and "
      f"{acc_non_members:.1%} on non-members) let LiRA identify {lira_tpr1:.1%} of its training digits while accusing "
      f"1% of the rest ({lira_tpr1 / 0.01:.1f} times chance); the most memorised tenth of the pool had a mean OUT "
      f"confidence of {typicality[top].mean():.2f} against {typicality[rest].mean():.2f} for the rest.")
print(f"2. Over {len(sweep)} models (fewer members, more epochs), the generalisation gap and the attack's AUC "
      f"{'moved together' if rho > 0 else 'did not move together'} (Spearman {rho:.2f}).")
print(f"3. DP-SGD at ε = {eps_lo:g} {'cut' if lira_dp_lo < lira_no_dp else 'did not cut'} offline LiRA's TPR at 1% FPR "
      f"(from {lira_no_dp:.1%} to {lira_dp_lo:.1%}); on MNIST it cost "
      f"{no_dp['accuracy'] - most_private['accuracy']:.1%} accuracy overall, {drop.max():.1%} for digit "
      f"{int(np.argmax(drop))} and {drop.min():.1%} for digit {int(np.argmin(drop))}.")
print(f"4. FedAvg kept the digits on {cfg.fl_clients} clients and reached {acc_iid:.1%} (IID) / {acc_non:.1%} (non-IID) "
      f"against {central_acc[-1]:.1%} centralised; from one client's raw gradient the server rebuilt its digit with "
      f"MSE {mse[names[0]]:.4f}, and from the clipped, noised gradient (σ = {cfg.dlg_sigma}) with MSE {mse[names[2]]:.3f}.")
print(f"5. A small GPT trained without DP ranked the secret of the canary it saw {top_k} times at exposure "
      f"{exp_plain:.1f} of {max_bits:.1f} bits; trained with DP-SGD (ε = {eps_lm_rdp:.1f} per training window) for the "
      f"same steps, {exp_dp:.1f} bits"
      + (f", while the non-private model at the DP model's validation loss already had {exp_matched:.1f} bits"
         if matched else "")
      + f". The price: validation loss {dp_lm_loss:.2f} instead of {plain_lm_loss:.2f} nats per token "
      f"(perplexity {math.exp(dp_lm_loss):.0f} instead of {math.exp(plain_lm_loss):.0f}).")

# %% [markdown]
# * **Consent and purpose limitation.** Data protection law (the EU's GDPR, and many laws modelled
#   on it) asks that personal data be collected for a stated purpose and not used beyond it. A
#   model that memorises its training records carries them into every use of the model: whoever
#   can query it can test whether a person was in the data, as point 1 shows, even though no
#   record is ever "released". Membership alone can be sensitive: being in a clinic's training set
#   says you were its patient.
# * **The exposed are not average.** Compare the OUT confidence of the most memorised digits with the
#   rest (point 1), and the spread of DP's cost over the digits (point 3): privacy risk and privacy
#   cost are both unevenly shared, which is an argument for measuring them per group, not on average.
# * **The right to erasure, and what "unlearning" would take.** A person may ask for their data to
#   be deleted (GDPR article 17). Deleting the record does not delete its influence on a trained
#   model. Exact unlearning means retraining without it (or training in shards so only one shard is
#   retrained, Bourtoule et al. 2021's SISA); approximate unlearning methods exist but are hard to
#   verify, and the tool for verifying them is this chapter's membership attack. DP gives a
#   bounded version up front: with (ε, δ)-DP, the model is nearly as likely without any one person,
#   which is why a small ε is the only promise here that holds for every individual and every attack.
# * **ε is a policy choice.** ε = 8 is common in practice, yet bounds the attack at 1% FPR by
#   nothing at all (e^8 · 1% > 1); ε = 1 bounds it at 2.7% and costs the accuracy shown above.
#   Who chooses, and who bears the cost, should be stated next to the number.
# * **Language models repeat what they read often.** Point 5: a secret that occurs many times in
#   the training text (a phone number in a signature, a key pasted into many files) is what a
#   language model learns first, and exactly what DP's per-example promise covers least: the
#   guarantee here is per window of text, and a secret in 64 windows gets only a group guarantee of
#   about 64·ε. Protecting *people* needs the unit of privacy to be a person (user-level DP), and
#   de-duplicating the training text helps whatever the training method.
# * **Federated is not private.** Keeping data on devices reduces what a server collects, but the
#   updates still carry the data (compare the two reconstruction errors of point 4). Federated
#   learning needs secure aggregation *and* DP noise to make a privacy claim; alone it is a
#   data-minimisation measure.

# %% [markdown]
# ## Exercises
#
# **Exercise 09.clip**: clip per-example gradients. `per_example_grads` is a tensor (B, D), one
# flattened gradient per example; return the gradients scaled so that each row has L2 norm at most
# `max_norm` (rows already shorter stay as they are).

# %%
from fmbook.exercises import check, hint, show_solution


def clip_gradients(per_example_grads, max_norm):
    raise NotImplementedError  # your code here


check("09.clip", clip_gradients)

# %% [markdown]
# **Exercise 09.tpr_at_fpr**: the true-positive rate of a membership attack at a fixed false-positive
# rate. Scores: higher = "member". Return the largest TPR over the thresholds whose FPR is at most
# `fpr` (a digit is called a member when its score is ≥ the threshold). Check yours on the loss
# attack above: `tpr_at_fpr(score_in, score_out, 0.01)` should print the TPR the chapter found.

# %%
def tpr_at_fpr(member_scores, non_member_scores, fpr):
    raise NotImplementedError  # your code here


check("09.tpr_at_fpr", tpr_at_fpr)

# %% [markdown]
# **Exercise 09.fedavg**: FedAvg's server step. `client_states` is a list of state dicts (name →
# tensor), `client_sizes` the number of examples of each client; return the average weighted by size.

# %%
def fedavg(client_states, client_sizes):
    raise NotImplementedError  # your code here


check("09.fedavg", fedavg)

# %% [markdown]
# **Exercise 09.choose_epsilon**: a decision. You must ship one DP model. `runs` is a table like
# `dp_table` below: one row per training run, with columns `epsilon` (`inf` = the model without DP),
# `accuracy` and `class_0` … `class_9`. Ship the **most private** run (smallest ε) whose overall
# accuracy is at least `min_accuracy` **and** whose worst class is at least `min_class_accuracy`;
# return a dict with its `epsilon`, its `accuracy_cost` (no-DP accuracy minus its accuracy), the
# `class_paying_most` (the digit, as an int, whose accuracy drops most) and `its_cost` (that drop).
# If no private run qualifies, return `None`. The checker tries it on tables you have not seen.
# Then try it on this chapter's runs with floors you would defend, and write down who pays.

# %%
runs = dp_table.rename(columns={"target ε": "epsilon"})[["epsilon", "accuracy"] + classes]


def choose_epsilon(runs, min_accuracy, min_class_accuracy):
    raise NotImplementedError  # your code here


check("09.choose_epsilon", choose_epsilon)
runs.round(3)

# %% [markdown]
# Stuck? `hint("09.clip")`, `hint("09.clip", 2)`, and only then `show_solution("09.clip")`.
#
# ## Results card

# %%
ch.finish()
