"""Plots used across chapters. Each returns the matplotlib Figure it drew."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def curves(series: Mapping[str, Sequence[float]], *, xlabel: str = "step", ylabel: str = "loss",
           title: str | None = None, logy: bool = False, ax=None):
    """Draw named curves (loss or accuracy histories) on one axis."""
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.5))
    styles = ["-", "--", ":", "-."]
    for i, (name, values) in enumerate(series.items()):
        # Different dashes and widths keep curves that coincide visible.
        ax.plot(np.arange(1, len(values) + 1), np.asarray(values, dtype=float), label=name,
                linestyle=styles[i % len(styles)], linewidth=max(3.0 - 0.7 * i, 1.2))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def confusion(y_true, y_pred, *, labels: Sequence[str] | None = None, normalize: str | None = None,
              title: str | None = None, ax=None):
    """Draw a confusion matrix with counts (or rates with ``normalize="true"``)."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, display_labels=labels, normalize=normalize, ax=ax, colorbar=False,
        values_format=".2f" if normalize else "d", cmap="Blues")
    if title:
        ax.set_title(title)
    return fig


def image_grid(images, titles: Sequence[str] | None = None, *, ncols: int = 8, cmap: str = "gray",
               size: float = 1.3, vmin: float | None = None, vmax: float | None = None):
    """Draw images (N, H, W) in a grid with optional titles."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"image_grid wants an (N, H, W) array, got shape {images.shape}")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    return fig
