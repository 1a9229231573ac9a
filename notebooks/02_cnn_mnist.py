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
# # Chapter 02: A CNN on MNIST, in Keras and in PyTorch
#
# You build a small convolutional network (a *CNN*) that reads handwritten digits, first in
# Keras, then improve it one step at a time and measure what each step buys, look inside it, and
# build the same network again in PyTorch. Then you audit it: how does it behave on digits that
# are rotated, shifted, noisy or inverted, that is, *off the distribution it was trained on*?
#
# What to expect (each number is checked in the notebook; the band depends on the profile):
#
# | result | `smoke` (tests) | `fast` (2-core CPU) | `full` (GPU) |
# | --- | --- | --- | --- |
# | data | 2,160 train / 240 val, 1,000 test | 54,000 train / 6,000 val, 10,000 test | 54,000 / 6,000, 10,000 test |
# | epochs per model | 2 | 2 | 8 |
# | test accuracy, chapter's best Keras model | 0.80 .. 1 | 0.985 .. 1 | 0.992 .. 1 |
# | test accuracy, PyTorch baseline network | 0.70 .. 1 | 0.975 .. 1 | 0.988 .. 1 |
# | time (target) | under 90 seconds | under 8 minutes | a few minutes |
#
# The `full` bands come from the keras.io "simple MNIST convnet", which reaches 0.9922 after
# 15 epochs; here the improved model has 8. Chance is 0.10.

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
# TensorFlow is imported before `fmbook.start`, so that the seed reaches it too. Keras runs on
# the TensorFlow backend here.

# %%
import os
import time

# PyTorch's CPU threads wait without spinning: on a small or busy CPU, spinning threads
# steal the cores that do the work (set before torch is first imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
import keras

import fmbook
from fmbook import data, plots, vision
from fmbook.models import keras_baseline_cnn, keras_cnn

ch = fmbook.start("02_cnn_mnist", seed=0)
cfg = ch.settings
print("Keras", keras.__version__, "on backend", keras.backend.backend(), "| TensorFlow", tf.__version__)
print(cfg)

# %% [markdown]
# ## The data: MNIST
#
# 70,000 handwritten digits, 28 by 28 grey pixels (0 is black background, 255 white ink), from
# the fmbook registry (checked against its checksums; nothing else is used in this chapter).

# %%
(x_train_all, y_train_all), (x_test_all, y_test_all) = data.load_mnist()
print("data set: MNIST from fmbook.data |", data.get_dataset("mnist").licence)
print("train", x_train_all.shape, x_train_all.dtype, "| test", x_test_all.shape, x_test_all.dtype)

# %%
plots.image_grid(x_train_all[:24], titles=[str(d) for d in y_train_all[:24]], ncols=12);

# %% [markdown]
# Are the ten digits about equally common? If one class made up half the data, a model could
# reach 50% by always guessing it, and accuracy would be a misleading score.

# %%
counts = np.bincount(y_train_all, minlength=10)
fig, ax = plt.subplots(figsize=(6, 2.4))
ax.bar(range(10), counts)
ax.set_xticks(range(10))
ax.set_xlabel("digit")
ax.set_ylabel("training images")
ax.set_title(f"class balance: from {counts.min():,} to {counts.max():,} per digit");

# %% [markdown]
# ## Scale, then hold out a validation set
#
# Networks train best on small inputs, so pixels are scaled to [0, 1]. Keras convolutions want
# a channel axis: shape (N, 28, 28, 1).
#
# Then the **validation split**: 10% of the training images are set aside. Every choice in this
# chapter (which model, how many epochs, which improvement to keep) is made on validation
# accuracy. The **test set is used once, at the end**, for the chosen model. (Later sections
# also run other models on test digits, to compare frameworks and to shift the digits; no
# choice is made from those numbers.)
#
# > **Common mistake:** validating on the test set while tuning, then
# > reporting the *training* accuracy as the result. Training accuracy says how well the model
# > memorised; a test set used for choices is no longer a fair exam. Both numbers come out too
# > high, and nobody notices until the model meets new data.

# %%
rng = np.random.default_rng(ch.seed)
order = rng.permutation(len(x_train_all))
if cfg.n_train is not None:
    order = order[:cfg.n_train]
n_val = len(order) // 10
val_idx, train_idx = order[:n_val], order[n_val:]

def scale(x):
    return (x.astype("float32") / 255.0)[..., None]

x_train, y_train = scale(x_train_all[train_idx]), y_train_all[train_idx]
x_val, y_val = scale(x_train_all[val_idx]), y_train_all[val_idx]
n_test = len(x_test_all) if cfg.n_test is None else cfg.n_test
x_test, y_test = scale(x_test_all[:n_test]), y_test_all[:n_test]
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape} "
      f"(pixels {x_train.min():.0f}..{x_train.max():.0f})")

# %% [markdown]
# ## The baseline convnet in Keras
#
# Two convolution blocks find strokes and then parts of digits; each is followed by max-pooling,
# which halves the image. A dense layer combines the parts, and the last layer gives 10 numbers,
# one per digit: **logits**, not probabilities.

# %%
baseline_model = keras_baseline_cnn()
baseline_model.summary()

# %% [markdown]
# The loss must know that the outputs are logits: `from_logits=True` applies the softmax inside
# the loss, where it is numerically stable.
#
# > **Common mistake:** a last layer without softmax *and* `from_logits=False` (the default).
# > The loss then treats raw scores as probabilities; training is unstable and accuracy stalls.
# > Either `Dense(10)` with `from_logits=True` (here), or `Dense(10, activation="softmax")` with
# > `from_logits=False`, never a mix.

# %%
def compile_model(model, learning_rate=1e-3):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


compile_model(baseline_model)
t0 = time.perf_counter()
baseline_history = baseline_model.fit(x_train, y_train, validation_data=(x_val, y_val),
                              epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=1)
baseline_seconds = time.perf_counter() - t0
print(f"trained in {baseline_seconds:.0f} s")

# %% [markdown]
# Learning curves: training and validation side by side. Training accuracy above validation
# accuracy is the gap the model cannot carry to new images; a gap that grows with the epochs
# is over-fitting.

# %%
def show_history(history, title):
    h = history.history
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 3))
    plots.curves({"train": h["loss"], "validation": h["val_loss"]}, xlabel="epoch", ylabel="loss",
                 title=f"{title}: loss", ax=a0)
    plots.curves({"train": h["accuracy"], "validation": h["val_accuracy"]}, xlabel="epoch",
                 ylabel="accuracy", title=f"{title}: accuracy", ax=a1)
    fig.tight_layout()
    return fig


show_history(baseline_history, "baseline convnet");

# %%
baseline_val = float(baseline_history.history["val_accuracy"][-1])
ch.note("validation accuracy, baseline convnet (Keras)", baseline_val)
print(f"baseline convnet: validation accuracy {baseline_val:.4f} after {cfg.epochs} epochs "
      f"(training accuracy {baseline_history.history['accuracy'][-1]:.4f}: not the result to report)")

# %% [markdown]
# ## Improving it, one step at a time
#
# Each step below adds **one** thing to the previous model and trains it from scratch with the
# same data, epochs and batch size, so that the change in validation accuracy is the effect of
# that one step (and of chance: a second seed would move each number a little).
#
# 1. **Batch normalisation** after each convolution: every batch of activations is rescaled to
#    mean 0 and variance 1, which lets the network take larger steps safely.
# 2. **Dropout** (25%) before the dense layers: random units are switched off while training,
#    so the network cannot lean on a few of them.
# 3. **A learning-rate schedule and early stopping**: the rate warms up to 3e-3 for the first
#    10% of steps, then decays along a cosine to zero; the weights of the best validation epoch
#    are kept (`restore_best_weights`).
# 4. **Light augmentation**: while training only, each digit is shifted by up to 2 pixels and
#    rotated by up to 10 degrees, so the model sees more ways of writing the same digit. This
#    makes the task harder to fit: with a short training budget it can *cost* clean accuracy,
#    and what it buys shows up later, in the section on shifted digits.

# %%
def train(model, learning_rate=1e-3, callbacks=()):
    compile_model(model, learning_rate)
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=cfg.epochs,
                        batch_size=cfg.batch_size, callbacks=list(callbacks), verbose=2)
    return history, time.perf_counter() - t0


steps = cfg.epochs * int(np.ceil(len(x_train) / cfg.batch_size))
schedule = keras.optimizers.schedules.CosineDecay(
    initial_learning_rate=1e-4, warmup_target=3e-3, warmup_steps=steps // 10,
    decay_steps=steps - steps // 10)
def early_stop():
    return keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)


ladder = [  # (name, model, learning rate, callbacks)
    ("+ batch norm", keras_cnn(batch_norm=True), 1e-3, []),
    ("+ dropout", keras_cnn(batch_norm=True, dropout=0.25), 1e-3, []),
    ("+ LR schedule, early stop", keras_cnn(batch_norm=True, dropout=0.25), schedule, [early_stop()]),
    ("+ augmentation", keras_cnn(batch_norm=True, dropout=0.25, augment=True), schedule, [early_stop()]),
]
models = {"baseline": baseline_model}
rows = [{"model": "baseline", "val accuracy": baseline_val, "seconds": baseline_seconds}]
for name, model, lr, callbacks in ladder:
    print(f"--- {name}")
    history, seconds = train(model, lr, callbacks)
    models[name] = model
    val_acc = model.evaluate(x_val, y_val, batch_size=1000, verbose=0)[1]  # the weights we keep
    rows.append({"model": name, "val accuracy": val_acc, "seconds": seconds})

steps_table = pd.DataFrame(rows)
steps_table["effect"] = steps_table["val accuracy"].diff().fillna(0.0)  # against the step before
steps_table.style.format({"val accuracy": "{:.4f}", "effect": "{:+.4f}", "seconds": "{:.0f}"})

# %% [markdown]
# Validation errors are easier to compare than accuracies near 1: the bars show how many of the
# validation digits each model gets wrong.

# %%
fig, ax = plt.subplots(figsize=(7, 2.8))
errors = (1 - steps_table["val accuracy"]) * len(y_val)
ax.barh(steps_table["model"][::-1], errors[::-1])
ax.set_xlabel(f"validation errors (out of {len(y_val):,})")
ax.set_title("each step, trained with the same budget");

# %% [markdown]
# The model to keep is chosen on **validation** accuracy, never on test accuracy.

# %%
best_name = steps_table.loc[steps_table["val accuracy"].idxmax(), "model"]
best_model = models[best_name]
ch.note("best model (chosen on validation)", best_name)
ch.note("validation accuracy, best model", float(steps_table["val accuracy"].max()))
print(f"chosen on validation: {best_name!r}, {best_model.count_params():,} parameters")

# %% [markdown]
# ## The test set, once
#
# Now, and only now, the chosen model meets the test set.

# %%
test_logits = best_model.predict(x_test, batch_size=1000, verbose=0)
test_probs = vision.softmax(test_logits)
test_pred = test_probs.argmax(1)
test_acc = float(np.mean(test_pred == y_test))
print(f"test accuracy of {best_name!r}: {test_acc:.4f} ({int((test_pred != y_test).sum())} of {len(y_test):,} wrong)")
ch.check("test accuracy, best Keras model", test_acc,
         {"smoke": (0.80, 1.0), "fast": (0.985, 1.0), "full": (0.992, 1.0)})

# %% [markdown]
# Which digits does it confuse? The confusion matrix counts, for each true digit (row), what
# the model predicted (column). Off the diagonal are the mistakes.

# %%
plots.confusion(y_test, test_pred, title=f"{best_name}: test set");

# %% [markdown]
# The **most confidently wrong** digits: mistakes the model made while being sure of itself.
# Some are hard to read even for a person, some have a wrong label; others are plain errors.
# A confident mistake is the dangerous kind: nothing in the output warns that it is wrong.

# %%
vision.plot_confidently_wrong(x_test, test_probs, y_test, k=16);

# %% [markdown]
# ## Looking inside
#
# The first layer's 32 filters are 3x3 patterns that the layer slides over the image. Many look
# like edge detectors: a red (positive) side next to a blue (negative) one.

# %%
convs = [layer for layer in best_model.layers if isinstance(layer, keras.layers.Conv2D)]
vision.plot_filters(convs[0].get_weights()[0]);

# %% [markdown]
# Feature maps: what those filters answer for one digit. A second model that shares the layers
# up to the first convolution's activation returns the intermediate output.

# %%
first_block = [layer for layer in best_model.layers if isinstance(layer, keras.layers.ReLU)][0]
probe = keras.Model(best_model.inputs, first_block.output)
digit = x_test[:1]
vision.plot_feature_maps(digit, probe.predict(digit, verbose=0), n=16,
                         title=f"first block, 26x26 x {convs[0].filters} maps (16 shown)");

# %% [markdown]
# ## The same network in PyTorch
#
# The same baseline network, built with `torch.nn`, lives in `fmbook.models.make_mnist_cnn` because
# chapters 05 and 07 reuse it. PyTorch keeps channels first: (N, 1, 28, 28). It has exactly as
# many parameters as the Keras version.

# %%
import torch
from tqdm.auto import tqdm

from fmbook.device import torch_device
from fmbook.models import count_parameters, make_mnist_cnn

device = torch_device()
print("PyTorch", torch.__version__, "on", device)
torch_model = make_mnist_cnn().to(device)
print(torch_model)
print(f"{count_parameters(torch_model):,} parameters (Keras baseline: {baseline_model.count_params():,})")
assert count_parameters(torch_model) == baseline_model.count_params()

# %% [markdown]
# In PyTorch the training loop is yours to write: for each batch, forward pass, loss, gradients
# (`backward`), one optimiser step. `CrossEntropyLoss` takes logits, like `from_logits=True`.
#
# > **Common mistake:** forgetting `optimizer.zero_grad()`: gradients then add up over batches.
# > Another: leaving the model in training mode (`model.train()`) while evaluating, so that
# > dropout and batch norm behave as in training.

# %%
def to_torch(x, y):
    return torch.from_numpy(np.moveaxis(x, -1, 1).copy()), torch.from_numpy(y.astype(np.int64))


xt_train, yt_train = to_torch(x_train, y_train)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xt_train, yt_train),
                                     batch_size=cfg.batch_size, shuffle=True,
                                     generator=torch.Generator().manual_seed(ch.seed))
optimizer = torch.optim.Adam(torch_model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()

t0 = time.perf_counter()
for epoch in range(cfg.torch_epochs):
    torch_model.train()
    total, n = 0.0, 0
    for xb, yb in tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.torch_epochs}", leave=False):
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(torch_model(xb), yb)
        loss.backward()
        optimizer.step()
        total, n = total + loss.item() * len(xb), n + len(xb)
    print(f"epoch {epoch + 1}: training loss {total / n:.4f}")
torch_seconds = time.perf_counter() - t0

# %% [markdown]
# Evaluation: `eval()` mode, no gradients, batch by batch.

# %%
def evaluate(model, x, y, batch_size=1000):
    xt, yt = to_torch(x, y)
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xt), batch_size):
            logits = model(xt[i:i + batch_size].to(device))
            correct += (logits.argmax(1).cpu() == yt[i:i + batch_size]).sum().item()
    return correct / len(xt)


torch_val = evaluate(torch_model, x_val, y_val)
torch_test = evaluate(torch_model, x_test, y_test)
keras_baseline_test = float(np.mean(baseline_model.predict(x_test, batch_size=1000, verbose=0).argmax(1) == y_test))
comparison = pd.DataFrame([
    {"framework": "Keras (TensorFlow)", "epochs": cfg.epochs, "val accuracy": baseline_val,
     "test accuracy": keras_baseline_test, "training seconds": baseline_seconds},
    {"framework": f"PyTorch ({device})", "epochs": cfg.torch_epochs, "val accuracy": torch_val,
     "test accuracy": torch_test, "training seconds": torch_seconds},
])
comparison.style.format({"val accuracy": "{:.4f}", "test accuracy": "{:.4f}", "training seconds": "{:.0f}"})

# %% [markdown]
# Same architecture, same data, same epochs: the accuracies should agree to within a few tenths
# of a percent (the frameworks initialise weights differently, and the order of batches differs).
# The times depend on the device and how each framework uses it.

# %%
ch.note("training seconds, baseline convnet Keras", round(baseline_seconds, 1))
ch.note("training seconds, baseline convnet PyTorch", round(torch_seconds, 1))
ch.check("test accuracy, PyTorch baseline convnet", torch_test,
         {"smoke": (0.70, 1.0), "fast": (0.975, 1.0), "full": (0.988, 1.0)})

# %% [markdown]
# ## Society: off the training distribution
#
# Every MNIST digit is centred, upright, clean, white on black. A deployed reader of digits
# (postcodes, cheques, forms) meets tilted, shifted, smudged and dark-on-light ones. How does
# accuracy fall as the input moves away from what the model was trained on?
#
# Four shifts from `fmbook.vision`, each with growing size, applied to the same test digits:
# rotation (degrees), translation (pixels right and down), Gaussian noise (std, pixels in 0..1)
# and inversion (blending towards black-on-white). Compared: the baseline model, the chosen model,
# and the augmented model, which saw small shifts and rotations while training.

# %%
n_shift = len(x_test) if cfg.n_shift is None else min(cfg.n_shift, len(x_test))
x_shift, y_shift = x_test[:n_shift, ..., 0], y_test[:n_shift]


def shifted_accuracy(model, kind, level):
    x = vision.perturb(x_shift, kind, level, seed=ch.seed)[..., None]
    return float(np.mean(model.predict(x, batch_size=1000, verbose=0).argmax(1) == y_shift))


shift_results = {}
compared = {"baseline": baseline_model, best_name: best_model, "+ augmentation": models["+ augmentation"]}
for label, model in compared.items():
    shift_results[label] = {kind: [(level, shifted_accuracy(model, kind, level)) for level in levels]
                            for kind, levels in vision.SHIFT_LEVELS.items()}
vision.plot_shift_curves(shift_results);

# %%
best_shift = shift_results[best_name]
clean = best_shift["rotation"][0][1]
rot45 = dict(best_shift["rotation"])[45]
shift4 = dict(best_shift["translation"])[4]
noise5 = dict(best_shift["noise"])[0.5]
inverted = dict(best_shift["inversion"])[1.0]
baseline_shift4 = dict(shift_results["baseline"]["translation"])[4]
aug_shift4 = dict(shift_results["+ augmentation"]["translation"])[4]
aug_rot45 = dict(shift_results["+ augmentation"]["rotation"])[45]
for name, value in [("shifted accuracy: clean", clean), ("shifted accuracy: rotated 45 deg", rot45),
                    ("shifted accuracy: translated 4 px", shift4), ("shifted accuracy: noise 0.5", noise5),
                    ("shifted accuracy: inverted", inverted)]:
    ch.note(name, value)
print(f"On {n_shift:,} test digits, the chosen model ({best_name!r}):")
print(f"  clean {clean:.3f} | rotated 45 degrees {rot45:.3f} | moved 4 px right and down {shift4:.3f} "
      f"| noise std 0.5 {noise5:.3f} | inverted {inverted:.3f} (chance 0.10)")
conf_clean = float(test_probs[:n_shift].max(1).mean())
conf_shift4 = float(vision.softmax(best_model.predict(vision.translate(x_shift, 4)[..., None],
                                                       verbose=0)).max(1).mean())
ch.note("mean confidence: clean / translated 4 px", f"{conf_clean:.2f} / {conf_shift4:.2f}")
print(f"  mean probability of its predicted class: clean {conf_clean:.2f}, moved 4 px {conf_shift4:.2f}")
print(f"  moved 4 pixels: baseline model {baseline_shift4:.3f}, augmented model {aug_shift4:.3f}; "
      f"rotated 45 degrees: augmented model {aug_rot45:.3f}")

# %% [markdown]
# A shift that costs nothing to a person (a digit drawn 4 pixels off-centre, or in black ink on
# white paper) can cost the model most of its accuracy. Compare the mean confidence printed
# above with the accuracy on the same shifted digits: where the confidence stays far above the
# accuracy, the model's own probabilities are a poor warning that something is off. The
# explorer below lets you try shifts on single digits.

# %% [markdown]
# ## Explorer: perturb a digit, watch the probabilities
#
# Pick a test digit, rotate it, add noise, invert it, and see the chosen model's class
# probabilities. Without a live kernel you see the default view.

# %%
from fmbook.widgets import explore


def render(index=0, rotation=0, noise=0.0, inverted=False):
    x = vision.rotate(x_test[index, ..., 0], rotation)
    x = vision.add_noise(x, noise, seed=ch.seed + index)
    x = vision.invert(x, 1.0 if inverted else 0.0)
    probs = vision.softmax(best_model.predict(x[..., None], verbose=0))[0]
    return vision.plot_probabilities(x, probs, title=f"label {y_test[index]}: predicted "
                                     f"{probs.argmax()} ({probs.max():.2f})")


explore(render, index=(0, min(199, len(x_test) - 1), 1), rotation=(-90, 90, 5),
        noise=(0.0, 0.8, 0.05), inverted=False);

# %% [markdown]
# ### Discussion
#
# The numbers above are this run's, measured on held-out digits:

# %%
print(f"- In distribution, the chosen model is right on {test_acc:.1%} of the test digits.")
print(f"- Tilted by 45 degrees it is right on {rot45:.1%}; moved 4 pixels right and 4 down, {shift4:.1%}.")
print(f"- Moved the same way, the baseline model is right on {baseline_shift4:.1%} and the model trained with "
      f"augmentation on {aug_shift4:.1%} (it saw shifts of up to 2 pixels).")
print(f"- With noise of std 0.5, {noise5:.1%}; inverted (dark ink on light paper), {inverted:.1%}, "
      f"where guessing gives 10%.")
print(f"- Its {len(vision.confidently_wrong(test_probs, y_test, k=len(y_test)))} test mistakes include "
      f"{int(np.sum(test_probs.max(1)[test_pred != y_test] > 0.9))} made with more than 90% confidence.")

# %% [markdown]
# - **A test score is a statement about one distribution.** "99% accurate" held for centred,
#   clean, white-on-black digits. A system deployed on scanned forms, phone photos or another
#   country's handwriting is being run on a distribution nobody measured.
# - **Confidence is not a warning light.** Off distribution the model still puts most of its
#   probability on one digit. Systems that act on predictions need a separate check that the
#   input looks like the training data, and a person to send doubtful cases to.
# - **Robustness is bought shift by shift.** Augmentation imitates small shifts and rotations;
#   compare its curves with the baseline's above: what it buys is against the shifts it imitated,
#   not against noise or inversion, which nobody showed it. Chapter 05 goes further: inputs
#   changed *on purpose*, by an adversary, with changes a person cannot see.
# - **Who pays for the error?** A misread postcode delays a letter; a misread amount on a
#   cheque or a dosage form costs someone more. The acceptable error rate depends on who is
#   affected, which the accuracy number does not say.

# %% [markdown]
# ## Exercises
#
# **Exercise 02.conv_layer.** For a 2-D convolution with `filters` kernels of size
# `kernel` x `kernel`, stride `stride` and no padding ("valid") on an input of shape
# (height, width, channels), return `((out_height, out_width, filters), n_parameters)`
# (weights and one bias per filter). Check: the baseline's second layer maps (13, 13, 32) to
# (11, 11, 64) with 18,496 parameters.

# %%
from fmbook.exercises import check, hint, show_solution


def conv_layer(height, width, channels, filters, kernel, stride=1):
    raise NotImplementedError  # your code here


check("02.conv_layer", conv_layer)

# %% [markdown]
# **Exercise 02.evaluate.** Write the PyTorch evaluation loop: given a model, a float tensor of
# images (N, 1, 28, 28) and a tensor of labels, return the accuracy as a Python float. Work in
# batches of `batch_size`, without gradients, with the model in evaluation mode.

# %%
def evaluate_accuracy(model, images, labels, batch_size=256):
    raise NotImplementedError  # your code here


check("02.evaluate", evaluate_accuracy)

# %% [markdown]
# **Exercise 02.most_confident_mistakes.** Given class probabilities (N, 10) and labels (N,),
# return the indices of the `k` wrong predictions with the highest predicted probability, most
# confident first (the gallery above).

# %%
def most_confident_mistakes(probs, labels, k=5):
    raise NotImplementedError  # your code here


check("02.most_confident_mistakes", most_confident_mistakes)

# %% [markdown]
# Stuck? `hint("02.conv_layer")`, `hint("02.conv_layer", 2)`, then `show_solution("02.conv_layer")`.
#
# ## Results card

# %%
ch.finish()
