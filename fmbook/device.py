"""Device detection for PyTorch and TensorFlow.

Chapters never require a GPU: they ask :func:`torch_device` for the best device
present (CUDA, then Apple MPS, then the CPU) and print :func:`describe`.
``FMBOOK_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides the choice.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

from . import config

DEVICE_ENV = config.DEVICE


def torch_device(prefer: str | None = None):
    """Return the best available ``torch.device``.

    Parameters
    ----------
    prefer : str, optional
        A device to use instead of detection (``"cpu"``, ``"cuda"``, ``"mps"``).
        Defaults to ``FMBOOK_DEVICE`` when set.

    Returns
    -------
    torch.device
        CUDA if present, else MPS if present, else CPU.

    Raises
    ------
    ValueError
        If the preferred device is not available on this machine.
    """
    import torch

    prefer = prefer or config.device_override()
    if prefer:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device {prefer!r} was asked for (argument or {DEVICE_ENV}) but no CUDA GPU "
                f"is visible; unset {DEVICE_ENV} to detect the device automatically"
            )
        if dev.type == "mps" and not _mps_available():
            raise ValueError(
                f"device {prefer!r} was asked for but Apple MPS is not available here; "
                f"unset {DEVICE_ENV} to detect the device automatically"
            )
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def tf_devices() -> list[str]:
    """Return TensorFlow's visible devices as ``"CPU:0"``, ``"GPU:0"``, ...

    TensorFlow is only imported when it is not already (a few seconds).
    """
    import tensorflow as tf

    return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_logical_devices()]


@dataclass(frozen=True)
class DeviceInfo:
    """What a chapter runs on."""

    torch_device: str
    accelerator: str
    cpu_threads: int
    tensorflow: str | None
    python: str

    def __str__(self) -> str:
        tf = f" | TensorFlow {self.tensorflow}" if self.tensorflow else ""
        return f"torch {self.torch_device} ({self.accelerator}, {self.cpu_threads} CPU threads){tf}"


def describe(include_tensorflow: bool | None = None) -> DeviceInfo:
    """Describe the compute devices of this machine.

    Parameters
    ----------
    include_tensorflow : bool, optional
        List TensorFlow's devices too. By default only when TensorFlow is
        already imported, so that a PyTorch chapter does not pay for importing it.
    """
    import torch

    dev = torch_device()
    if dev.type == "cuda":
        accel = torch.cuda.get_device_name(dev)
    elif dev.type == "mps":
        accel = "Apple GPU (MPS)"
    else:
        accel = platform.processor() or platform.machine() or "CPU"
    if include_tensorflow is None:
        include_tensorflow = "tensorflow" in sys.modules
    tf = ", ".join(tf_devices()) if include_tensorflow else None
    return DeviceInfo(
        torch_device=str(dev),
        accelerator=accel,
        cpu_threads=torch.get_num_threads(),
        tensorflow=tf,
        python=platform.python_version(),
    )
