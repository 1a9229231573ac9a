"""Measuring what a model costs, and reference versions of chapter 10's compression steps.

The chapter writes distillation, quantisation, pruning and LoRA in view; this module
holds the measurements and the tested references they are checked against:

* :func:`state_dict_bytes` - the size of a model on disk (its saved ``state_dict``).
* :func:`latency` - single-thread latency, the median of repeats (the thread count is
  restored afterwards).
* :func:`quantize_symmetric` / :func:`dequantize` - symmetric integer quantisation of a
  tensor (int8 by default, any width from 2 to 8 bits), the reference for the
  notebook's hand version.
* :func:`linear_layer_names` / :func:`dynamic_int8` - post-training dynamic int8
  quantisation of the ``Linear`` layers, with a clear error for a model without any.
* :func:`lora_target_names` - validate LoRA target modules, naming those that exist.
* :func:`sparsity` - the share of zero weights.
* :func:`energy_estimate` - watt-hours from a measured time and a *stated* power
  assumption: an estimate, labelled as such.
"""

from __future__ import annotations

import io
import math
import statistics
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------- size and time


def state_dict_bytes(model) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the model's size on disk.

    Works for float, pruned and dynamically quantised models (whose packed int8
    weights are part of the state dict). For a pruned model saved with its masks
    (before ``prune.remove``), the masks count too.

    Raises
    ------
    TypeError
        When ``model`` has no ``state_dict``.
    """
    torch = _torch()
    if not hasattr(model, "state_dict"):
        raise TypeError(f"state_dict_bytes wants a torch.nn.Module, got {type(model).__name__}")
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def latency(fn: Callable[[], Any], *, repeats: int = 20, warmup: int = 3, threads: int = 1) -> dict[str, float]:
    """Time ``fn()`` with ``threads`` PyTorch threads: median and quartiles of ``repeats`` calls.

    The thread count is set for the measurement and restored afterwards, also when
    ``fn`` raises. One thread makes the number comparable across machines with
    different core counts (and is what a phone or a small server slot gives a model);
    the median ignores the odd slow call caused by other programs.

    Parameters
    ----------
    fn : callable
        Called with no arguments, e.g. ``lambda: model(x)``; run under ``torch.inference_mode()``.
    repeats : int, default 20
        Timed calls (at least 1).
    warmup : int, default 3
        Untimed calls first (caches, lazy initialisation).
    threads : int, default 1

    Returns
    -------
    dict
        ``median``, ``q25``, ``q75`` (seconds) and ``repeats``.
    """
    torch = _torch()
    if int(repeats) < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats!r}")
    if int(threads) < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}")
    before = torch.get_num_threads()
    times = []
    try:
        torch.set_num_threads(int(threads))
        with torch.inference_mode():
            for _ in range(int(warmup)):
                fn()
            for _ in range(int(repeats)):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    q = np.quantile(times, [0.25, 0.75])
    return {"median": float(statistics.median(times)), "q25": float(q[0]), "q75": float(q[1]),
            "repeats": int(repeats)}


# --------------------------------------------------------------------------- quantisation


def quantize_symmetric(w, bits: int = 8, *, scale: float | None = None):
    """Symmetric (zero point 0) per-tensor integer quantisation.

    ``q = clamp(round(w / scale), -2**(bits-1), 2**(bits-1) - 1)`` with, by default,
    ``scale = max|w| / (2**(bits-1) - 1)``: the largest weight maps to 127 at 8 bits
    (7 at 4 bits). Rounding is to the nearest integer, ties to even, as in PyTorch.

    Parameters
    ----------
    w : torch.Tensor or array-like
        Floating-point values.
    bits : int, default 8
        2 to 8.
    scale : float, optional
        Use this scale instead (PyTorch's int8 observer uses ``max|w| / 127.5``).

    Returns
    -------
    q : torch.Tensor (int8)
    scale : float

    Raises
    ------
    ValueError
        For an unsupported width, an empty or non-finite tensor, or a non-positive scale.
    """
    torch = _torch()
    if isinstance(bits, bool) or int(bits) != bits or not 2 <= int(bits) <= 8:
        raise ValueError(f"bits must be an integer from 2 to 8, got {bits!r}")
    w = torch.as_tensor(w).detach().float()
    if w.numel() == 0:
        raise ValueError("cannot quantise an empty tensor")
    if not torch.isfinite(w).all():
        raise ValueError("cannot quantise a tensor with NaN or infinite values")
    qmax = 2 ** (int(bits) - 1) - 1
    if scale is None:
        amax = float(w.abs().max())
        scale = amax / qmax if amax > 0 else 1.0
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be positive and finite, got {scale!r}")
    q = torch.clamp(torch.round(w / scale), -qmax - 1, qmax).to(torch.int8)
    return q, float(scale)


def dequantize(q, scale: float):
    """Back to floats: ``q * scale`` (the zero point of symmetric quantisation is 0)."""
    torch = _torch()
    return torch.as_tensor(q).float() * float(scale)


def linear_layer_names(model) -> list[str]:
    """Names of the ``torch.nn.Linear`` layers of ``model`` (what dynamic quantisation replaces)."""
    torch = _torch()
    return [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]


def dynamic_int8(model):
    """Post-training dynamic int8 quantisation of a copy of ``model`` (CPU).

    ``torch.ao.quantization.quantize_dynamic`` stores each ``Linear`` weight as int8
    with one scale per tensor and quantises the activations on the fly at inference.
    The original model is left untouched. PyTorch's deprecation warning for
    ``torch.ao.quantization`` (its successor is the ``torchao`` package) is silenced here.

    Raises
    ------
    ValueError
        When the model has no ``Linear`` layer: nothing would be quantised.
    """
    import copy

    torch = _torch()
    if not linear_layer_names(model):
        kinds = sorted({type(m).__name__ for m in model.modules() if m is not model}) or ["no layers at all"]
        raise ValueError(
            f"{type(model).__name__} has no torch.nn.Linear layer (it has: {', '.join(kinds)}), so dynamic "
            f"int8 quantisation would change nothing. It quantises Linear (and LSTM) layers; for "
            f"convolutions use static quantisation with calibration data")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions.*")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8)


# --------------------------------------------------------------------------- pruning and LoRA


def sparsity(model, *, only: Iterable[str] | None = None) -> float:
    """Share of exactly-zero values among the weights of ``Linear`` and ``Conv`` layers.

    Parameters
    ----------
    only : iterable of str, optional
        Count only these module names.
    """
    torch = _torch()
    names = set(only) if only is not None else None
    zeros = total = 0
    for name, m in model.named_modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)) and (names is None or name in names):
            w = m.weight.detach()
            zeros += int((w == 0).sum())
            total += w.numel()
    if total == 0:
        raise ValueError("the model has no Linear or Conv layer to measure")
    return zeros / total


def lora_target_names(model, targets: Iterable[str]) -> list[str]:
    """Full names of the ``Linear`` layers that LoRA ``targets`` select, or a clear error.

    A target matches a layer whose name equals it or ends with ``"." + target``
    (peft's rule for a list of names).

    Parameters
    ----------
    model : torch.nn.Module
    targets : iterable of str
        e.g. ``["query", "value"]``.

    Returns
    -------
    list of str
        The matching layer names, in model order.

    Raises
    ------
    ValueError
        When a target matches no ``Linear`` layer; the message lists the layer
        names that do exist (their last part, e.g. ``query, key, value, dense``).
    """
    if isinstance(targets, str):
        targets = [targets]
    targets = list(targets)
    if not targets:
        raise ValueError("give at least one target module, e.g. ['query', 'value']")
    names = linear_layer_names(model)
    if not names:
        raise ValueError(f"{type(model).__name__} has no torch.nn.Linear layer for LoRA to adapt")

    def hits(t):
        return [n for n in names if n == t or n.endswith("." + t)]

    missing = [t for t in targets if not hits(t)]
    if missing:
        short = sorted({n.rsplit(".", 1)[-1] for n in names})
        raise ValueError(f"LoRA target module(s) {', '.join(map(repr, missing))} not found among the "
                         f"model's Linear layers; the Linear layers are named: {', '.join(short)}")
    return [n for n in names if any(n == t or n.endswith("." + t) for t in targets)]


def trainable_share(model) -> tuple[int, int, float]:
    """``(trainable, total, trainable / total)`` parameters of a torch module."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if total == 0:
        raise ValueError("the model has no parameters")
    return trainable, total, trainable / total


# --------------------------------------------------------------------------- energy


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy of a measured time at an assumed power: an estimate, not a measurement."""

    watt_hours: float
    seconds: float
    watts: float
    assumption: str

    def __str__(self) -> str:
        return (f"about {self.watt_hours:.3g} Wh (ESTIMATE: {self.seconds:.1f} s measured x {self.watts:g} W "
                f"assumed; {self.assumption})")


def energy_estimate(seconds: float, *, watts: float | None = None, device: str = "cpu",
                    threads: int = 1) -> EnergyEstimate:
    """Watt-hours of ``seconds`` of work at a stated power draw.

    Parameters
    ----------
    seconds : float
        Measured wall-clock time.
    watts : float, optional
        The power to assume. By default :func:`fmbook.device.assumed_power_watts`:
        10 W per busy CPU thread, or the GPU's reported power.
    device : str, default "cpu"
    threads : int, default 1
        Busy CPU threads (for the default assumption).

    Returns
    -------
    EnergyEstimate
        Its text says it is an estimate and states the assumption.
    """
    from .device import assumed_power_watts, energy_estimate_wh

    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be finite and non-negative, got {seconds!r}")
    if watts is None:
        watts, why = assumed_power_watts(device, threads)
    else:
        if not math.isfinite(watts) or watts <= 0:
            raise ValueError(f"watts must be positive, got {watts!r}")
        why = f"{watts:g} W given by the caller; not measured"
    return EnergyEstimate(energy_estimate_wh(seconds, watts), float(seconds), float(watts), why)


__all__ = ["EnergyEstimate", "dequantize", "dynamic_int8", "energy_estimate", "latency", "linear_layer_names",
           "lora_target_names", "quantize_symmetric", "sparsity", "state_dict_bytes", "trainable_share"]
