"""Run profiles: how much data and compute a chapter uses.

One notebook serves three profiles, chosen by the ``FMBOOK_PROFILE`` environment
variable:

``smoke``
    Tests and CI: tiny data, a few seconds of training. Results only have to be
    clearly better than chance.
``fast``
    A laptop CPU: real data subsets, minutes per chapter.
``full``
    A GPU: full data sets and the reference accuracy.

Left unset, the profile is ``full`` when a CUDA GPU is visible to PyTorch and
``fast`` otherwise. The only global state in fmbook is this choice, and it is read
from the environment each time, never cached.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

PROFILES: tuple[str, ...] = ("smoke", "fast", "full")
"""The known profiles, from cheapest to most expensive."""

ENV_VAR = "FMBOOK_PROFILE"


class UnknownProfileError(ValueError):
    """Raised for a profile name that is not one of :data:`PROFILES`."""


def validate_profile(name: str) -> str:
    """Return ``name`` normalised to lower case, or raise :class:`UnknownProfileError`."""
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise UnknownProfileError(
            f"unknown profile {name!r}: choose one of {', '.join(PROFILES)} "
            f"(for example `export {ENV_VAR}=fast`)"
        )
    return key


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is part of the lock
        return False
    return bool(torch.cuda.is_available())


def get_profile(profile: str | None = None) -> str:
    """Return the active profile name.

    Parameters
    ----------
    profile : str, optional
        An explicit profile. When ``None``, read ``FMBOOK_PROFILE``; when that is
        unset or empty, ``"full"`` on a CUDA GPU and ``"fast"`` elsewhere.

    Returns
    -------
    str
        One of :data:`PROFILES`.

    Raises
    ------
    UnknownProfileError
        If the explicit or environment profile is not a known one.
    """
    if profile is None:
        profile = os.environ.get(ENV_VAR, "").strip()
        if not profile:
            return "full" if _cuda_available() else "fast"
    return validate_profile(profile)


class Settings(Mapping):
    """Read-only settings of one chapter in one profile.

    Values are reachable both as ``settings["epochs"]`` and ``settings.epochs``.
    """

    def __init__(self, chapter: str, profile: str, values: Mapping[str, Any]):
        self.chapter = chapter
        self.profile = profile
        self._values = MappingProxyType(dict(values))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"chapter {self.chapter!r} has no setting {key!r}; "
                f"it has: {', '.join(self._values)}"
            ) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Settings({self.chapter!r}, profile={self.profile!r}: {items})"


# Per chapter, per profile: subset sizes, epochs and the like. ``None`` as a size
# means "all of it". Each chapter reads its own entry through chapter_settings().
CHAPTER_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "00_start_here": {
        "smoke": {},
        "fast": {},
        "full": {},
    },
    "01_logistic_regression": {
        "smoke": {"steps": 300, "learning_rate": 0.5},
        "fast": {"steps": 2000, "learning_rate": 0.5},
        "full": {"steps": 5000, "learning_rate": 0.5},
    },
    "02_cnn_mnist": {
        # n_train: images drawn from the 60,000 (10% of them held out for validation);
        # epochs: every model of the chapter; n_shift: test digits per shift level.
        "smoke": {"n_train": 2400, "n_test": 1000, "epochs": 2, "batch_size": 64,
                  "n_shift": 200, "torch_epochs": 2},
        "fast": {"n_train": None, "n_test": None, "epochs": 2, "batch_size": 128,
                 "n_shift": 1000, "torch_epochs": 2},
        "full": {"n_train": None, "n_test": None, "epochs": 8, "batch_size": 128,
                 "n_shift": None, "torch_epochs": 8},
    },
    "03_lstm_reviews": {
        # n_train/n_test: stratified subsets (None: all); max_tokens/max_len: caps on the
        # vocabulary and sequence length that the notebook picks from the data.
        "smoke": {"n_train": 3000, "n_test": 1000, "epochs": 3, "batch_size": 64, "max_tokens": 5000,
                  "max_len": 200, "embed_dim": 32, "units": 32, "patience": 1},
        "fast": {"n_train": None, "n_test": None, "epochs": 6, "batch_size": 64, "max_tokens": 20000,
                 "max_len": 200, "embed_dim": 64, "units": 64, "patience": 2},
        "full": {"n_train": None, "n_test": None, "epochs": 10, "batch_size": 64, "max_tokens": 20000,
                 "max_len": 400, "embed_dim": 128, "units": 64, "patience": 2},
    },
    "04_bert_finetuning": {
        # n_*: sentences (None = all); max_length_cap bounds the length the histogram picks;
        # curve_*: the data-efficiency curve (training sizes, seeds, minimum optimiser steps,
        # test sentences per point); trainer_n: sentences for the short Trainer demo.
        "smoke": {"n_train": 256, "n_val": 48, "n_test": 160, "epochs": 2, "batch_size": 16,
                  "lr": 1e-4, "warmup_frac": 0.1, "max_length_cap": 64,
                  "curve_sizes": [16, 32], "curve_seeds": 3, "curve_min_steps": 3, "curve_test": 32,
                  "trainer_n": 32, "n_bootstrap": 500},
        "fast": {"n_train": 2400, "n_val": 150, "n_test": 400, "epochs": 2, "batch_size": 32,
                 "lr": 8e-5, "warmup_frac": 0.1, "max_length_cap": 64,
                 "curve_sizes": [32, 128], "curve_seeds": 3, "curve_min_steps": 8, "curve_test": 150,
                 "trainer_n": 400, "n_bootstrap": 2000},
        "full": {"n_train": None, "n_val": 1000, "n_test": None, "epochs": 2, "batch_size": 32,
                 "lr": 2e-5, "warmup_frac": 0.1, "max_length_cap": 512,
                 "curve_sizes": [32, 128, 512, 2048], "curve_seeds": 3, "curve_min_steps": 50,
                 "curve_test": 2000, "trainer_n": 4000, "n_bootstrap": 5000},
    },
    "05_adversarial": {
        # eps: the attack budget; epochs/lr: standard model; adv_*: fast FGSM training (with and
        # without random start; rs_alpha: its step as a multiple of eps); pgd_train_*: Madry PGD
        # training; ramp_fraction: eps grows from 0 over this fraction of each adversarial training;
        # curve_steps: PGD for the eps sweep and for the watch on n_val digits, done
        # watch_per_epoch times an epoch; eval_steps x eval_restarts with step alpha_eval: the
        # strong final attack. fast: measured on 2 CPU cores, FGSM+RS 3 epochs of 60,000 digits
        # take about 3 min and give about 0.7 under strong PGD (10,000 digits x 5 epochs gave 0.32).
        # full, measured on CPU with fmbook.robust.adversarial_training (1,000 test digits, PGD-100
        # x 3 restarts, step 0.01): PGD-10 training for 4 epochs gave 0.910 (clean 0.985), FGSM+RS
        # for 15 epochs 0.796 (clean 0.992); 8 PGD epochs are meant to keep the chapter
        # under 20 min on a T4 (an estimate: no GPU was available to time it).
        "smoke": {"n_train": 2000, "n_test": 200, "n_val": 100, "batch_size": 64, "eps": 0.2,
                  "epochs": 2, "lr": 3e-3, "adv_epochs": 2, "adv_lr": 4e-3, "ramp_fraction": 0.25, "rs_alpha": 1.25,
                  "pgd_train_epochs": 1, "pgd_train_steps": 3, "curve_steps": 10, "watch_per_epoch": 1,
                  "eval_steps": 15, "eval_restarts": 2, "alpha_eval": 0.03},
        "fast": {"n_train": None, "n_test": 500, "n_val": 150, "batch_size": 128, "eps": 0.3,
                 "epochs": 2, "lr": 3e-3, "adv_epochs": 3, "adv_lr": 4e-3, "ramp_fraction": 1 / 3, "rs_alpha": 1.25,
                 "pgd_train_epochs": 1, "pgd_train_steps": 5, "curve_steps": 10, "watch_per_epoch": 3,
                 "eval_steps": 30, "eval_restarts": 2, "alpha_eval": 0.02},
        "full": {"n_train": None, "n_test": None, "n_val": 1000, "batch_size": 128, "eps": 0.3,
                 "epochs": 8, "lr": 3e-3, "adv_epochs": 15, "adv_lr": 5e-3, "ramp_fraction": 0.2, "rs_alpha": 1.25,
                 "pgd_train_epochs": 8, "pgd_train_steps": 10, "curve_steps": 20, "watch_per_epoch": 1,
                 "eval_steps": 100, "eval_restarts": 3, "alpha_eval": 0.01},
    },
    "06_fairness": {
        # n_train: rows of adult.data used for training (None = all 32,561); the test set is
        # always all of adult.test. gb_max_iter: boosting rounds of the gradient-boosted model.
        "smoke": {"n_train": 8000, "n_bootstrap": 50, "gb_max_iter": 60},
        "fast": {"n_train": None, "n_bootstrap": 200, "gb_max_iter": 200},
        "full": {"n_train": None, "n_bootstrap": 1000, "gb_max_iter": 200},
    },
    "07_explainability": {
        "smoke": {"adult_train": 4000, "n_trees": 60, "n_background": 50, "n_explain": 200,
                  "lime_samples": 500, "lime_seeds": 5, "lime_people": 3,
                  "n_reviews": 4, "shap_text_evals": 200,
                  "cnn_train": 2000, "cnn_epochs": 1, "cnn_batch": 32, "n_digits": 8, "ig_steps": 16},
        "fast": {"adult_train": None, "n_trees": 150, "n_background": 100, "n_explain": 1000,
                 "lime_samples": 2000, "lime_seeds": 5, "lime_people": 10,
                 "n_reviews": 12, "shap_text_evals": 300,
                 "cnn_train": 12000, "cnn_epochs": 2, "cnn_batch": 64, "n_digits": 32, "ig_steps": 32},
        "full": {"adult_train": None, "n_trees": 300, "n_background": 200, "n_explain": 5000,
                 "lime_samples": 5000, "lime_seeds": 5, "lime_people": 30,
                 "n_reviews": 50, "shap_text_evals": 500,
                 "cnn_train": None, "cnn_epochs": 4, "cnn_batch": 128, "n_digits": 100, "ig_steps": 64},
    },
}


def chapter_settings(chapter: str, profile: str | None = None) -> Settings:
    """Return the settings of ``chapter`` in the active (or given) profile.

    Parameters
    ----------
    chapter : str
        The chapter's notebook stem, for example ``"01_logistic_regression"``.
    profile : str, optional
        Overrides the active profile (see :func:`get_profile`).

    Returns
    -------
    Settings
        A read-only mapping with attribute access, plus ``.chapter`` and ``.profile``.

    Raises
    ------
    KeyError
        If the chapter is unknown.
    UnknownProfileError
        If the profile is unknown.

    Examples
    --------
    >>> s = chapter_settings("01_logistic_regression", "smoke")
    >>> s.profile, s.steps
    ('smoke', 300)
    """
    name = get_profile(profile)
    if chapter not in CHAPTER_SETTINGS:
        raise KeyError(
            f"unknown chapter {chapter!r}: known chapters are {', '.join(CHAPTER_SETTINGS)}"
        )
    return Settings(chapter, name, CHAPTER_SETTINGS[chapter][name])
