"""Unit tests of fmbook.parallel: data parallelism with torch.distributed (gloo) on one machine.

Two tests start worker processes (a few seconds each); the others fail before anything starts.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fmbook import parallel  # noqa: E402


def _small_model_and_batch(n=8):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    return model, torch.randn(n, 6), torch.randint(0, 3, (n,))


def test_two_process_gradient_equals_one_process_gradient_on_the_concatenated_batch():
    model, x, y = _small_model_and_batch()
    single = parallel.gradient_step(0, 1, model, x, y)["grads"]  # one process, whole batch
    ranks = parallel.launch(parallel.gradient_step, 2, model, x, y, max_processes=2)
    assert [r["shard_size"] for r in ranks] == [4, 4]
    for name, g in single.items():
        np.testing.assert_allclose(ranks[0]["grads"][name], g, atol=1e-6, rtol=0)
        np.testing.assert_array_equal(ranks[0]["grads"][name], ranks[1]["grads"][name])


def test_a_failing_worker_raises_worker_error_with_its_traceback_and_leaves_no_process():
    import multiprocessing

    model, x, y = _small_model_and_batch(n=7)  # 7 cannot be split into 2 equal shards
    with pytest.raises(parallel.WorkerError, match="equal shards"):
        parallel.launch(parallel.gradient_step, 2, model, x, y, max_processes=2)
    assert multiprocessing.active_children() == []


def test_a_port_in_use_is_a_clear_error_before_anything_starts():
    model, x, y = _small_model_and_batch()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((parallel.HOST, 0))
        s.listen(1)
        taken = s.getsockname()[1]
        assert not parallel.port_is_free(taken)
        with pytest.raises(parallel.PortInUseError, match=f"port {taken} .* already in use.*port=None"):
            parallel.launch(parallel.gradient_step, 1, model, x, y, port=taken)


def test_free_port_returns_a_port_that_is_free():
    assert parallel.port_is_free(parallel.free_port())


def test_more_processes_than_the_machine_allows_is_a_clear_error():
    limit = parallel.available_cpus()
    with pytest.raises(ValueError, match=f"asked for {limit + 1} processes but this machine allows at most {limit}"):
        parallel.check_world_size(limit + 1)
    model, x, y = _small_model_and_batch()
    with pytest.raises(ValueError, match="at most 2"):
        parallel.launch(parallel.gradient_step, 3, model, x, y, max_processes=2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_process_count_must_be_a_positive_whole_number(bad):
    with pytest.raises(ValueError):
        parallel.check_world_size(bad, limit=4)


def test_a_worker_defined_outside_a_module_is_refused():
    def local_worker(rank, world_size):
        return rank

    with pytest.raises(ValueError, match="cannot import it"):
        parallel.launch(local_worker, 1)


def test_gradient_step_on_one_process_is_the_plain_gradient():
    model, x, y = _small_model_and_batch()
    got = parallel.gradient_step(0, 1, model, x, y)["grads"]
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(got[name], p.grad.numpy(), atol=1e-7)


def test_the_loopback_interface_is_named_for_the_platform(monkeypatch):
    monkeypatch.setattr(parallel.sys, "platform", "linux")
    assert parallel.loopback_interface() == "lo"
    monkeypatch.setattr(parallel.sys, "platform", "darwin")
    assert parallel.loopback_interface() == "lo0"
