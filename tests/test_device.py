"""fmbook.device: which device PyTorch runs on, and a description that does not import TensorFlow."""

import subprocess
import sys

import pytest
import torch

from fmbook.device import DEVICE_ENV, describe, torch_device


@pytest.fixture
def machine(monkeypatch):
    """``machine(cuda=..., mps=...)``: pretend which accelerators this machine has (no override set)."""
    monkeypatch.delenv(DEVICE_ENV, raising=False)

    def pretend(*, cuda: bool, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr("fmbook.device._mps_available", lambda: mps)

    return pretend


@pytest.mark.parametrize("cuda, mps, chosen", [
    (False, False, "cpu"),
    (True, False, "cuda"),
    (True, True, "cuda"),
    (False, True, "mps"),
], ids=["nothing_gives_cpu", "cuda_gives_cuda", "cuda_is_preferred_to_mps", "mps_without_cuda"])
def test_the_best_accelerator_present_is_chosen(machine, cuda, mps, chosen):
    machine(cuda=cuda, mps=mps)
    assert torch_device().type == chosen


def test_environment_override_selects_the_cpu_even_with_a_gpu(machine, monkeypatch):
    machine(cuda=True, mps=False)
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert torch_device().type == "cpu"


def test_asking_for_a_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        torch_device("cuda")


def test_describe_names_the_torch_device():
    info = describe(include_tensorflow=False)
    assert info.torch_device in {"cpu", "cuda", "mps"}
    assert "torch" in str(info)


def test_describe_does_not_import_tensorflow():
    # a fresh interpreter: this test process may have imported TensorFlow already
    code = ("import sys, fmbook.device; info = fmbook.device.describe(); "
            "print('tensorflow' in sys.modules, info.tensorflow)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "None"]
