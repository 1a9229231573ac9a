import subprocess
import sys

import pytest
import torch

from fmbook.device import describe, torch_device


def test_cpu_is_chosen_when_no_accelerator_is_present(monkeypatch):
    monkeypatch.delenv("FMBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("fmbook.device._mps_available", lambda: False)
    assert torch_device().type == "cpu"


def test_cuda_is_preferred_when_present(monkeypatch):
    monkeypatch.delenv("FMBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_device().type == "cuda"


def test_mps_is_chosen_on_apple_silicon_without_cuda(monkeypatch):
    monkeypatch.delenv("FMBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("fmbook.device._mps_available", lambda: True)
    assert torch_device().type == "mps"


def test_environment_override_selects_the_cpu(monkeypatch):
    monkeypatch.setenv("FMBOOK_DEVICE", "cpu")
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
