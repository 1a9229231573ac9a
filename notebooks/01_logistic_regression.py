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
# 4. train with mini-batch stochastic gradient descent, the way every later chapter trains;
# 5. measure accuracy correctly and compare with scikit-learn;
# 6. look at the model as a *screening test*: choose a threshold on held-out predictions, and see
#    what a positive result means when the disease is common and when it is rare.
#
# **Expected results** (checked below; the bands come from `fast` runs with random seeds 0, 1 and 2):
#
# | profile | test accuracy | gradient checks (relative error) | held-out threshold: mean test sensitivity / specificity over repeated splits | Brier skill vs the base rate | time on 2 idle CPU cores |
# | --- | --- | --- | --- | --- | --- |
# | `smoke` | at least 0.93 | below 1e-6 | at least 0.95 / 0.70 (10 splits) | at least 0.80 | about a minute |
# | `fast` | at least 0.96 | below 1e-6 | at least 0.96 / 0.74 (30 splits) | at least 0.82 | 1 to 2 minutes |
# | `full` | at least 0.96 | below 1e-6 | not measured (100 splits) | not measured | a few minutes |

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
import torch

import fmbook
from fmbook.data import load_breast_cancer
from fmbook.frameworks import import_tensorflow
from fmbook.plots import curves
from fmbook.widgets import explore

tf = import_tensorflow()  # `import tensorflow as tf`, minus the CUDA lines its C++ runtime prints
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
# the same share of malignant cases. Nothing is ever *chosen* on the test set: not the weights,
# not the learning rate, not the decision threshold. We look at it several times, but only to
# report what choices made elsewhere achieve.
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


curve_steps = min(cfg.steps, 300)  # the framework loops are slower; the first 300 steps show the point
_, _, losses_tf = train_with(tf_loss_and_grad, X_train, y_train, curve_steps, cfg.learning_rate)
_, _, losses_pt = train_with(torch_loss_and_grad, X_train, y_train, curve_steps, cfg.learning_rate)
curves({"NumPy (by hand)": losses_np[:curve_steps], "TensorFlow": losses_tf,
                     "PyTorch": losses_pt}, xlabel="gradient step", ylabel="training loss", logy=True,
                    title="Three implementations, one loss curve");
print("largest difference between the curves:",
      f"{max(np.abs(np.array(losses_tf) - losses_np[:curve_steps]).max(), np.abs(np.array(losses_pt) - losses_np[:curve_steps]).max()):.1e}")

# %% [markdown]
# ## Mini-batch stochastic gradient descent
#
# Each step above used the gradient over *all* training examples. With millions of examples (every
# later chapter) one step would take far too long. **Mini-batch SGD** shuffles the examples once per
# pass (an *epoch*), cuts them into batches of `batch_size`, and takes one step per batch with the
# gradient of that batch alone. The batch gradient is a noisy but unbiased estimate of the full one,
# so many cheap noisy steps beat one exact expensive step. The batch size is the knob: small batches
# take many noisy steps per epoch, large ones few smooth steps; `batch_size = n` is full-batch
# gradient descent again.

# %%
def train_minibatch(X, y, epochs, lr, batch_size, seed):
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), 0.0
    losses = [bce_loss(w, b, X, y)]              # full training loss, after each epoch
    for _ in range(epochs):
        order = rng.permutation(len(y))          # a fresh shuffle every epoch
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            dw, db = bce_gradient(w, b, X[batch], y[batch])
            w, b = w - lr * dw, b - lr * db
        losses.append(bce_loss(w, b, X, y))
    return w, b, losses


epoch_curves = {"full batch (1 step per epoch)": [bce_loss(np.zeros(X_train.shape[1]), 0.0, X_train, y_train)]
                + losses_np[:cfg.sgd_epochs]}
sgd_final = {}
for k, batch_size in enumerate(cfg.batch_sizes):
    w_sgd, b_sgd, losses_sgd = train_minibatch(X_train, y_train, cfg.sgd_epochs, 0.1, batch_size, ch.seed + k)
    steps_per_epoch = -(-len(y_train) // batch_size)
    epoch_curves[f"batch {batch_size} ({steps_per_epoch} steps per epoch)"] = losses_sgd
    sgd_final[batch_size] = losses_sgd[-1]
curves(epoch_curves, xlabel="epoch (passes over the training set)", ylabel="training loss", logy=True,
       title="Mini-batch SGD (learning rate 0.1) vs full-batch gradient descent");
print(f"training loss after {cfg.sgd_epochs} epochs: full batch {losses_np[cfg.sgd_epochs - 1]:.4f}; "
      + ", ".join(f"batch {bs}: {loss:.4f}" for bs, loss in sgd_final.items()))
reached = np.flatnonzero(np.array(losses_np) <= sgd_final[32])
print(f"full-batch descent (each step over all {len(y_train)} examples) reaches the loss that batch 32 reaches "
      f"in {cfg.sgd_epochs} epochs after", f"{reached[0] + 1} steps" if len(reached) else f"more than {len(losses_np)} steps")
ch.note("training loss, SGD batch 32 after the SGD epochs", float(sgd_final[32]))
ch.note("training loss, full batch after as many epochs", float(losses_np[cfg.sgd_epochs - 1]))

# %% [markdown]
# Per epoch, smaller batches get further, because they take more steps; per *step* full-batch descent
# is smoother. Each step's gradient in a batch of $B$ examples has a variance about $1/B$ of a single
# example's, which is why very small batches need a smaller learning rate. Try it below.

# %%
def render_sgd(batch_size=32, log10_lr=-1.0):
    lr = 10 ** log10_lr
    _, _, losses = train_minibatch(X_train, y_train, cfg.sgd_epochs, lr, int(batch_size), ch.seed)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(losses, label=f"batch {int(batch_size)}")
    ax.plot(epoch_curves["full batch (1 step per epoch)"], "k:", label="full batch, lr 0.5")
    ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title=f"learning rate {lr:.3g}")
    ax.legend(fontsize=8)
    return fig


explore(render_sgd, batch_size=(1, len(y_train), 1), log10_lr=(-3.0, 0.5, 0.25));

# %% [markdown]
# ## Accuracy, measured correctly
#
# The model outputs a *probability*. To count correct answers we must first turn it into a
# decision with a threshold (0.5 for now).
#
# > **Common mistake**: comparing probabilities with labels
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
# Each split has its own test set; these test sets are used to report the spread, nothing else.

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline

splits = StratifiedShuffleSplit(n_splits=10, test_size=0.25, random_state=ch.seed)
def sk_model():
    """Our model in scikit-learn: scaling fitted on the training rows, then logistic regression (C=1)."""
    return make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky"))


spread = [sk_model().fit(X_df.iloc[tr], y[tr]).score(X_df.iloc[te], y[te])
          for tr, te in splits.split(X_df, y)]
print(f"test accuracy over 10 random splits: mean {np.mean(spread):.3f}, min {np.min(spread):.3f}, max {np.max(spread):.3f}")
ch.note("test accuracy over 10 splits (mean)", float(np.mean(spread)))

# %% [markdown]
# ## Compare with scikit-learn
#
# scikit-learn's `LogisticRegression` minimises the same penalised loss (with `C=1`) with a
# second-order solver (Newton's method). Its weights and its test accuracy should match ours.

# %%
sk = LogisticRegression(solver="newton-cholesky").fit(X_train, y_train)
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
# Lowering the threshold catches more malignant tumours at the price of more false alarms. Say the
# clinic wants a test that finds at least 99% of malignant tumours. Which threshold?
#
# The tempting answer, the highest threshold that finds 99% of the malignant tumours *in the
# training set*, is wrong: the model was fitted to those very tumours, so its probabilities for
# them are more confident than they will be for new patients, and a threshold chosen on them is
# too high. The honest way uses **held-out predictions**: 5-fold cross-validation on the training
# split gives each training tumour a probability from a model that never saw it (an *out-of-fold*
# probability), and the threshold is chosen on those. The test set is not touched.

# %%
from sklearn.model_selection import StratifiedKFold, cross_val_predict


def highest_threshold(probs, y, target):
    """The highest t such that at least `target` of the positives have probs >= t."""
    pos = np.sort(probs[y == 1])
    allowed_misses = int(np.floor((1 - target) * len(pos) + 1e-9))
    return float(pos[allowed_misses])


def out_of_fold_probs(X, y, seed):
    folds = StratifiedKFold(cfg.cv_folds, shuffle=True, random_state=seed)
    return cross_val_predict(sk_model(), X, y, cv=folds, method="predict_proba")[:, 1]


def rates(probs, y, t):
    """(sensitivity, specificity) of the decision probs >= t."""
    return float((probs[y == 1] >= t).mean()), float((probs[y == 0] < t).mean())


target = cfg.target_sensitivity
X_raw_train, X_raw_test, _, _ = train_test_split(X_df.to_numpy(), y, test_size=0.25, stratify=y,
                                                 random_state=ch.seed)  # the same split as above
probs_oof = out_of_fold_probs(X_raw_train, y_train, ch.seed)
probs_train = sigmoid(X_train @ w_np + b_np)
t_train, t_held = highest_threshold(probs_train, y_train, target), highest_threshold(probs_oof, y_train, target)
for label, t in [("training-set predictions", t_train), ("held-out (out-of-fold) predictions", t_held)]:
    sens, spec = rates(probs_test, y_test, t)
    print(f"threshold chosen on {label:<36} {t:.3f} -> test sensitivity {sens:.3f}, specificity {spec:.3f}")
sens_held, spec_held = rates(probs_test, y_test, t_held)
ch.note("threshold chosen on held-out predictions", t_held)
ch.note("its test sensitivity (this split)", sens_held)

# %% [markdown]
# One split is one roll of the dice: with about 53 malignant test tumours, a single miss moves
# sensitivity by two points. So we repeat the whole procedure (split, fit, choose both thresholds,
# measure on that split's test set) over many random splits, and count how often each choice misses
# the 99% target on test.

# %%
study = []
splits = StratifiedShuffleSplit(n_splits=cfg.n_splits, test_size=0.25, random_state=ch.seed + 1)
for k, (tr, te) in enumerate(splits.split(X_df, y)):
    Xtr, Xte, ytr, yte = X_df.to_numpy()[tr], X_df.to_numpy()[te], y[tr], y[te]
    model = sk_model().fit(Xtr, ytr)
    p_tr, p_te = model.predict_proba(Xtr)[:, 1], model.predict_proba(Xte)[:, 1]
    t_tr = highest_threshold(p_tr, ytr, target)
    t_ho = highest_threshold(out_of_fold_probs(Xtr, ytr, ch.seed + k), ytr, target)
    study.append([rates(p_te, yte, t_tr)[0], rates(p_te, yte, t_ho)[0], rates(p_te, yte, t_ho)[1], t_tr, t_ho])
study = np.array(study)
sens_tr, sens_ho, spec_ho, thr_tr, thr_ho = study.T
print(f"the threshold chosen on training predictions was higher than the held-out one in "
      f"{np.mean(thr_tr > thr_ho):.0%} of the splits (median {np.median(thr_tr):.3f} vs {np.median(thr_ho):.3f})")
for label, sens in [("training-set predictions", sens_tr), ("held-out predictions", sens_ho)]:
    print(f"threshold from {label:<25} test sensitivity mean {sens.mean():.3f} (sd {sens.std():.3f}, "
          f"min {sens.min():.3f}); below the {target:.0%} target in {np.mean(sens < target):.0%} of "
          f"{cfg.n_splits} splits")
print(f"the held-out threshold's test specificity: mean {spec_ho.mean():.3f} (sd {spec_ho.std():.3f}); "
      "a threshold that flags everyone would have 0")
ch.check("held-out threshold: mean test sensitivity over splits", float(sens_ho.mean()),
         {"smoke": (0.95, 1.0), "fast": (0.96, 1.0), "full": None})
ch.note("held-out threshold: sd of test sensitivity over splits", float(sens_ho.std()))
ch.check("held-out threshold: mean test specificity over splits", float(spec_ho.mean()),
         {"smoke": (0.7, 1.0), "fast": (0.74, 1.0), "full": None})
ch.note("held-out threshold: share of splits below target", float(np.mean(sens_ho < target)))
ch.note("training threshold: share of splits below target", float(np.mean(sens_tr < target)))

fig, ax = plt.subplots(figsize=(5, 3.2))
bins = np.linspace(min(study[:, :2].min(), 0.9) - 0.005, 1.005, 14)  # sensitivities only
ax.hist([sens_tr, sens_ho], bins=bins, label=["chosen on training predictions", "chosen on held-out predictions"])
ax.axvline(target, color="k", ls="--", label=f"target {target:.0%}")
ax.set(xlabel="test sensitivity", ylabel="splits", title=f"{cfg.n_splits} random splits")
ax.legend(fontsize=8);

# %% [markdown]
# The held-out choice is right *on average*, which means it still falls short on many splits: it
# aims at 99%, it does not promise it. Can any threshold promise 99% with this data? The numbers
# answer: the cell below computes how much a perfect score on this many malignant tumours proves.

# %%
from scipy.stats import beta

n_pos_train, n_pos_test = int(y_train.sum()), int(y_test.sum())
for where, n in [("training split (out-of-fold)", n_pos_train), ("test split", n_pos_test)]:
    lower = beta.ppf(0.05, n, 1)  # one-sided 95% lower bound on sensitivity after n of n found
    print(f"{where}: finding all {n} malignant tumours shows only that sensitivity >= {lower:.3f} (95% confidence)")
needed = int(np.ceil(np.log(0.05) / np.log(target)))
print(f"to show sensitivity >= {target:.0%} at 95% confidence with no miss takes {needed} malignant cases; "
      f"this whole data set has {int(y.sum())}. With these data no threshold can promise {target:.0%}: "
      f"it can only aim at it, as above.")

# %% [markdown]
# ## ROC and precision–recall curves
#
# Every threshold gives one (false positive rate, sensitivity) pair; the **ROC curve** draws them
# all, and the area under it is the chance that a random malignant tumour gets a higher probability
# than a random benign one. The **precision–recall curve** shows, for each sensitivity (recall),
# the share of flagged tumours that are malignant (precision). Precision depends on how common the
# disease is, which the next section makes concrete.

# %%
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

fpr_c, tpr_c, _ = roc_curve(y_test, probs_test)
prec_c, rec_c, _ = precision_recall_curve(y_test, probs_test)
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
a1.plot(fpr_c, tpr_c)
a1.plot([0, 1], [0, 1], "k:", label="chance")
a1.plot(1 - spec_held, sens_held, "ko", label=f"held-out threshold {t_held:.2f}")
a1.set(xlabel="false positive rate", ylabel="sensitivity", title="ROC (test)")
a1.legend(fontsize=8)
a2.plot(rec_c, prec_c)
a2.axhline(y_test.mean(), color="k", ls=":", label="chance (prevalence)")
a2.set(xlabel="sensitivity (recall)", ylabel="precision (PPV)", title="precision–recall (test)")
a2.legend(fontsize=8)
fig.tight_layout()
auc = roc_auc_score(y_test, probs_test)
print(f"area under the ROC curve: {auc:.3f}")
ch.note("ROC AUC (test)", float(auc))

# %% [markdown]
# ## Prevalence: what a positive result means
#
# In this data set 37% of the tumours are malignant: they were referred for diagnosis. In a
# screening programme perhaps 1 person in 200 (0.5%) has the disease. Sensitivity and specificity
# are properties of the test; the **positive predictive value** (PPV), the chance that a flagged
# person is ill, also depends on prevalence $\pi$. By Bayes' rule
#
# $$\text{PPV} = \frac{\text{sens}\cdot\pi}{\text{sens}\cdot\pi + (1-\text{spec})(1-\pi)}.$$

# %%
def ppv(sens, spec, prevalence):
    flagged_ill = sens * prevalence
    return flagged_ill / (flagged_ill + (1 - spec) * (1 - prevalence))


prevalence_here = float(y.mean())
print(f"this split, held-out threshold {t_held:.3f}: sensitivity {sens_held:.3f}, specificity {spec_held:.3f} "
      f"(test) -> PPV {ppv(sens_held, spec_held, prevalence_here):.3f} at {prevalence_here:.1%} prevalence, "
      f"{ppv(sens_held, spec_held, cfg.screening_prevalence):.3f} at {cfg.screening_prevalence:.1%}")
# One split's specificity rests on about 90 benign tumours; the splits of the study give the spread.
ppv_here_splits = ppv(sens_ho, spec_ho, prevalence_here)
ppv_screen_splits = ppv(sens_ho, spec_ho, cfg.screening_prevalence)
ppv_here, ppv_screen = float(np.median(ppv_here_splits)), float(np.median(ppv_screen_splits))
for label, values in [(f"this data set's prevalence {prevalence_here:.1%}", ppv_here_splits),
                      (f"a screening prevalence of {cfg.screening_prevalence:.1%}", ppv_screen_splits)]:
    print(f"PPV at {label}, over {cfg.n_splits} splits: median {np.median(values):.3f} "
          f"(range {values.min():.3f} to {values.max():.3f})")
ch.note("PPV at the data set's prevalence (median over splits)", ppv_here)
ch.note("PPV at 0.5% prevalence (median over splits)", ppv_screen)

# %% [markdown]
# ## Calibration and the Brier score
#
# When the model says "70% malignant", is that true 70% of the time? A **calibration curve** bins
# the predicted probabilities and plots the observed share of malignant tumours in each bin. With
# 143 test cases the bins are noisy; treat it as a rough picture. The **Brier score** is the mean
# squared error of the probabilities; it means little alone, so we set it beside the forecaster
# that knows nothing but the base rate and always says "37%".

# %%
from sklearn.calibration import calibration_curve

frac_pos, mean_pred = calibration_curve(y_test, probs_test, n_bins=5, strategy="quantile")
fig, ax = plt.subplots(figsize=(3.8, 3.6))
ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
ax.plot(mean_pred, frac_pos, "o-", label="our model")
ax.set(xlabel="predicted probability", ylabel="observed malignant share", title="calibration (test)")
ax.legend(fontsize=8);
brier = float(np.mean((probs_test - y_test) ** 2))
brier_base = float(np.mean((y_train.mean() - y_test) ** 2))  # the base rate comes from the training split
print(f"Brier score: our model {brier:.3f}, base-rate forecaster {brier_base:.3f} "
      f"(skill score 1 - ratio = {1 - brier / brier_base:.2f})")
ch.note("Brier score (test)", brier)
ch.note("Brier score of the base-rate forecaster (test)", brier_base)
ch.check("Brier skill score vs the base rate (test)", 1 - brier / brier_base,
         {"smoke": (0.8, 1.0), "fast": (0.82, 1.0), "full": None})

# %% [markdown]
# ## Society: who should choose, and for whom?

# %%
flagged_per_cancer = 1 / ppv_screen
print(f"At a threshold that aims to find {target:.0%} of malignant tumours, {ppv_here:.0%} of flagged "
      f"tumours are malignant in a referral population like this one ({prevalence_here:.0%} malignant; "
      f"median over {cfg.n_splits} splits).")
print(f"The same test in a screening population ({cfg.screening_prevalence:.1%} malignant) has a PPV of "
      f"{ppv_screen:.1%}: about {flagged_per_cancer:.0f} people are flagged, biopsied and worried for each "
      f"cancer it finds, {'most' if ppv_screen < 0.5 else 'a minority'} of them healthy.")
print(f"And the 'finds {target:.0%}' is an aim, not a promise: over {cfg.n_splits} splits the held-out "
      f"threshold found {sens_ho.mean():.1%} on average and fell short in {np.mean(sens_ho < target):.0%} of them.")

# %% [markdown]
# **Discuss.** Who should choose the threshold: the developer, the clinic, the patient? The same
# model is a reasonable diagnostic aid and a poor screening test, and the difference is not in the
# model at all but in who it is used on. This data set comes from one hospital in Wisconsin in the
# early 1990s; would you trust these numbers for another population, another scanner, another
# decade? Chapter 02 measures what happens when inputs drift away from the training data.
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
# **01.accuracy**: the common mistake above, fixed: accuracy of probabilities against labels at a given
# threshold.

# %%
def accuracy_at(y_true, probs, threshold=0.5):
    raise NotImplementedError  # your code here


check("01.accuracy", accuracy_at)

# %% [markdown]
# **01.choose_threshold**: the threshold study above used scikit-learn's cross-validation. Now decide
# it yourself. `fit_predict(X_fit, y_fit, X_new)` fits a model on `(X_fit, y_fit)` and returns its
# probabilities for the rows of `X_new`. Return the highest threshold that you expect to find at
# least `target_sensitivity` of the positives *in new data*, using `n_folds`-fold cross-validation
# on `(X, y)` (shuffle with `seed`). The checker uses its own data and its own model, and judges your
# threshold on data your function never sees.

# %%
def choose_threshold(fit_predict, X, y, target_sensitivity, n_folds=5, seed=0):
    raise NotImplementedError  # your code here


check("01.choose_threshold", choose_threshold)

# %% [markdown]
# Hints: `hint("01.gradient")`; solutions: `show_solution("01.gradient")`.
#
# ## Results card

# %%
ch.finish()
