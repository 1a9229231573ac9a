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
# # Chapter 01: Logistic regression from scratch
#
# Every model in this book, up to BERT, is trained the same way: write down a loss, compute its
# gradient, take a small step downhill, repeat. This chapter does it by hand once, for the
# simplest classifier there is, so that nothing later is magic.
#
# You will:
#
# 1. prepare a medical data set the way a careful analyst would (stratified split, scaling fitted on
#    the training set only);
# 2. write the model, its loss and its gradient in NumPy, and check the gradient numerically;
# 3. get the same gradient from TensorFlow and PyTorch automatic differentiation;
# 4. measure accuracy correctly and compare with scikit-learn;
# 5. look at the model as a *screening test*: which mistakes it makes, and what a threshold means.
#
# **Expected results** (checked below):
#
# | profile | test accuracy | gradient checks (relative error) | time on 2 CPU cores |
# | --- | --- | --- | --- |
# | `smoke` | at least 0.93 | below 1e-6 | under a minute |
# | `fast` | at least 0.96 | below 1e-6 | about a minute |
# | `full` | at least 0.96 | below 1e-6 | about a minute |

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

# %%
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import torch

import fmbook
from fmbook.data import load_breast_cancer

ch = fmbook.start("01_logistic_regression", seed=0)
cfg = ch.settings
cfg

# %% [markdown]
# ## The data: a screening problem
#
# The Wisconsin breast cancer data describe 569 tumours by 30 measurements of their cell nuclei
# (radius, texture, smoothness, ...), each labelled malignant or benign. fmbook codes
# **malignant as 1**, the condition a screening test looks for.

# %%
X_df, y = load_breast_cancer()
print(X_df.shape, "malignant fraction:", y.mean().round(3))
X_df.iloc[:5, :6]

# %% [markdown]
# We keep a quarter of the tumours aside as a test set, **stratified** so that both parts have
# the same share of malignant cases. The test set is used once, at the end.
#
# Then we standardise each feature (mean 0, standard deviation 1), which makes gradient descent
# converge much faster.
#
# > **Common mistake:** fitting the scaler on all the data before splitting. The test set's mean
# > and spread then leak into training, and the test score is no longer an honest estimate.
# > Fit on the training set, apply to both.

# %%
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_train, X_test, y_train, y_test = train_test_split(
    X_df.to_numpy(), y, test_size=0.25, stratify=y, random_state=ch.seed)
scaler = StandardScaler().fit(X_train)          # fitted on the training set only
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print("train", X_train.shape, "test", X_test.shape,
      "| malignant share:", y_train.mean().round(3), y_test.mean().round(3))

# %% [markdown]
# ## The model
#
# Logistic regression computes a score $z = x \cdot w + b$ and turns it into a probability with
# the sigmoid $\sigma(z) = 1 / (1 + e^{-z})$. Written naively, `1 / (1 + np.exp(-z))` overflows
# for large negative $z$; the version below never exponentiates a positive number.

# %%
def sigmoid(z):
    """Numerically stable logistic function."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


print(sigmoid(np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])))

# %% [markdown]
# ## The loss: binary cross-entropy
#
# For one example with label $y \in \{0, 1\}$ and probability $p = \sigma(z)$ the loss is
# $\ell = -[y \log p + (1-y)\log(1-p)]$. Computing $p$ first and then its logarithm loses
# precision when $p$ is close to 0 or 1 (and gives `log(0) = -inf`). Expressed in $z$ directly
# it becomes
#
# $$\ell(z, y) = \max(z, 0) - z\,y + \log\left(1 + e^{-|z|}\right),$$
#
# which is exact and never overflows. We also add a small L2 penalty
# $\frac{\lambda}{2}\lVert w \rVert^2$ with $\lambda = 1/n$: this is exactly scikit-learn's
# default (`C=1`), so the two models can be compared like for like.

# %%
LAMBDA = 1.0 / len(y_train)


def bce_loss(w, b, X, y, lam=LAMBDA):
    """Mean binary cross-entropy from logits, plus an L2 penalty on w."""
    z = X @ w + b
    data = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return data + 0.5 * lam * np.dot(w, w)

# %% [markdown]
# ## The gradient, derived by hand
#
# With $p_i = \sigma(z_i)$ and $\sigma'(z) = \sigma(z)(1-\sigma(z))$, the derivative of one
# example's loss with respect to its score simplifies beautifully:
#
# $$\frac{\partial \ell_i}{\partial z_i} = -\left[\frac{y_i}{p_i} - \frac{1-y_i}{1-p_i}\right] p_i (1-p_i) = p_i - y_i.$$
#
# Since $z_i = x_i \cdot w + b$, the chain rule gives, for the mean over $n$ examples plus the penalty,
#
# $$\nabla_w L = \frac{1}{n} X^\top (p - y) + \lambda w, \qquad \frac{\partial L}{\partial b} = \frac{1}{n}\sum_i (p_i - y_i).$$

# %%
def bce_gradient(w, b, X, y, lam=LAMBDA):
    """Gradient of bce_loss with respect to (w, b)."""
    err = sigmoid(X @ w + b) - y
    return X.T @ err / len(y) + lam * w, err.mean()

# %% [markdown]
# ## Check the gradient numerically
#
# A wrong gradient still trains, just badly, so it is worth checking. The central difference
# $\frac{L(w + h e_j) - L(w - h e_j)}{2h}$ approximates each partial derivative with an error of
# order $h^2$. We compare it with our formula at random weights; the **relative error** should be
# around 1e-9 in double precision, and we require it below 1e-6.

# %%
def numerical_gradient(f, params, h=1e-5):
    """Central-difference gradient of f at params (a 1-D array)."""
    grad = np.zeros_like(params)
    for j in range(len(params)):
        e = np.zeros_like(params)
        e[j] = h
        grad[j] = (f(params + e) - f(params - e)) / (2 * h)
    return grad


def relative_error(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


rng = np.random.default_rng(ch.seed)
w_check, b_check = rng.normal(scale=0.1, size=X_train.shape[1]), 0.1
flat = lambda theta: bce_loss(theta[:-1], theta[-1], X_train, y_train)
numeric = numerical_gradient(flat, np.append(w_check, b_check))
dw, db = bce_gradient(w_check, b_check, X_train, y_train)
grad_error = relative_error(np.append(dw, db), numeric)
ch.check("gradient check: relative error vs finite differences", grad_error,
         {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})

# %% [markdown]
# ## Gradient descent
#
# Now the training loop: start from zero weights and step against the gradient. This is the whole
# of "training" in its simplest form.

# %%
from tqdm.auto import trange


def train_numpy(X, y, steps, lr):
    w, b = np.zeros(X.shape[1]), 0.0
    losses = []
    for _ in trange(steps, desc="gradient descent"):
        dw, db = bce_gradient(w, b, X, y)
        w, b = w - lr * dw, b - lr * db
        losses.append(bce_loss(w, b, X, y))
    return w, b, losses


w_np, b_np, losses_np = train_numpy(X_train, y_train, cfg.steps, cfg.learning_rate)
print(f"{cfg.steps} steps, learning rate {cfg.learning_rate}: training loss {losses_np[0]:.4f} -> {losses_np[-1]:.4f}")

# %% [markdown]
# ## The same gradient from TensorFlow and PyTorch
#
# Deep learning frameworks compute gradients by **automatic differentiation**: they record the
# operations of the forward pass and apply the chain rule backwards. Given the same weights they
# must agree with our hand-derived formula to rounding error. We use float64 to compare at 1e-6.

# %%
def tf_loss_and_grad(w, b, X, y, lam=LAMBDA):
    w, b = tf.Variable(w, dtype=tf.float64), tf.Variable(b, dtype=tf.float64)
    X, y = tf.constant(X, tf.float64), tf.constant(y, tf.float64)
    with tf.GradientTape() as tape:
        z = tf.linalg.matvec(X, w) + b
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)) \
            + 0.5 * lam * tf.reduce_sum(w * w)
    dw, db = tape.gradient(loss, [w, b])
    return float(loss), dw.numpy(), float(db)


def torch_loss_and_grad(w, b, X, y, lam=LAMBDA):
    w = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    X, y = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    z = X @ w + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 0.5 * lam * (w * w).sum()
    loss.backward()
    return float(loss.detach()), w.grad.numpy(), float(b.grad)


ours = np.append(*bce_gradient(w_check, b_check, X_train, y_train))
_, tf_dw, tf_db = tf_loss_and_grad(w_check, b_check, X_train, y_train)
_, pt_dw, pt_db = torch_loss_and_grad(w_check, b_check, X_train, y_train)
tf_error = relative_error(ours, np.append(tf_dw, tf_db))
torch_error = relative_error(ours, np.append(pt_dw, pt_db))
print(f"relative error, TensorFlow: {tf_error:.2e}   PyTorch: {torch_error:.2e}")
ch.check("gradient check: TensorFlow GradientTape vs NumPy", tf_error,
         {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})
ch.check("gradient check: PyTorch autograd vs NumPy", torch_error,
         {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})

# %% [markdown]
# Training with either framework is the same loop with their gradient in place of ours. The three
# loss curves lie on top of each other: same maths, three implementations.

# %%
def train_with(loss_and_grad, X, y, steps, lr):
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    for _ in range(steps):
        _, dw, db = loss_and_grad(w, b, X, y)
        w, b = w - lr * dw, b - lr * db
        losses.append(loss_and_grad(w, b, X, y)[0])
    return w, b, losses


from fmbook.plots import curves

curve_steps = min(cfg.steps, 300)  # the framework loops are slower; the first 300 steps show the point
_, _, losses_tf = train_with(tf_loss_and_grad, X_train, y_train, curve_steps, cfg.learning_rate)
_, _, losses_pt = train_with(torch_loss_and_grad, X_train, y_train, curve_steps, cfg.learning_rate)
curves({"NumPy (by hand)": losses_np[:curve_steps], "TensorFlow": losses_tf,
                     "PyTorch": losses_pt}, xlabel="gradient step", ylabel="training loss", logy=True,
                    title="Three implementations, one loss curve");
print("largest difference between the curves:",
      f"{max(np.abs(np.array(losses_tf) - losses_np[:curve_steps]).max(), np.abs(np.array(losses_pt) - losses_np[:curve_steps]).max()):.1e}")

# %% [markdown]
# ## Accuracy, measured correctly
#
# The model outputs a *probability*. To count correct answers we must first turn it into a
# decision with a threshold (0.5 for now).
#
# > **Common mistake** (it was in this book's seed material): comparing probabilities with labels
# > directly, `np.mean(probs == y)`. A probability of 0.93 is never equal to the label 1, so this
# > "accuracy" is close to 0 for a good model, and a reader who sees a strange number may tune
# > the wrong thing. Threshold first.

# %%
probs_test = sigmoid(X_test @ w_np + b_np)
wrong_accuracy = np.mean(probs_test == y_test)
test_accuracy = np.mean((probs_test >= 0.5).astype(int) == y_test)
print(f"unthresholded (wrong): {wrong_accuracy:.3f}   thresholded at 0.5: {test_accuracy:.3f}")
ch.check("test accuracy (NumPy logistic regression)", test_accuracy,
         {"smoke": (0.93, 1.0), "fast": (0.96, 1.0), "full": (0.96, 1.0)})

# %% [markdown]
# With 143 test tumours, one mistake moves accuracy by 0.7 points, so a single split says little
# about the second decimal. Re-splitting the data a few times shows the spread a reader should
# expect (scikit-learn's model, which the next cell shows is the same as ours, is quick to refit).

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline

splits = StratifiedShuffleSplit(n_splits=10, test_size=0.25, random_state=ch.seed)
spread = [make_pipeline(StandardScaler(), LogisticRegression()).fit(X_df.iloc[tr], y[tr]).score(X_df.iloc[te], y[te])
          for tr, te in splits.split(X_df, y)]
print(f"test accuracy over 10 random splits: mean {np.mean(spread):.3f}, min {np.min(spread):.3f}, max {np.max(spread):.3f}")
ch.note("test accuracy over 10 splits (mean)", float(np.mean(spread)))

# %% [markdown]
# ## Compare with scikit-learn
#
# scikit-learn's `LogisticRegression` minimises the same penalised loss (with `C=1`) with a
# second-order solver. Its weights and its test accuracy should match ours.

# %%
sk = LogisticRegression().fit(X_train, y_train)
sk_accuracy = sk.score(X_test, y_test)
print(f"scikit-learn test accuracy {sk_accuracy:.3f}, ours {test_accuracy:.3f}; "
      f"largest weight difference {np.abs(sk.coef_[0] - w_np).max():.3f}")
ch.check("accuracy gap to scikit-learn (points)", 100 * abs(sk_accuracy - test_accuracy),
         {"smoke": (0, 1.0), "fast": (0, 1.0), "full": (0, 1.0)})

# %% [markdown]
# ## Explore: learning rate and steps
#
# With two features the model is a line through the plane. Move the sliders: a tiny learning rate
# barely moves the line; a huge one makes the loss jump around before it settles (or never does).

# %%
from fmbook.widgets import explore

pair = [list(X_df.columns).index("mean radius"), list(X_df.columns).index("mean texture")]
X2 = X_train[:, pair]


def render_descent(log10_lr=-0.5, steps=100):
    lr = 10 ** log10_lr
    w, b, losses = np.zeros(2), 0.0, []
    for _ in range(int(steps)):
        dw, db = bce_gradient(w, b, X2, y_train, lam=0.0)
        w, b = w - lr * dw, b - lr * db
        losses.append(bce_loss(w, b, X2, y_train, lam=0.0))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    a1.plot(losses)
    a1.set(xlabel="step", ylabel="training loss", yscale="log", title=f"learning rate {lr:.3g}")
    a2.scatter(X2[:, 0], X2[:, 1], c=y_train, cmap="coolwarm", s=10, alpha=0.7)
    xs = np.linspace(X2[:, 0].min(), X2[:, 0].max(), 50)
    if abs(w[1]) > 1e-9:
        a2.plot(xs, -(w[0] * xs + b) / w[1], "k-", label="p = 0.5")
    a2.set(xlabel="mean radius (standardised)", ylabel="mean texture (standardised)",
           ylim=(X2[:, 1].min() - 0.5, X2[:, 1].max() + 0.5), title="decision boundary")
    a2.legend(loc="upper right")
    fig.tight_layout()
    return fig


explore(render_descent, log10_lr=(-3.0, 1.5, 0.25), steps=(10, 500, 10));

# %% [markdown]
# ## Society: the model as a screening test
#
# Accuracy hides *which* mistakes are made. In screening, a **false negative** (a malignant
# tumour called benign) can delay treatment; a **false positive** leads to an unnecessary
# biopsy and anxiety. The costs are not equal, and choosing between them is not a purely
# technical decision.

# %%
from fmbook.plots import confusion

pred_test = (probs_test >= 0.5).astype(int)
confusion(y_test, pred_test, labels=["benign", "malignant"], title="test set, threshold 0.5");
fn = int(((pred_test == 0) & (y_test == 1)).sum())
fp = int(((pred_test == 1) & (y_test == 0)).sum())
sensitivity = float(((pred_test == 1) & (y_test == 1)).sum() / (y_test == 1).sum())
print(f"At threshold 0.5: {fn} of {int((y_test == 1).sum())} malignant tumours missed, "
      f"{fp} benign tumours flagged; sensitivity {sensitivity:.3f}")
ch.note("false negatives at 0.5 (test)", fn)
ch.note("sensitivity at 0.5 (test)", sensitivity)

# %% [markdown]
# Lowering the threshold catches more malignant tumours at the price of more false alarms. The
# threshold must be chosen **without looking at the test set**: we pick, on the training set, the
# highest threshold that still finds at least 99% of malignant cases, then see what it does on test.

# %%
thresholds = np.linspace(0.01, 0.99, 99)
probs_train = sigmoid(X_train @ w_np + b_np)
train_tpr = np.array([(probs_train[y_train == 1] >= t).mean() for t in thresholds])
chosen = thresholds[train_tpr >= 0.99].max()
pred_low = (probs_test >= chosen).astype(int)
fn_low = int(((pred_low == 0) & (y_test == 1)).sum())
fp_low = int(((pred_low == 1) & (y_test == 0)).sum())
print(f"threshold chosen on training data: {chosen:.2f} -> test: {fn_low} missed (was {fn}), "
      f"{fp_low} false alarms (was {fp})")

test_tpr = [(probs_test[y_test == 1] >= t).mean() for t in thresholds]
test_fpr = [(probs_test[y_test == 0] >= t).mean() for t in thresholds]
fig, ax = plt.subplots(figsize=(5, 3.4))
ax.plot(thresholds, test_tpr, label="sensitivity (malignant found)")
ax.plot(thresholds, test_fpr, label="false positive rate")
ax.axvline(0.5, color="grey", ls=":", label="0.5")
ax.axvline(chosen, color="k", ls="--", label=f"chosen {chosen:.2f}")
ax.set(xlabel="threshold", title="test set: the trade-off a threshold makes")
ax.legend(fontsize=8);

# %% [markdown]
# Finally: when the model says "70% malignant", is that true 70% of the time? A **calibration
# curve** bins the predicted probabilities and plots the observed share of malignant tumours in
# each bin. A well-calibrated model lies on the diagonal. With 143 test cases the bins are noisy;
# treat it as a rough picture.

# %%
from sklearn.calibration import calibration_curve

frac_pos, mean_pred = calibration_curve(y_test, probs_test, n_bins=5, strategy="quantile")
fig, ax = plt.subplots(figsize=(3.8, 3.6))
ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
ax.plot(mean_pred, frac_pos, "o-", label="our model")
ax.set(xlabel="predicted probability", ylabel="observed malignant share", title="calibration (test)")
ax.legend(fontsize=8);
brier = float(np.mean((probs_test - y_test) ** 2))
print(f"Brier score (mean squared error of the probabilities): {brier:.3f}")
ch.note("Brier score (test)", brier)

# %% [markdown]
# **Discuss.** Who should choose the threshold: the developer, the clinic, the patient? The
# numbers above say what each choice costs on this data. This data set comes from one hospital
# in Wisconsin in the early 1990s; would you trust these numbers for another population, another
# scanner, another decade? Chapter 02 measures what happens when inputs drift away from the
# training data.
#
# ## Exercises
#
# **01.gradient**: write the gradient of the mean binary cross-entropy, *without* the L2 penalty:
# return `(dw, db)`.

# %%
from fmbook.exercises import check, hint, show_solution


def my_gradient(w, b, X, y):
    raise NotImplementedError  # your code here


check("01.gradient", my_gradient)

# %% [markdown]
# **01.threshold_sweep**: for each threshold, return the true positive rate and the false positive
# rate, as an array of shape `(len(thresholds), 2)`.

# %%
def threshold_sweep(probs, y, thresholds):
    raise NotImplementedError  # your code here


check("01.threshold_sweep", threshold_sweep)

# %% [markdown]
# **01.accuracy**: the seed's bug, fixed: accuracy of probabilities against labels at a given threshold.

# %%
def accuracy_at(y_true, probs, threshold=0.5):
    raise NotImplementedError  # your code here


check("01.accuracy", accuracy_at)

# %% [markdown]
# Hints: `hint("01.gradient")`; solutions: `show_solution("01.gradient")`.
#
# ## Results card

# %%
ch.finish()
