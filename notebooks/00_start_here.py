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
# # Chapter 00: Start here
#
# **fmbook** is a workbook about foundation models and the societies they are used in. In each
# chapter you *build* a model and then *audit* it: how robust it is, whether it is fair, whether
# its explanations deserve trust. Every chapter runs top to bottom on a laptop CPU, states the
# result it expects, and checks it.
#
# | chapter | you build | you audit |
# | --- | --- | --- |
# | 01 | logistic regression from scratch (NumPy, TensorFlow, PyTorch) | the model as a screening test: thresholds, calibration |
# | 02 | a CNN on MNIST, in Keras and PyTorch | behaviour off the training distribution |
# | 03 | an LSTM for review sentiment | domain shift: movies to products and tweets |
# | 04 | BERT fine-tuning | a bias probe with names and identity terms; the cost of the model |
# | 05 | adversarial examples and adversarial training | what "robust" can and cannot mean |
# | 06 | a fairness audit of income and recidivism models | which definition of fair, and who chooses |
# | 07 | SHAP and LIME explanations | whether the explanations can be trusted |
# | 08 | a small GPT, pre-trained on review text, then fine-tuned with few labels | memorised secrets, bias in generation, the cost of pre-training |
# | 09 | membership attacks, DP-SGD and federated averaging | what a model remembers, who is exposed, who pays for privacy |
# | 10 | distillation, quantisation, pruning, LoRA; data and tensor parallelism | accuracy against bytes, latency and energy: who can run what |
#
# This chapter shows how the book works: profiles, the device, the data, checks and exercises.

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
# ## The chapter header
#
# Every chapter starts with the same two lines. `fmbook.start` seeds every random number
# generator (Python, NumPy, PyTorch, and TensorFlow when the chapter uses it) so that a run can be
# repeated, and prints a banner: the fmbook version, the chapter, the **profile**, the random
# seed and the device. The random seed is 0 unless you choose another, with `FMBOOK_SEED=1` in the
# environment or `fmbook run ... --seed 1`: every random choice in the chapter (splits, initial
# weights, shuffles) then changes, which shows how much a result depends on luck.

# %%
import numpy as np

import fmbook

ch = fmbook.start("00_start_here", seed=0)

# %% [markdown]
# ## Profiles: one notebook, three sizes
#
# The same notebook runs in three profiles, chosen with the environment variable
# `FMBOOK_PROFILE` before Jupyter starts (for example `FMBOOK_PROFILE=fast make lab`):
#
# | profile | for | data | time per chapter |
# | --- | --- | --- | --- |
# | `smoke` | tests and CI | tiny subsets | seconds to 2 minutes |
# | `fast` | a laptop CPU | real data, subsets | minutes |
# | `full` | a GPU (Colab) | full data sets | the reference accuracy |
#
# Left unset, the profile is `full` when PyTorch sees a CUDA GPU and `fast` otherwise. Each
# chapter reads its sizes from its settings (`cfg = ch.settings`) and explains each one where it
# uses it. For example, two of chapter 01's settings:

# %%
from fmbook.profiles import PROFILES, chapter_settings

explained = {"steps": "steps of gradient descent",
             "n_splits": "random train/test splits for measuring the spread of a result"}
for profile in PROFILES:
    settings = chapter_settings("01_logistic_regression", profile)
    print(f"{profile:<6}", "; ".join(f"{settings[key]} {what}" for key, what in explained.items()))

# %% [markdown]
# ## Doctor: what this machine has
#
# `fmbook doctor` (also a shell command) lists the library versions, the device and which data
# sets are present locally. Nothing in this book needs a GPU: GPU cells detect CUDA, Apple's MPS
# or fall back to the CPU by themselves.

# %%
from fmbook.cli import main as fmbook_cli

fmbook_cli(["doctor"]);

# %% [markdown]
# ## Data: real data sets, checked
#
# Data sets come from a registry. Each entry names its files, where they come from and their
# sha256 checksum. A file is looked for in the local mirror `FMBOOK_DATA` (used in class rooms
# and CI, where there is no network), then in the cache `~/.cache/fmbook`, and only then
# downloaded, verified and saved. A corrupted file is never used: it is fetched again, or the
# error says what to do.

# %%
from fmbook import data

for name, ds in sorted(data.REGISTRY.items()):
    print(f"{name:<17} {ds.description}")

# %% [markdown]
# Here is MNIST, which chapters 02, 05 and 07 use: 70,000 handwritten digits as `uint8` arrays.

# %%
(x_train, y_train), (x_test, y_test) = data.load_mnist()
print("train", x_train.shape, x_train.dtype, " test", x_test.shape)
print("first labels:", y_train[:10])

# %%
from fmbook.plots import image_grid

image_grid(x_train[:16], titles=[str(d) for d in y_train[:16]], ncols=8);

# %% [markdown]
# ## Checks: every chapter states what it expects
#
# A chapter never just prints a number: it states the band it expects *in the active profile* and
# checks it. A result outside the band stops the notebook with an error, so a notebook whose model
# learns nothing fails its test instead of printing a bad number quietly.
#
# Checks apply to data as well as to models. As a first example, a check of the data set just
# loaded: MNIST's ten digits are close to equally common, so always answering the most common digit
# of the training set is right on about 1/10 of the test set. No model is involved; a truncated file,
# a test set of one digit or labels read in the wrong order would fail this check. (The same
# number is also the floor that every digit classifier in the book must clear.)

# %%
majority = np.bincount(y_train).argmax()
baseline = float(np.mean(y_test == majority))
print(f"most common training digit: {majority}; its share of the test set: {baseline:.4f}")
ch.check("data: test share of the most common training digit (MNIST)", baseline,
         {"smoke": (0.09, 0.13), "fast": (0.09, 0.13), "full": (0.09, 0.13)})

# %% [markdown]
# ## Interactive explorers
#
# Chapters end their lessons with small explorers built with `ipywidgets`. In a live JupyterLab
# you can move the slider; in a static view (GitHub, a printed notebook, the test run) you see the
# default picture instead.

# %%
from fmbook.widgets import explore


def show_digit(index=0):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2.2, 2.4))
    ax.imshow(x_test[index], cmap="gray")
    ax.set_title(f"test digit {index}: label {y_test[index]}")
    ax.axis("off")
    return fig


explore(show_digit, index=(0, 99, 1));

# %% [markdown]
# ## Exercises
#
# Exercises ask you to write a small function. `check` tests it and answers with a specific hint
# when something is wrong. Until you write it, the check says "not attempted yet"; the notebook
# still runs. Replace the `raise` line with your code and run the cell again.
#
# **Exercise 00.accuracy**: return the fraction of predictions equal to the labels.

# %%
from fmbook.exercises import check, hint, show_solution


def accuracy(y_true, y_pred):
    raise NotImplementedError  # your code here


check("00.accuracy", accuracy)

# %% [markdown]
# Stuck? `hint("00.accuracy")` gives a hint, `hint("00.accuracy", 2)` a stronger one, and
# `show_solution("00.accuracy")` the worked solution. Try on your own first.

# %% [markdown]
# The next exercise asks for a decision the rest of the book relies on. A test accuracy is a
# measurement: on $n$ test examples an accuracy $p$ has a **standard error** of
# $\sqrt{p(1-p)/n}$, and a difference smaller than about two standard errors could be chance.
# That is why chapters report no more decimals than their test sets support, and why their bands
# are wider than the noise.
#
# **Exercise 00.test_size**: write `test_size(accuracy, margin)`, the smallest number of test
# examples for which two standard errors of an accuracy `accuracy` are at most `margin`. Raise a
# `ValueError` for an accuracy outside [0, 1] or a margin that is not positive. It is checked on
# accuracies and margins you do not see here. Then read what it says about MNIST's test set.

# %%
def test_size(accuracy, margin):
    raise NotImplementedError  # your code here


if check("00.test_size", test_size):
    for p, margin in [(0.9, 0.011), (0.99, 0.0021), (0.99, 0.0005)]:
        print(f"to tell apart accuracies {100 * margin:.2f} points apart near {p:.0%}: {test_size(p, margin):,} test examples")
    two_se = 2 * np.sqrt(0.99 * 0.01 / len(y_test))
    print(f"MNIST has {len(y_test):,} test digits: for two models near 99%, differences below about "
          f"{100 * two_se:.2f} points ({two_se * len(y_test):.0f} digits) are within the noise.")

# %% [markdown]
# ## Running on Colab with a GPU
#
# Open a chapter on Colab (File, Open notebook, GitHub, paste the repository URL), then choose
# Runtime, Change runtime type, GPU. The set-up cell at the top installs fmbook; data sets
# download on first use and are checked against their checksums. With a GPU and no
# `FMBOOK_PROFILE`, chapters run in the `full` profile.
#
# ## The results card
#
# Every chapter ends with its results card: each headline number, the band expected for this
# profile, pass or fail, the device and the time taken. It is also written to the results ledger
# that `make book` collects into `build/report.md`.

# %%
ch.finish()
