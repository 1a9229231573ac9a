"""Importing the deep-learning frameworks without their start-up noise.

TensorFlow's C++ runtime writes a few lines straight to the process's standard error while it is
imported ("Could not find cuda drivers on your machine, GPU will not be used", "All log messages
before absl::InitializeLog() is called are written to STDERR", cuDNN/cuFFT/cuBLAS factory
registrations). They are written before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so that setting
cannot hide them, and a notebook shows them as red text although nothing is wrong.
:func:`import_tensorflow` imports TensorFlow with file descriptor 2 pointed at a temporary file,
then drops the known start-up lines and writes every other line back to ``sys.stderr``, so no
unexpected message is lost. If the import fails, everything captured is written back before the
error is raised.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
from types import ModuleType

# Lines TensorFlow writes on every import on a machine without a GPU, or when a CUDA library
# registers itself twice. Matched anywhere in a line.
STARTUP_NOISE: tuple[str, ...] = (
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"cudart_stub\.cc.*Could not find cuda drivers",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"cpu_feature_guard\.cc",
    r"To enable the following instructions: .* in other operations, rebuild TensorFlow",
    r"oneDNN custom operations are on",
    r"TF-TRT Warning: Could not find TensorRT",
    r"cuda_platform\.cc.*failed call to cuInit",
    r"cuda_executor\.cc.*(could not|failed)",
)
_NOISE = re.compile("|".join(f"(?:{p})" for p in STARTUP_NOISE))


def is_startup_noise(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's known start-up messages (:data:`STARTUP_NOISE`)."""
    return bool(_NOISE.search(line))


def _capture_fd2_while(fn):
    """Call ``fn()`` with file descriptor 2 redirected to a temporary file.

    Returns ``(result, captured_text, error)``; ``error`` is the exception ``fn`` raised, or None.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        result, error = None, None
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller after replaying output
            error = exc
        finally:
            try:
                sys.stderr.flush()
            except Exception:  # noqa: BLE001
                pass
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("utf-8", errors="replace")
    return result, text, error


def import_quietly(name: str, *, then=None) -> ModuleType:
    """Import module ``name`` with its known native start-up messages removed from standard error.

    Parameters
    ----------
    name : str
        The module to import, e.g. ``"tensorflow"`` or ``"keras"``.
    then : callable, optional
        Called with the module while standard error is still captured: for start-up work whose
        messages should be filtered too (TensorFlow looks for GPUs on first use, not on import).

    Returns
    -------
    module
        The imported module (the cached one when it was imported before: then nothing is captured).

    Raises
    ------
    ImportError
        When the module cannot be imported; everything it wrote is shown first.
    """
    if name in sys.modules:
        return sys.modules[name]
    def load():
        module = importlib.import_module(name)
        if then is not None:
            then(module)
        return module

    module, text, error = _capture_fd2_while(load)
    kept = text if error is not None else "".join(
        line for line in text.splitlines(keepends=True) if not is_startup_noise(line))
    if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()
    if error is not None:
        raise error
    return module


def import_tensorflow() -> ModuleType:
    """Import TensorFlow without the start-up lines its C++ runtime writes to standard error.

    It also lists the devices while standard error is captured, because TensorFlow looks for a GPU
    (and reports a failed ``cuInit`` on a machine without one) on first use, not on import. Use it in
    place of ``import tensorflow as tf``::

        tf = import_tensorflow()

    Returns
    -------
    module
        The ``tensorflow`` module.
    """
    return import_quietly("tensorflow", then=lambda tf: tf.config.list_physical_devices())


__all__ = ["STARTUP_NOISE", "import_quietly", "import_tensorflow", "is_startup_noise"]
