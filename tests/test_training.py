"""Unit tests of the reference training loop fmbook.training.fit."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fmbook import robust  # noqa: E402
from fmbook.models import make_mnist_cnn  # noqa: E402
from fmbook.training import fit  # noqa: E402


def _digits(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _model(seed=0):
    torch.manual_seed(seed)
    return make_mnist_cnn()


def test_fit_returns_one_mean_loss_per_epoch_and_leaves_the_model_in_eval_mode():
    x, y = _digits()
    model = _model()
    losses = fit(model, x, y, epochs=3, batch_size=16)
    assert len(losses) == 3 and all(np.isfinite(losses)) and not model.training


def test_fit_is_repeatable_from_its_seed():
    x, y = _digits()
    a, b = _model(), _model()
    fit(a, x, y, batch_size=16, seed=7)
    fit(b, x, y, batch_size=16, seed=7)
    assert torch.equal(_weights(a), _weights(b))


def test_fit_batch_order_changes_with_the_seed():
    x, y = _digits()
    a, b = _model(), _model()
    fit(a, x, y, batch_size=16, seed=7)
    fit(b, x, y, batch_size=16, seed=8)
    assert not torch.equal(_weights(a), _weights(b))


def test_fit_trains_on_what_make_input_returns():
    x, y = _digits(32)
    calls = []

    def blank(model, xb, yb, done, generator):
        calls.append(done)
        return torch.zeros_like(xb)

    a, b = _model(), _model()
    fit(a, x, y, epochs=2, batch_size=16, make_input=blank)
    fit(b, np.zeros_like(x), y, epochs=2, batch_size=16)
    assert calls == [0.5, 1.0, 1.5, 2.0]  # epochs done after each batch
    assert torch.equal(_weights(a), _weights(b))


def test_fit_with_a_one_cycle_schedule_changes_the_weights():
    x, y = _digits(32)
    model = _model()
    before = _weights(model)
    fit(model, x, y, epochs=1, batch_size=16, lr=1e-3, one_cycle=True)
    assert not torch.equal(before, _weights(model))


def test_fit_rejects_mismatched_labels():
    x, y = _digits(8)
    with pytest.raises(ValueError, match="8 images but 7 labels"):
        fit(_model(), x, y[:7])


def test_fit_rejects_a_batch_size_of_zero():
    x, y = _digits(8)
    with pytest.raises(ValueError, match="batch_size"):
        fit(_model(), x, y, batch_size=0)


def test_standard_adversarial_training_is_fit_itself():
    x, y = _digits()
    a, b = _model(), _model()
    robust.adversarial_training(a, x, y, method="standard", epochs=2, batch_size=16, seed=3)
    fit(b, x, y, epochs=2, batch_size=16, seed=3)
    assert torch.equal(_weights(a), _weights(b))
