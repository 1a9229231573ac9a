"""Vision helpers for the MNIST chapters: image checks, distribution shifts, plots.

The lesson code (training, evaluation loops, the shift experiment) stays in the
notebooks; this module holds the plumbing they share:

* :func:`as_float_images` validates digit arrays and scales them to ``[0, 1]``;
* the shift transforms :func:`rotate`, :func:`translate`, :func:`add_noise`,
  :func:`invert` and the dispatcher :func:`perturb` (chapter 02's society
  section);
* :func:`softmax` and :func:`confidently_wrong` for a model's outputs;
* plots: filters, feature maps, the confidently-wrong gallery, class
  probabilities, accuracy against shift size.

Every image function accepts ``(N, H, W)`` (or one ``(H, W)`` image) as ``uint8``
pixels 0..255 or floats in ``[0, 1]``, and raises ``ValueError`` with a clear
message for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SHIFT_KINDS: tuple[str, ...] = ("rotation", "translation", "noise", "inversion")
"""The distribution shifts of :func:`perturb`."""

SHIFT_LEVELS: dict[str, tuple[float, ...]] = {
    "rotation": (0, 15, 30, 45, 60, 90),          # degrees
    "translation": (0, 2, 4, 6, 8),                # pixels, to the right and down
    "noise": (0.0, 0.1, 0.2, 0.3, 0.5, 0.7),       # std of Gaussian noise, pixels in [0, 1]
    "inversion": (0.0, 0.25, 0.5, 0.75, 1.0),      # blend towards 1 - x
}
"""Default shift sizes per kind, from none (the first) to large."""

SHIFT_UNITS: dict[str, str] = {
    "rotation": "degrees", "translation": "pixels", "noise": "noise std", "inversion": "blend towards 1 - x",
}


# --------------------------------------------------------------------------- validation


def as_float_images(x, *, name: str = "images") -> np.ndarray:
    """Validate digit images and return them as float32 in ``[0, 1]``.

    Parameters
    ----------
    x : array-like
        ``(N, H, W)`` images, ``(N, H, W, 1)`` channel-last images or one ``(H, W)``
        image; ``uint8`` pixels 0..255 or floats in ``[0, 1]``.
    name : str
        Used in error messages.

    Returns
    -------
    np.ndarray
        float32 array of shape ``(N, H, W)`` (a single image comes back as ``(1, H, W)``).

    Raises
    ------
    ValueError
        For another shape, an integer dtype other than uint8, a bool/object dtype,
        floats outside ``[0, 1]``, or NaNs.
    """
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or min(x.shape[1:], default=0) < 2:
        raise ValueError(
            f"{name} must have shape (N, H, W), (N, H, W, 1) or (H, W); got {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if np.issubdtype(x.dtype, np.floating):
        if x.size and not np.isfinite(x).all():
            raise ValueError(f"{name} contain NaN or infinite values")
        if x.size and (x.min() < 0.0 or x.max() > 1.0):
            raise ValueError(
                f"float {name} must lie in [0, 1] (got {x.min():.3g} .. {x.max():.3g}); "
                f"divide uint8 pixels by 255 first")
        return x.astype(np.float32)
    raise ValueError(
        f"{name} must be uint8 (0..255) or float in [0, 1]; got dtype {x.dtype}")


# --------------------------------------------------------------------------- shifts


def rotate(images, degrees: float) -> np.ndarray:
    """Rotate each image by ``degrees`` (counter-clockwise) about its centre.

    Returns float32 images in ``[0, 1]`` of the same ``(N, H, W)`` shape; the
    corners that come into view are black (0).
    """
    from scipy import ndimage

    x = as_float_images(images)
    degrees = float(degrees)
    if not np.isfinite(degrees):
        raise ValueError(f"degrees must be a finite number, got {degrees}")
    if degrees % 360 == 0:
        return x.copy()
    out = ndimage.rotate(x, degrees, axes=(2, 1), reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def translate(images, dx: int, dy: int | None = None) -> np.ndarray:
    """Shift each image ``dx`` pixels right and ``dy`` down (default ``dy = dx``), filling with 0.

    Pixels pushed over the edge are lost. Negative values shift left / up.
    """
    x = as_float_images(images)
    dy = dx if dy is None else dy
    if int(dx) != dx or int(dy) != dy:
        raise ValueError(f"translate shifts by whole pixels; got dx={dx}, dy={dy}")
    dx, dy = int(dx), int(dy)
    h, w = x.shape[1:]
    out = np.zeros_like(x)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src = x[:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[:, max(0, dy):max(0, dy) + src.shape[1], max(0, dx):max(0, dx) + src.shape[2]] = src
    return out


def add_noise(images, std: float, *, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``std`` (pixels in [0, 1]) and clip to [0, 1].

    The noise is drawn from ``np.random.default_rng(seed)``, so a call is repeatable.
    """
    x = as_float_images(images)
    std = float(std)
    if not np.isfinite(std) or std < 0:
        raise ValueError(f"noise std must be a non-negative number, got {std}")
    if std == 0:
        return x.copy()
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.normal(0.0, std, size=x.shape).astype(np.float32), 0.0, 1.0)


def invert(images, amount: float = 1.0) -> np.ndarray:
    """Blend each image towards its negative: ``(1 - amount) * x + amount * (1 - x)``.

    ``amount=1`` gives white-on-black turned into black-on-white (ink on paper).
    """
    x = as_float_images(images)
    amount = float(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"inversion amount must lie in [0, 1], got {amount}")
    return ((1.0 - amount) * x + amount * (1.0 - x)).astype(np.float32)


def perturb(images, kind: str, level: float, *, seed: int = 0) -> np.ndarray:
    """Apply one distribution shift of the given size.

    Parameters
    ----------
    images : array-like
        Digits, see :func:`as_float_images`.
    kind : {"rotation", "translation", "noise", "inversion"}
    level : float
        Degrees, pixels (rounded to whole pixels), noise std, or inversion amount.
    seed : int
        Seed of the noise.

    Returns
    -------
    np.ndarray
        float32 ``(N, H, W)`` in ``[0, 1]``.
    """
    if kind == "rotation":
        return rotate(images, level)
    if kind == "translation":
        return translate(images, int(round(level)))
    if kind == "noise":
        return add_noise(images, level, seed=seed)
    if kind == "inversion":
        return invert(images, level)
    raise ValueError(f"unknown shift kind {kind!r}: choose one of {', '.join(SHIFT_KINDS)}")


# --------------------------------------------------------------------------- probabilities


def softmax(logits) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` logits, numerically stable."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {z.shape}")
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# --------------------------------------------------------------------------- analysis


def confidently_wrong(probs, y_true, k: int = 16) -> np.ndarray:
    """Indices of the ``k`` misclassified examples with the highest predicted-class probability.

    Parameters
    ----------
    probs : (N, K) array of class probabilities
    y_true : (N,) labels
    k : int

    Returns
    -------
    np.ndarray
        Up to ``k`` indices, most confident mistake first (fewer when fewer are wrong).
    """
    probs, y_true = np.asarray(probs), np.asarray(y_true)
    if probs.ndim != 2 or len(probs) != len(y_true):
        raise ValueError(f"probs must be (N, K) with N = len(y_true); got {probs.shape} and {y_true.shape}")
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != y_true)
    order = np.argsort(-probs[wrong, pred[wrong]], kind="stable")
    return wrong[order][:k]


# --------------------------------------------------------------------------- plots


def plot_filters(kernels, *, ncols: int = 8, title: str | None = None):
    """Draw first-layer convolution kernels.

    Parameters
    ----------
    kernels : array
        Keras layout ``(kh, kw, 1, F)`` or PyTorch layout ``(F, 1, kh, kw)``.
    """
    import matplotlib.pyplot as plt

    k = np.asarray(kernels, dtype=float)
    if k.ndim != 4:
        raise ValueError(f"kernels must be 4-D, got shape {k.shape}")
    if k.shape[2] == 1:          # Keras (kh, kw, 1, F)
        k = np.moveaxis(k[:, :, 0, :], -1, 0)
    elif k.shape[1] == 1:        # PyTorch (F, 1, kh, kw)
        k = k[:, 0]
    else:
        raise ValueError(f"expected one input channel, got kernels of shape {k.shape}")
    n = len(k)
    nrows = int(np.ceil(n / ncols))
    lim = float(np.abs(k).max()) or 1.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.0 * ncols, 1.05 * nrows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(k[i], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(str(i), fontsize=7)
    fig.suptitle(title or "first-layer filters (red +, blue -)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_feature_maps(image, maps, *, n: int = 16, ncols: int = 8, title: str | None = None):
    """Draw one input digit and the first ``n`` channels of its feature maps ``(H, W, C)``."""
    import matplotlib.pyplot as plt

    img = as_float_images(image, name="image")[0]
    m = np.asarray(maps, dtype=float)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"feature maps must be (H, W, C) or (1, H, W, C), got {np.shape(maps)}")
    n = min(n, m.shape[-1])
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols + 1, figsize=(1.1 * (ncols + 1), 1.15 * nrows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(img, cmap="gray")
    axes[0, 0].set_title("input", fontsize=8)
    for i in range(n):
        ax = axes[i // ncols, 1 + i % ncols]
        ax.imshow(m[..., i], cmap="viridis")
        ax.set_title(f"ch {i}", fontsize=7)
    fig.suptitle(title or f"feature maps {m.shape[0]}x{m.shape[1]}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_confidently_wrong(images, probs, y_true, k: int = 16, *, ncols: int = 8):
    """The gallery of the ``k`` most confidently wrong digits: "true -> predicted (confidence)"."""
    import matplotlib.pyplot as plt

    x = as_float_images(images)
    probs = np.asarray(probs)
    idx = confidently_wrong(probs, y_true, k)
    if len(idx) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no mistakes", ha="center")
        return fig
    ncols = max(1, min(ncols, len(idx)))
    nrows = int(np.ceil(len(idx) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols, 1.55 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx):
        p = int(probs[i].argmax())
        ax.imshow(x[i], cmap="gray")
        ax.set_title(f"{int(np.asarray(y_true)[i])}->{p} ({probs[i, p]:.2f})", fontsize=8, color="#b00020")
    fig.suptitle("most confidently wrong: label -> prediction (probability)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_probabilities(image, probs, *, title: str | None = None):
    """One digit next to a bar chart of its 10 class probabilities."""
    import matplotlib.pyplot as plt

    img = as_float_images(image, name="image")[0]
    p = np.asarray(probs, dtype=float).reshape(-1)
    if p.shape != (10,):
        raise ValueError(f"expected 10 class probabilities, got shape {np.shape(probs)}")
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(6, 2.4), gridspec_kw={"width_ratios": [1, 2]})
    a0.imshow(img, cmap="gray", vmin=0, vmax=1)
    a0.axis("off")
    colours = ["#1f77b4"] * 10
    colours[int(p.argmax())] = "#d62728"
    a1.bar(range(10), p, color=colours)
    a1.set_xticks(range(10))
    a1.set_ylim(0, 1)
    a1.set_ylabel("probability")
    a1.set_title(title or f"prediction {int(p.argmax())} ({p.max():.2f})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_shift_curves(results: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]],
                      *, chance: float = 0.1):
    """Accuracy against shift size: one panel per shift kind, one line per model.

    Parameters
    ----------
    results : {model name: {kind: [(level, accuracy), ...]}}
    chance : float
        Drawn as a dashed line.
    """
    import matplotlib.pyplot as plt

    kinds = [k for k in SHIFT_KINDS if any(k in r for r in results.values())]
    if not kinds:
        raise ValueError("results hold no known shift kind")
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.1 * len(kinds), 2.9), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for model, per_kind in results.items():
            if kind in per_kind:
                lv, acc = zip(*per_kind[kind])
                ax.plot(lv, acc, marker="o", label=model)
        ax.axhline(chance, ls="--", color="grey", lw=1)
        ax.set_ylim(0, 1.02)
        ax.set_title(kind)
        ax.set_xlabel(SHIFT_UNITS[kind])
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ = [
    "SHIFT_KINDS", "SHIFT_LEVELS", "SHIFT_UNITS", "as_float_images", "rotate", "translate", "add_noise",
    "invert", "perturb", "softmax",
    "confidently_wrong", "plot_filters", "plot_feature_maps", "plot_confidently_wrong",
    "plot_probabilities", "plot_shift_curves",
]
