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


def test_describe_names_the_device_without_importing_tensorflow():
    info = describe(include_tensorflow=False)
    assert info.torch_device in {"cpu", "cuda", "mps"}
    assert info.tensorflow is None
    assert "torch" in str(info)
