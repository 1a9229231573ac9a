"""Unit tests of fmbook.efficiency: sizes, latency, int8 quantisation, LoRA targets, energy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fmbook import efficiency  # noqa: E402


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def test_state_dict_bytes_grows_with_the_parameters():
    small, big = torch.nn.Linear(10, 10), torch.nn.Linear(100, 100)
    assert efficiency.state_dict_bytes(big) - efficiency.state_dict_bytes(small) >= 4 * (100 * 100 - 10 * 10)


def test_state_dict_bytes_refuses_a_non_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        efficiency.state_dict_bytes([1, 2, 3])


def test_latency_returns_the_median_and_restores_the_thread_count():
    before = torch.get_num_threads()
    seen = []
    out = efficiency.latency(lambda: seen.append(torch.get_num_threads()), repeats=5, warmup=1)
    assert seen == [1] * 6
    assert torch.get_num_threads() == before
    assert out["repeats"] == 5 and out["q25"] <= out["median"] <= out["q75"]


def test_latency_restores_the_thread_count_when_the_function_raises():
    before = torch.get_num_threads()

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        efficiency.latency(boom)
    assert torch.get_num_threads() == before


def test_int8_quantisation_maps_the_largest_weight_to_127_and_rounds_to_nearest():
    w = torch.tensor([[-1.0, 0.5, 0.25], [0.0, 0.1, -0.3]])
    q, scale = efficiency.quantize_symmetric(w)
    assert scale == pytest.approx(1.0 / 127)
    assert q.dtype == torch.int8
    assert q.tolist() == [[-127, 64, 32], [0, 13, -38]]
    assert (efficiency.dequantize(q, scale) - w).abs().max() <= scale / 2 + 1e-7


def test_int8_quantisation_matches_torch_quantize_per_tensor():
    torch.manual_seed(1)
    w = torch.randn(64, 48)
    q, scale = efficiency.quantize_symmetric(w)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        ref = torch.quantize_per_tensor(w, scale, 0, torch.qint8)
    assert torch.equal(q, ref.int_repr())
    assert torch.allclose(efficiency.dequantize(q, scale), ref.dequantize())


def test_the_rounding_error_grows_as_bits_shrink():
    torch.manual_seed(2)
    w = torch.randn(256, 256)
    errors = [float((efficiency.dequantize(*efficiency.quantize_symmetric(w, bits)) - w).abs().mean())
              for bits in (8, 6, 4, 2)]
    assert errors == sorted(errors)
    q4, _ = efficiency.quantize_symmetric(w, 4)
    assert q4.min() >= -8 and q4.max() <= 7


@pytest.mark.parametrize("bits", [1, 9, 4.5])
def test_an_unsupported_bit_width_is_a_clear_error(bits):
    with pytest.raises(ValueError, match="bits must be an integer from 2 to 8"):
        efficiency.quantize_symmetric(torch.ones(3), bits)


def test_quantising_an_empty_or_non_finite_tensor_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        efficiency.quantize_symmetric(torch.zeros(0))
    with pytest.raises(ValueError, match="NaN"):
        efficiency.quantize_symmetric(torch.tensor([1.0, float("nan")]))


def test_dynamic_int8_replaces_linear_layers_and_keeps_the_outputs_close():
    model = _mlp()
    x = torch.randn(8, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the torch.ao warning is silenced inside
        q = efficiency.dynamic_int8(model)
    assert isinstance(model[0], torch.nn.Linear)  # the original is untouched
    assert type(q[0]).__module__.startswith("torch.ao.nn.quantized.dynamic")
    assert (q(x) - model(x)).abs().max() < 0.05
    assert efficiency.state_dict_bytes(q) < efficiency.state_dict_bytes(model)


def test_dynamic_int8_of_a_model_without_linear_layers_is_a_clear_error():
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
    with pytest.raises(ValueError, match=r"no torch.nn.Linear layer \(it has: Conv2d, ReLU\)"):
        efficiency.dynamic_int8(conv)


def test_sparsity_counts_zero_weights():
    model = _mlp()
    with torch.no_grad():
        model[0].weight[:8] = 0  # 8 of 32 rows of the first layer
    assert efficiency.sparsity(model, only=["0"]) == pytest.approx(0.25)
    assert 0 < efficiency.sparsity(model) < 0.25


def test_lora_targets_that_exist_are_returned_in_model_order():
    model = torch.nn.Module()
    model.attn = torch.nn.Module()
    model.attn.query, model.attn.key, model.attn.value = (torch.nn.Linear(4, 4) for _ in range(3))
    assert efficiency.lora_target_names(model, ["value", "query"]) == ["attn.query", "attn.value"]


def test_a_lora_target_that_does_not_exist_names_the_layers_that_do():
    model = _mlp()
    with pytest.raises(ValueError, match=r"'q_proj' not found .* named: 0, 2"):
        efficiency.lora_target_names(model, ["q_proj"])


def test_trainable_share_counts_only_parameters_that_require_grad():
    model = _mlp()
    model[0].requires_grad_(False)
    trainable, total, share = efficiency.trainable_share(model)
    assert (trainable, total) == (32 * 4 + 4, 16 * 32 + 32 + 32 * 4 + 4)
    assert share == pytest.approx(trainable / total)


def test_energy_estimate_states_its_assumption_and_is_labelled_an_estimate():
    e = efficiency.energy_estimate(3600, watts=20)
    assert e.watt_hours == pytest.approx(20.0)
    assert "ESTIMATE" in str(e) and "assumed" in str(e)
    default = efficiency.energy_estimate(360, threads=2)
    assert default.watts == 20 and "assumed" in default.assumption


def test_energy_estimate_rejects_negative_time_or_power():
    with pytest.raises(ValueError):
        efficiency.energy_estimate(-1)
    with pytest.raises(ValueError):
        efficiency.energy_estimate(1, watts=0)
