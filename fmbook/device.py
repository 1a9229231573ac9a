"""Device detection for PyTorch and TensorFlow, and rough energy estimates.

Chapters never require a GPU: they ask :func:`torch_device` for the best device
present (CUDA, then Apple MPS, then the CPU) and print :func:`describe`.
``FMBOOK_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides the choice.

:func:`assumed_power_watts` and :func:`energy_estimate_wh` turn a measured time into
an energy *estimate*: an assumed power draw times the time, not a measurement.
:class:`PowerSampler` *measures*: it reads a power sensor (the GPU's, through
:func:`gpu_power_reader`) from a background thread during a run and integrates it.
"""

from __future__ import annotations

import math
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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


def assumed_power_watts(device: str, cpu_threads: int = 1) -> tuple[float, str]:
    """A power draw to assume for an energy estimate, and the assumption in words.

    Nothing is integrated over time. On a CPU the value is assumed: 10 W per busy
    thread (laptop and server cores draw roughly 5 to 15 W each). On CUDA it is the
    GPU's power draw read once from NVML (``torch.cuda.power_draw``) when that can be
    read, otherwise an assumed 70 W (a T4's board power).

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:0"``... (``str(torch.device)``).
    cpu_threads : int, default 1
        Busy CPU threads (``torch.get_num_threads()``); at least 1 is counted.

    Returns
    -------
    watts : float
    why : str
        Where the number comes from, to print beside the estimate.
    """
    if str(device).startswith("cuda"):
        try:
            import torch

            watts = torch.cuda.power_draw() / 1000.0  # milliwatts, needs NVML
            if watts > 0:
                return float(watts), "GPU power draw read from NVML once (not integrated over time)"
        except Exception:
            pass
        return 70.0, "assumed 70 W (a T4's board power); not measured"
    threads = max(int(cpu_threads), 1)
    return 10.0 * threads, f"assumed 10 W per busy CPU thread x {threads} threads; not measured"


def energy_estimate_wh(seconds: float, watts: float) -> float:
    """Estimated energy in watt-hours: ``seconds * watts / 3600``, a constant draw assumed.

    Raises
    ------
    ValueError
        When either number is negative or not finite.
    """
    if seconds < 0 or watts < 0 or not math.isfinite(seconds) or not math.isfinite(watts):
        raise ValueError(f"seconds and watts must be finite and non-negative, got {seconds!r}, {watts!r}")
    return float(seconds) * float(watts) / 3600.0


def gpu_power_reader(device: str) -> Callable[[], float] | None:
    """A function returning the GPU's power draw in watts, or None where none can be read.

    On CUDA it wraps ``torch.cuda.power_draw`` (NVML, milliwatts) and is returned only if
    a first reading succeeds and is positive. On a CPU or MPS device it returns None:
    those report no power, so callers fall back to a labelled estimate.
    """
    if not str(device).startswith("cuda"):
        return None
    try:
        import torch

        index = torch.device(device).index or 0

        def read() -> float:
            return torch.cuda.power_draw(index) / 1000.0

        return read if read() > 0 else None
    except Exception:
        return None


class PowerSampler:
    """Sample a power reading in a background thread while a block of code runs.

    ``with PowerSampler(read) as power: train()`` calls ``read()`` (watts) every
    ``interval_s`` seconds from the start to the end of the block; ``power.energy_wh``
    integrates the samples over time (trapezoids). With ``read=None`` nothing is
    sampled and :attr:`measured` is False, so the caller can say it fell back to an
    estimate. A reading that raises stops the sampling (the samples so far are kept).

    Parameters
    ----------
    read : callable returning float, or None
        The sensor, e.g. :func:`gpu_power_reader`.
    interval_s : float, default 0.5
        Seconds between readings (positive).
    """

    def __init__(self, read: Callable[[], float] | None, interval_s: float = 0.5) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s!r}")
        self.read, self.interval_s = read, float(interval_s)
        self.times: list[float] = []
        self.watts: list[float] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        try:
            value = float(self.read())  # type: ignore[misc]
        except Exception as exc:  # the sensor went away: keep what we have
            self.error = f"{type(exc).__name__}: {exc}"
            self._stop.set()
            return
        self.times.append(time.perf_counter())
        self.watts.append(value)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PowerSampler:
        if self.read is not None:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if self.error is None:
                self._sample()  # a last reading at the end of the block

    @property
    def measured(self) -> bool:
        """True when at least two readings were taken (an interval to integrate over)."""
        return len(self.watts) >= 2

    @property
    def mean_watts(self) -> float:
        """Mean of the readings (nan without readings)."""
        return float(np.mean(self.watts)) if self.watts else float("nan")

    @property
    def energy_wh(self) -> float:
        """Energy over the sampled span in watt-hours (trapezoid rule); nan if not measured."""
        if not self.measured:
            return float("nan")
        t, w = np.asarray(self.times), np.asarray(self.watts)
        return float(np.sum((w[1:] + w[:-1]) / 2 * np.diff(t)) / 3600.0)
