"""Seeding: one call makes ``random``, NumPy, PyTorch and TensorFlow repeatable."""

from __future__ import annotations

import importlib.util
import os
import random
import sys

import numpy as np

FRAMEWORKS: tuple[str, ...] = ("random", "numpy", "torch", "tensorflow")


def seed_everything(
    seed: int = 0,
    *,
    frameworks: tuple[str, ...] | None = None,
    deterministic: bool = True,
) -> list[str]:
    """Seed every random number generator a chapter uses.

    Parameters
    ----------
    seed : int, default 0
        The seed.
    frameworks : tuple of str, optional
        Which of ``"random"``, ``"numpy"``, ``"torch"``, ``"tensorflow"`` to seed.
        By default: ``random`` and NumPy always, PyTorch and TensorFlow when they
        are installed. TensorFlow is imported for this (a few seconds) only when
        it is already imported or named here; a chapter that never imports it
        pays nothing.
    deterministic : bool, default True
        Also ask the frameworks for deterministic kernels where they offer them
        (``torch.use_deterministic_algorithms(warn_only=True)``, TensorFlow's
        ``enable_op_determinism``). Some GPU kernels are slower this way.

    Returns
    -------
    list of str
        The frameworks that were seeded, in order.

    Raises
    ------
    ValueError
        If ``seed`` is negative or a framework name is unknown.
    """
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    if frameworks is None:
        chosen = ["random", "numpy"]
        if importlib.util.find_spec("torch") is not None:
            chosen.append("torch")
        if "tensorflow" in sys.modules or "keras" in sys.modules:
            chosen.append("tensorflow")
    else:
        unknown = set(frameworks) - set(FRAMEWORKS)
        if unknown:
            raise ValueError(
                f"unknown framework(s) {sorted(unknown)}: choose from {FRAMEWORKS}"
            )
        chosen = [f for f in FRAMEWORKS if f in frameworks]

    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by worker processes
    seeded: list[str] = []
    for name in chosen:
        if name == "random":
            random.seed(seed)
        elif name == "numpy":
            np.random.seed(seed)
        elif name == "torch":
            import torch

            torch.manual_seed(seed)  # seeds CUDA and MPS generators too
            if deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
                torch.backends.cudnn.benchmark = False
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        elif name == "tensorflow":
            import tensorflow as tf

            tf.keras.utils.set_random_seed(seed)  # python, numpy and tf
            if deterministic:
                try:
                    tf.config.experimental.enable_op_determinism()
                except Exception:  # pragma: no cover - very old TF
                    pass
        seeded.append(name)
    return seeded
